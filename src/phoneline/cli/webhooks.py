"""`phoneline webhooks`: subscriptions and their delivery log."""

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
from phoneline.partners import service as partners

app = typer.Typer(help="Webhook subscriptions and their delivery log.", no_args_is_help=True)


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


@app.command("subscriptions")
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


@app.command("deliveries")
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


@app.command("resend")
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


@app.command("replay")
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
