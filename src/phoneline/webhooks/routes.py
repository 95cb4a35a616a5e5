"""Partner API for webhook subscriptions and the event catalogue (the Linq v3 shapes)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from phoneline.dependencies import DbSession, RuntimeDep
from phoneline.partners.auth import Partner
from phoneline.webhooks import schemas, subscriptions
from phoneline.webhooks.events import EVENT_TYPES, EVENTS_DOC_URL

router = APIRouter(prefix="/v3", tags=["webhooks"])

# The catalogue never changes while the process runs: render it once.
_EVENT_LIST = (
    schemas.EventTypeList(events=list(EVENT_TYPES), doc_url=EVENTS_DOC_URL).model_dump_json().encode()
)


@router.get("/webhook-events", response_model=schemas.EventTypeList, summary="List webhook event types")
async def list_webhook_events(_partner: Partner) -> Response:
    return Response(_EVENT_LIST, media_type="application/json")


@router.post("/webhook-subscriptions", response_model=schemas.SubscriptionCreated, status_code=201)
async def create_webhook_subscription(
    body: schemas.SubscriptionCreate, partner: Partner, runtime: RuntimeDep, session: DbSession
) -> schemas.SubscriptionCreated:
    subscription, secret = await subscriptions.create_subscription(
        session, runtime.settings, partner.partner_id, body
    )
    return schemas.subscription_created(subscription, secret)


@router.get("/webhook-subscriptions", response_model=schemas.SubscriptionList)
async def list_webhook_subscriptions(partner: Partner, session: DbSession) -> schemas.SubscriptionList:
    found = await subscriptions.list_subscriptions(session, partner.partner_id)
    return schemas.SubscriptionList(subscriptions=[schemas.subscription_out(s) for s in found])


@router.get("/webhook-subscriptions/{subscription_id}", response_model=schemas.Subscription)
async def get_webhook_subscription(
    subscription_id: str, partner: Partner, session: DbSession
) -> schemas.Subscription:
    subscription = await subscriptions.require_subscription(session, partner.partner_id, subscription_id)
    return schemas.subscription_out(subscription)


@router.put("/webhook-subscriptions/{subscription_id}", response_model=schemas.Subscription)
async def update_webhook_subscription(
    subscription_id: str,
    body: schemas.SubscriptionUpdate,
    partner: Partner,
    runtime: RuntimeDep,
    session: DbSession,
) -> schemas.Subscription:
    subscription = await subscriptions.update_subscription(
        session, runtime.settings, partner.partner_id, subscription_id, body
    )
    return schemas.subscription_out(subscription)


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=204, response_class=Response)
async def delete_webhook_subscription(subscription_id: str, partner: Partner, session: DbSession) -> Response:
    await subscriptions.delete_subscription(session, partner.partner_id, subscription_id)
    return Response(status_code=204)
