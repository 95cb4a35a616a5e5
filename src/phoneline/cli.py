"""The `phoneline` operator CLI.

Every command takes `--json` and then prints exactly one JSON document on stdout; errors go to stderr
with a non-zero exit. Commands call the same services as the admin API; the command is the boundary
that commits.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.errors import ApiError
from phoneline.lines import schemas as line_schemas
from phoneline.lines import service as lines
from phoneline.lines.numbers import to_e164
from phoneline.partners import schemas as partner_schemas
from phoneline.partners import service as partners
from phoneline.settings import Settings

T = TypeVar("T")
CLI_ACTOR = "operator:cli"

app = typer.Typer(
    help="phoneline: phone lines for the Linq Partner API v3.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
partners_app = typer.Typer(help="Partner accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Partner API keys.", no_args_is_help=True)
lines_app = typer.Typer(help="Provision, assign, move, flag and inspect lines.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
app.add_typer(keys_app, name="keys")
app.add_typer(lines_app, name="lines")
sim_app = typer.Typer(
    help="Drive the transport by hand: inbound messages, simulator personas.", no_args_is_help=True
)
app.add_typer(sim_app, name="sim")

JsonOption = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


class CommandFailed(Exception):
    """A command-level failure that is not an API error (e.g. the database is unreachable)."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Turn domain errors into one clear sentence on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except ApiError as error:
            _fail(error.message)
        except CommandFailed as error:
            _fail(str(error))
        except OSError as error:
            _fail(f"cannot reach the database: {error}")

    return wrapper


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open a session, run the work, commit once."""
    settings = Settings()

    async def main() -> T:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, BaseModel):
        return doc.model_dump(mode="json")
    if isinstance(doc, list):
        return [_jsonable(item) for item in doc]
    if isinstance(doc, dict):
        return {key: _jsonable(value) for key, value in doc.items()}
    return doc


def output(doc: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    data = _jsonable(doc)
    if as_json:
        typer.echo(json.dumps(data, default=str))
    elif human is not None:
        typer.echo(human(data))
    else:
        typer.echo(_pretty(data))


def _pretty(data: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                parts.append(f"{pad}{key}:\n{_pretty(value, indent + 1)}")
            else:
                parts.append(f"{pad}{key}: {value}")
        return "\n".join(parts)
    if isinstance(data, list):
        return "\n".join(f"{pad}- {_pretty(item, indent + 1).lstrip()}" for item in data) or f"{pad}(none)"
    return f"{pad}{data}"


def _line_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no lines)"
    header = f"{'NUMBER':<16} {'STATUS':<8} {'HEALTH':<9} {'TYPE':<9} {'PARTNER':<36} FORWARDING"
    body = [
        f"{r['phone_number']:<16} {r['status']:<8} {r['health_status']['status']:<9} {r['line_type']:<9} "
        f"{r['partner_id'] or '-':<36} {r['forwarding_number'] or '-'}"
        for r in rows
    ]
    return "\n".join([header, *body])


def _base_url() -> str:
    return Settings().base_url


def redacted_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- server and database -------------------------------------------------------------------------


def getting_started(base_url: str, exe: str = "phoneline") -> list[str]:
    return [
        f'{exe} partners create "Acme"          # prints the partner id and its API key (shown once)',
        f"{exe} lines assign +12025550123 --partner PARTNER_ID",
        f'curl -H "Authorization: Bearer API_KEY" {base_url}/api/partner/v3/phone_numbers',
    ]


@app.command()
@command
def migrate(as_json: bool = JsonOption) -> None:
    """Apply database migrations."""
    from phoneline.db.migrate import current_revision, upgrade

    settings = Settings()
    upgrade(settings)
    doc = {"database": redacted_url(settings.sync_database_url), "revision": current_revision(settings)}
    output(doc, as_json, lambda d: f"database {d['database']} is at revision {d['revision']}")


@app.command()
@command
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default PHONELINE_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default PHONELINE_PORT or 8080)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    log_format: str = typer.Option("json", help="json or console."),
    as_json: bool = JsonOption,
) -> None:
    """Serve the partner API, admin API and dashboard (migrates SQLite first)."""
    import uvicorn

    from phoneline.db.migrate import upgrade

    settings = Settings()
    # The factory re-reads settings in each worker, so pass the CLI's choices through the environment.
    os.environ["PHONELINE_HOST"] = host = host or settings.host
    os.environ["PHONELINE_PORT"] = str(port := port or settings.port)
    os.environ["PHONELINE_LOG_FORMAT"] = log_format
    settings = Settings()
    if settings.is_sqlite:
        upgrade(settings)
    empty = not run_in_session(partners.list_partners)
    exe = "phoneline" if os.path.dirname(sys.argv[0]) in ("", "/usr/local/bin") else sys.argv[0]
    hints = getting_started(settings.base_url, exe) if empty else []
    doc = {
        "url": settings.base_url,
        "database": redacted_url(settings.sync_database_url),
        "getting_started": hints,
    }
    output(
        doc,
        as_json,
        lambda d: (
            f"phoneline serving on {d['url']}"
            + (
                "\nThe database is empty. To get going:\n  " + "\n  ".join(d["getting_started"])
                if hints
                else ""
            )
        ),
    )
    sys.stdout.flush()
    uvicorn.run(
        "phoneline.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )


# --- partners and keys ---------------------------------------------------------------------------


@partners_app.command("create")
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


@partners_app.command("list")
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


@partners_app.command("configure")
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


@partners_app.command("alerts")
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


# --- lines ---------------------------------------------------------------------------------------

ReasonOption = typer.Option(None, "--reason", help="Why; kept in the line history.")


def _line_result(change: Callable[[AsyncSession], Awaitable[Any]], as_json: bool) -> None:
    base_url = _base_url()

    async def work(session: AsyncSession) -> line_schemas.OperatorLine:
        return line_schemas.operator_line(await change(session), base_url)

    output(run_in_session(work), as_json, lambda d: _line_table([d]))


@lines_app.command("assign")
@command
def lines_assign(
    number: str,
    partner: str = typer.Option(..., "--partner", help="Partner id."),
    line_type: str | None = typer.Option(None, "--line-type", help="iMessage (default) or RCS."),
    reason: str | None = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Provision NUMBER if new and assign it to a partner."""
    _line_result(
        lambda s: lines.assign_line(s, number, partner, actor=CLI_ACTOR, line_type=line_type, reason=reason),
        as_json,
    )


@lines_app.command("release")
@command
def lines_release(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Take NUMBER back from its partner."""
    _line_result(lambda s: lines.release_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@lines_app.command("move")
@command
def lines_move(
    number: str,
    partner: str = typer.Option(..., "--partner", help="The new owner's partner id."),
    reason: str | None = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Move NUMBER from its partner to another."""
    _line_result(lambda s: lines.move_line(s, number, partner, actor=CLI_ACTOR, reason=reason), as_json)


@lines_app.command("flag")
@command
def lines_flag(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Flag NUMBER: it stops sending until the flag is cleared."""
    _line_result(lambda s: lines.flag_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@lines_app.command("unflag")
@command
def lines_unflag(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Clear the flag on NUMBER."""
    _line_result(lambda s: lines.unflag_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@lines_app.command("list")
@command
def lines_list(
    partner: str | None = typer.Option(None, "--partner", help="Only this partner's lines."),
    as_json: bool = JsonOption,
) -> None:
    """List lines (all, or one partner's)."""
    base_url = _base_url()

    async def work(session: AsyncSession) -> dict[str, Any]:
        return {
            "lines": [
                line_schemas.operator_line(line, base_url)
                for line in await lines.list_lines(session, partner)
            ]
        }

    output(run_in_session(work), as_json, lambda d: _line_table(d["lines"]))


@lines_app.command("show")
@command
def lines_show(number: str, as_json: bool = JsonOption) -> None:
    """Show one line with today's capacity and pace (`pacing`)."""
    from datetime import UTC, datetime

    from phoneline.reputation.pacing_guard import pacing_views

    settings = Settings()

    async def work(session: AsyncSession) -> line_schemas.OperatorLine:
        line = await lines.require_line(session, number)
        pacing = None
        if line.partner_id is not None:
            views = await pacing_views(session, line.partner_id, [line], settings, datetime.now(UTC))
            pacing = views[line.id]
        return line_schemas.operator_line(line, settings.base_url, pacing)

    def human(d: dict[str, Any]) -> str:
        table = _line_table([d])
        pacing = d.get("pacing")
        if not pacing:
            return table
        new, messages, pace = pacing["new_conversations"], pacing["messages"], pacing["pace"]
        return (
            f"{table}\npacing {pacing['mode']}: new conversations {new['used']}/{new['limit'] or '-'}, "
            f"messages {messages['used']}/{messages['limit']}, "
            f"{pace['sends_last_minute']} sends in the last minute (limit {pace['limit_per_minute'] or '-'})"
        )

    output(run_in_session(work), as_json, human)


@lines_app.command("history")
@command
def lines_history(number: str, as_json: bool = JsonOption) -> None:
    """Every change of owner, status, health and forwarding number on NUMBER."""
    base_url = _base_url()

    async def work(session: AsyncSession) -> dict[str, Any]:
        line, rows = await lines.line_history(session, number)
        return {
            "line": line_schemas.operator_line(line, base_url),
            "history": [line_schemas.history_entry(row) for row in rows],
        }

    def human(d: dict[str, Any]) -> str:
        rows = [
            f"{h['created_at']}  {h['field']:<18} {h['old_value'] or '-'} -> {h['new_value'] or '-'}"
            f"  by {h['actor']}" + (f"  ({h['reason']})" if h["reason"] else "")
            for h in d["history"]
        ]
        return (
            "\n".join([d["line"]["phone_number"], *rows])
            if rows
            else f"{d['line']['phone_number']}: no history"
        )

    output(run_in_session(work), as_json, human)


# --- transport -----------------------------------------------------------------------------------


@sim_app.command("inbound")
@command
def sim_inbound(
    line: str = typer.Option(..., "--line", help="The line (E.164) the message arrives on."),
    sender: str = typer.Option(..., "--from", help="The sender's handle (E.164 or email)."),
    text: str = typer.Option(..., "--text", help="The message text."),
    chat: str | None = typer.Option(None, "--chat", help="A group chat's id (default: the one-to-one chat)."),
    as_json: bool = JsonOption,
) -> None:
    """Hand in an inbound message, as the transport's inbound path does (opt-out rules included)."""
    from phoneline.chats import service as chats
    from phoneline.clock import SystemClock
    from phoneline.transport.base import InboundMessage

    base_url = _base_url()

    async def work(session: AsyncSession) -> Any:
        message = await chats.receive_inbound(
            session, SystemClock(), base_url, InboundMessage.text(line, sender, text, chat_id=chat)
        )
        return {
            "message_id": str(message.id),
            "chat_id": str(message.chat_id),
            "from": message.sender_handle,
            "line": to_e164(line),
            "text": text,
        }

    output(
        run_in_session(work),
        as_json,
        lambda d: f"message {d['message_id']} from {d['from']} in chat {d['chat_id']}",
    )


@sim_app.command("persona")
@command
def sim_persona(handle: str, as_json: bool = JsonOption) -> None:
    """Show how the simulator's recipient HANDLE behaves under PHONELINE_SIMULATOR_SEED."""
    from phoneline.chats.handles import normalize_handle
    from phoneline.transport.simulator import persona_for, plan

    settings = Settings()
    normalized = normalize_handle(handle)
    doc = {
        "handle": normalized,
        "seed": settings.simulator_seed,
        "speed": settings.simulator_speed,
        "persona": persona_for(normalized, settings.simulator_seed).value,
        "first_message": [
            {"after_s": step.after_s / settings.simulator_speed, "action": step.action, "text": step.text}
            for step in plan(normalized, settings.simulator_seed, 0)
        ],
    }
    output(doc, as_json)


# --- webhooks ------------------------------------------------------------------------------------

webhooks_app = typer.Typer(help="Webhook subscriptions and their delivery log.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@app.command()
@command
def worker(
    concurrency: int | None = typer.Option(None, min=1, help="Deliveries in flight at once."),
    as_json: bool = JsonOption,
) -> None:
    """Run the webhook dispatcher alone (until SIGTERM/SIGINT); any number may run on PostgreSQL."""
    from phoneline.db.migrate import upgrade
    from phoneline.logging import configure_logging
    from phoneline.webhooks.dispatcher import default_worker_id, run_worker

    settings = Settings()
    # Logs go to stderr (JSON by default): stdout carries only the one --json document.
    configure_logging(settings.log_format, settings.log_level)
    if concurrency is not None:
        settings = settings.model_copy(update={"webhook_concurrency": concurrency})
    if settings.is_sqlite:
        upgrade(settings)
    worker_id = default_worker_id()
    doc = {
        "worker": worker_id,
        "database": redacted_url(settings.sync_database_url),
        "concurrency": settings.webhook_concurrency,
    }
    output(doc, as_json, lambda d: f"phoneline worker {d['worker']} delivering from {d['database']}")
    sys.stdout.flush()
    asyncio.run(run_worker(settings, worker_id))


def _delivery_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no deliveries)"
    header = f"{'CREATED':<27} {'EVENT':<36} {'TYPE':<32} {'STATE':<9} {'TRIES':>5}  LAST"
    body = []
    for r in rows:
        last = r["last_error"] or (f"HTTP {r['last_status_code']}" if r["last_status_code"] else "-")
        body.append(
            f"{r['created_at']:<27} {r['event_id']:<36} {r['event_type']:<32} {r['state']:<9} "
            f"{r['attempts']:>5}  {last}"
        )
    return "\n".join([header, *body])


@webhooks_app.command("subscriptions")
@command
def webhooks_subscriptions(
    partner: str | None = typer.Option(None, "--partner", help="Only this partner's subscriptions."),
    as_json: bool = JsonOption,
) -> None:
    """List webhook subscriptions (all partners, or one)."""
    from phoneline.webhooks import repository as webhook_repository
    from phoneline.webhooks import schemas as webhook_schemas

    async def work(session: AsyncSession) -> webhook_schemas.OperatorSubscriptionList:
        owner = (await partners.require_partner(session, partner)).id if partner else None
        found = await webhook_repository.list_all(session, owner)
        return webhook_schemas.OperatorSubscriptionList(
            subscriptions=[webhook_schemas.operator_subscription(s) for s in found]
        )

    def human(d: dict[str, Any]) -> str:
        rows = [
            f"{s['id']}  {'active  ' if s['is_active'] else 'inactive'}  {s['target_url']}"
            for s in d["subscriptions"]
        ]
        return "\n".join(rows) or "(no subscriptions)"

    output(run_in_session(work), as_json, human)


@webhooks_app.command("deliveries")
@command
def webhooks_deliveries(
    subscription: str = typer.Option(..., "--subscription", help="Subscription id."),
    state: str | None = typer.Option(None, help="pending, succeeded, failed or cancelled."),
    limit: int = typer.Option(50, min=1, max=1000, help="Newest first, at most this many."),
    as_json: bool = JsonOption,
) -> None:
    """A subscription's deliveries, newest first, with every attempt."""
    from phoneline.webhooks import operations as webhook_operations

    output(
        run_in_session(lambda s: webhook_operations.delivery_log(s, subscription, limit=limit, state=state)),
        as_json,
        lambda d: _delivery_table(d["deliveries"]),
    )


@webhooks_app.command("resend")
@command
def webhooks_resend(
    event_id: str,
    subscription: str | None = typer.Option(None, "--subscription", help="Only to this subscription."),
    as_json: bool = JsonOption,
) -> None:
    """Send EVENT_ID again (same webhook-id) to the active subscriptions that got it."""
    from phoneline.webhooks import operations as webhook_operations

    output(
        run_in_session(lambda s: webhook_operations.resend_event(s, event_id, subscription_id=subscription)),
        as_json,
        lambda d: f"queued {len(d['deliveries'])} deliveries of event {event_id}",
    )


@webhooks_app.command("replay")
@command
def webhooks_replay(
    subscription: str = typer.Option(..., "--subscription", help="Subscription id."),
    since: str = typer.Option(..., "--since", help="ISO 8601 time, or an age such as 90m, 6h, 2d."),
    as_json: bool = JsonOption,
) -> None:
    """Queue every event since TIME that the subscription matches but has not received, in order."""
    from phoneline.db.base import utcnow
    from phoneline.webhooks import operations as webhook_operations

    start = webhook_operations.parse_since(since, utcnow())
    output(
        run_in_session(lambda s: webhook_operations.replay(s, subscription, start)),
        as_json,
        lambda d: f"queued {len(d['deliveries'])} deliveries since {start.isoformat()}",
    )


# --- demo ----------------------------------------------------------------------------------------


@app.command()
@command
def demo(
    port: int = typer.Option(8080, help="Port for the demo server."),
    as_json: bool = JsonOption,
) -> None:
    """Start a demo server on a fresh SQLite file and drive it for a minute; nothing leaves the machine."""
    import uvicorn

    from phoneline.app import create_app
    from phoneline.db.migrate import upgrade
    from phoneline.demo.driver import environment_for, reset_database, run_demo

    env = environment_for(port)
    reset_database()
    settings = Settings()
    upgrade(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    lines_said: list[str] = []

    def say(text: str) -> None:
        lines_said.append(text)
        if not as_json:
            typer.echo(text)

    async def main() -> None:
        driver = asyncio.create_task(
            run_demo(
                settings.base_url,
                env["PHONELINE_ADMIN_TOKEN"],
                settings.simulator_seed,
                lambda: server.started,
                say,
            )
        )
        serving = asyncio.create_task(server.serve())
        demo_run = await driver
        if as_json:
            typer.echo(
                json.dumps(
                    {"url": settings.base_url, "dashboard": f"{settings.base_url}/dashboard", "api_key": demo_run.api_key,
                     "admin_token": env["PHONELINE_ADMIN_TOKEN"], "sinks": f"{settings.base_url}/demo/sinks"}
                )
            )  # fmt: skip
        sys.stdout.flush()
        await serving

    asyncio.run(main())


# --- reputation ----------------------------------------------------------------------------------

reputation_app = typer.Typer(help="Line health: re-score on demand.", no_args_is_help=True)
app.add_typer(reputation_app, name="reputation")


@reputation_app.command("score")
@command
def reputation_score(
    line: str | None = typer.Option(None, "--line", help="Only this line (default: every assigned line)."),
    as_json: bool = JsonOption,
) -> None:
    """Re-evaluate health now and print each line's status with its drivers and signals."""
    from dataclasses import asdict

    from phoneline.clock import SystemClock
    from phoneline.reputation import engine
    from phoneline.reputation import repository as reputation_repository

    settings = Settings()
    policy = settings.reputation

    async def work(session: AsyncSession) -> dict[str, Any]:
        now = SystemClock().now()
        if line is None:
            line_ids = await reputation_repository.scorable_line_ids(session)
        else:
            line_ids = [(await lines.require_line(session, line)).id]
        scores = await engine.rescore_lines_and_chats(session, line_ids, policy, now)
        return {
            "lines": [
                {
                    "phone_number": score.line.number,
                    "health_status": score.shown,
                    "computed": score.verdict.status,
                    "changed": score.changed,
                    "primary_driver": score.verdict.primary_driver,
                    "drivers": score.line.health_drivers,
                    "signals": asdict(score.signals),
                }
                for score in scores
            ]
        }

    def human(d: dict[str, Any]) -> str:
        rows = []
        for item in d["lines"]:
            rows.append(
                f"{item['phone_number']}  {item['health_status']}"
                + ("  (changed)" if item["changed"] else "")
            )
            rows += [
                f"    {driver['severity']:<9} {driver['key']}: {driver['metric']}"
                for driver in item["drivers"]
            ]
        return "\n".join(rows) or "(no lines)"

    output(run_in_session(work), as_json, human)


if __name__ == "__main__":
    app()
