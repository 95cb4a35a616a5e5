"""`phoneline partners` and `phoneline keys`: partner accounts, their alert settings and API keys."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.cli.common import (
    JsonOption,
    command,
    output,
    run_in_session,
)
from phoneline.partners import schemas as partner_schemas
from phoneline.partners import service as partners
from phoneline.settings import Settings

app = typer.Typer(help="Partner accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Partner API keys.", no_args_is_help=True)


@app.command("create")
@command
def partners_create(name: str, as_json: bool = JsonOption) -> None:
    """Create a partner and its first API key (the key is shown only this once)."""

    async def work(session: AsyncSession) -> partner_schemas.PartnerCreated:
        partner, issued = await partners.create_partner(session, name)
        return partner_schemas.partner_created(partner, issued)

    output(
        run_in_session(work),
        as_json,
        lambda d: f"partner {d['name']}\n  id:      {d['id']}\n  api key: {d['api_key']}  (shown only once)",
    )


@app.command("list")
@command
def partners_list(as_json: bool = JsonOption) -> None:
    """List partners."""

    async def work(session: AsyncSession) -> partner_schemas.PartnerList:
        return partner_schemas.PartnerList(
            partners=[partner_schemas.partner_out(p) for p in await partners.list_partners(session)]
        )

    output(
        run_in_session(work),
        as_json,
        lambda d: "\n".join(f"{p['id']}  {p['name']}" for p in d["partners"]) or "(no partners)",
    )


@app.command("configure")
@command
def partners_configure(
    partner_id: str = typer.Argument(..., metavar="ID"),
    slack_webhook_url: str | None = typer.Option(
        None, "--slack-webhook-url", help='The partner\'s Slack incoming webhook; "" removes it.'
    ),
    slack_on: str | None = typer.Option(None, "--slack-on", help="status, status,health or off."),
    pagerduty_routing_key: str | None = typer.Option(
        None, "--pagerduty-routing-key", help='PagerDuty Events API v2 routing key; "" removes it.'
    ),
    production_lines: str | None = typer.Option(
        None, "--production-lines", help='Comma-separated numbers whose flags page on-call ("" for none).'
    ),
    pacing: str | None = typer.Option(
        None, "--pacing", help="advise (default: only a flag blocks sends) or enforce (docs/reputation.md)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """API Tooling: Slack on line changes, PagerDuty on production-line flags, and the pacing policy."""
    from phoneline.notify import tooling
    from phoneline.notify.schemas import AlertSettingsUpdate

    given: dict[str, Any] = {}
    if slack_webhook_url is not None:
        given["slack_webhook_url"] = slack_webhook_url
    if slack_on is not None:
        given["slack_on"] = slack_on
    if pagerduty_routing_key is not None:
        given["pagerduty_routing_key"] = pagerduty_routing_key
    if production_lines is not None:
        given["production_lines"] = [n.strip() for n in production_lines.split(",") if n.strip()]
    if pacing is not None:
        given["pacing"] = pacing
    settings = Settings()
    change = AlertSettingsUpdate(**given)
    output(run_in_session(lambda s: tooling.configure(s, settings, partner_id, change)), as_json)


@app.command("alerts")
@command
def partners_alerts(
    partner_id: str = typer.Argument(..., metavar="ID"),
    limit: int = typer.Option(50, min=1, max=1000, help="Newest first, at most this many."),
    as_json: bool = JsonOption,
) -> None:
    """What was sent (or is being sent) to a partner's Slack and PagerDuty, newest first."""
    from phoneline.notify import tooling

    def human(d: dict[str, Any]) -> str:
        rows = [
            f"{a['created_at']}  {a['channel']:<9} {a['state']:<8} {a['attempts']:>2}  {a['summary']}"
            + (f"  ({a['last_error']})" if a["last_error"] else "")
            for a in d["alerts"]
        ]
        return "\n".join(rows) or "(no alerts)"

    output(run_in_session(lambda s: tooling.alert_log(s, partner_id, limit=limit)), as_json, human)


@keys_app.command("create")
@command
def keys_create(
    partner: str = typer.Option(..., "--partner", help="Partner id."), as_json: bool = JsonOption
) -> None:
    """Issue another API key for a partner (shown only this once)."""

    async def work(session: AsyncSession) -> partner_schemas.IssuedKeyOut:
        return partner_schemas.issued_key_out(await partners.create_key(session, partner))

    output(run_in_session(work), as_json, lambda d: f"api key: {d['api_key']}  (shown only once)")


@keys_app.command("list")
@command
def keys_list(
    partner: str = typer.Option(..., "--partner", help="Partner id."), as_json: bool = JsonOption
) -> None:
    """List a partner's API keys (prefixes only)."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        return {"keys": [partner_schemas.key_out(k) for k in await partners.list_keys(session, partner)]}

    output(run_in_session(work), as_json)


@keys_app.command("revoke")
@command
def keys_revoke(
    key: str = typer.Argument(..., metavar="KEY_PREFIX_OR_ID"), as_json: bool = JsonOption
) -> None:
    """Revoke an API key by its prefix or id."""

    async def work(session: AsyncSession) -> partner_schemas.KeyOut:
        return partner_schemas.key_out(await partners.revoke_key(session, key))

    output(run_in_session(work), as_json, lambda d: f"revoked key {d['prefix']} ({d['id']})")
