"""The tenant boundary over time: after a line moves, its history with the previous owner stays with that
owner. The new owner sees none of their chats, messages, opt-outs, audit evidence or cooldown, history
details or daily activity; only the line's own aggregate health carries over (docs/reputation.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from linq import LinqAPIV3, NotFoundError

from tests.chats.conftest import Sending, account  # noqa: F401
from tests.conftest import Cli, LiveServer, PartnerAccount, wait_until
from tests.logins.conftest import log_in
from tests.webhooks.conftest import FAST, App
from tests.webhooks.receiver import Receiver

LINE = "+12025550123"
RECIPIENTS = [f"+1415555{1000 + i:04d}" for i in range(6)]


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}]}


def completed_audit(client: LinqAPIV3) -> Any:
    started = client.phone_numbers.start_reputation_audit(LINE)

    def done() -> Any:
        audit = client.phone_numbers.get_reputation_audit(started.audit_id, phone_number=LINE)
        return audit if audit.status == "complete" else None

    return wait_until(done, what="the audit to complete")


def evidence_chat_ids(audit: Any) -> set[str]:
    evidence = audit.report.evidence
    return {c.chat_id for c in evidence.unhealthy_chats or []} | {
        c.chat_id for c in evidence.opt_out_chats or []
    }


@pytest.fixture
def moved(
    account: Callable[..., Sending],  # noqa: F811
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Cli,
) -> tuple[Sending, Sending, dict[str, str], Any]:
    """Beta's line, with unanswered chats, a STOP and a send after it and an audit, moved to Acme."""
    beta = account(LINE, name="Beta")
    chats = {h: beta.client.chats.create(from_=LINE, to=[h], message=text("Hi!")).chat.id for h in RECIPIENTS}
    for chat_id in chats.values():
        beta.client.chats.messages.send(chat_id, message=text("Following up"))
    cli("sim", "inbound", "--line", LINE, "--from", RECIPIENTS[0], "--text", "STOP")
    beta.client.chats.messages.send(chats[RECIPIENTS[0]], message=text("Bye"), override_optout=True)
    beta_audit = completed_audit(beta.client)
    assert evidence_chat_ids(beta_audit) & set(chats.values()), "Beta's own audit shows its chats"

    acme_account = make_partner("Acme")
    cli("lines", "move", LINE, "--partner", acme_account.id, "--reason", "reassigned")
    acme = Sending(acme_account, linq(acme_account.api_key), [LINE])
    return beta, acme, chats, beta_audit


def test_the_new_owner_audits_at_once_and_sees_none_of_the_previous_owners_conversations(
    moved: tuple[Sending, Sending, dict[str, str], Any], cli: Cli
) -> None:
    _beta, acme, chats, beta_audit = moved
    audit = completed_audit(acme.client)  # Beta's cooldown does not carry over
    assert not evidence_chat_ids(audit) & set(chats.values())
    assert audit.report.evidence.opt_out_chats in (None, [])
    assert all(chat_id not in (audit.report.summary_markdown or "") for chat_id in chats.values())
    # The line's own health is the aggregate, and it does carry (docs/reputation.md).
    assert audit.report.severity == beta_audit.report.severity
    # Beta keeps its audit; Acme cannot read it.
    with pytest.raises(NotFoundError):
        acme.client.phone_numbers.get_reputation_audit(beta_audit.audit_id, phone_number=LINE)


def test_the_new_owner_sees_none_of_the_previous_owners_chats_messages_or_opt_outs(
    moved: tuple[Sending, Sending, dict[str, str], Any], cli: Cli
) -> None:
    beta, acme, chats, _ = moved
    assert list(acme.client.chats.list_chats()) == []
    for chat_id in chats.values():
        with pytest.raises(NotFoundError):
            acme.client.chats.retrieve(chat_id)
        with pytest.raises(NotFoundError):
            list(acme.client.chats.messages.list(chat_id))
    # Beta's STOP is Beta's: Acme's first message to that recipient opens a chat of Acme's own.
    fresh = acme.client.chats.create(from_=LINE, to=[RECIPIENTS[0]], message=text("Hello from Acme")).chat
    assert fresh.id not in chats.values()
    # A reply on the line now reaches Acme's chat; Beta's conversation is left exactly as it was.
    cli("sim", "inbound", "--line", LINE, "--from", RECIPIENTS[0], "--text", "Who is this?")
    assert len(list(acme.client.chats.messages.list(fresh.id))) == 2
    assert len(list(beta.client.chats.messages.list(chats[RECIPIENTS[0]]))) == 4


def test_the_new_owners_line_page_shows_only_its_own_era(
    moved: tuple[Sending, Sending, dict[str, str], Any], live_server: LiveServer
) -> None:
    beta, acme, chats, _ = moved
    acme.client.chats.create(from_=LINE, to=["+14155559999"], message=text("Hello from Acme"))
    (line,) = acme.client.phone_numbers.list().phone_numbers
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as browser:
        log_in(browser, "/dashboard", acme.partner.api_key)
        page = browser.get(f"/dashboard/lines/{line.id}")
    assert page.status_code == 200
    assert beta.partner.id not in page.text and "Beta" not in page.text and "reassigned" in page.text
    assert all(chat_id not in page.text for chat_id in chats.values())
    assert all(handle not in page.text for handle in RECIPIENTS)
    # Today's activity on the line is Beta's 13 sends and Acme's one: the chart counts Acme's alone.
    # Both activity charts (48 hours, 30 days) say so.
    assert page.text.count('data-series="sent">1<') == 2 and "<title>replies: 0</title>" in page.text


def test_the_previous_owners_webhooks_and_delivery_log_stay_theirs(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
) -> None:
    app = start_app(**FAST)
    beta, acme = make_partner("Beta"), make_partner("Acme")
    beta_hook, acme_hook = make_receiver(), make_receiver()
    events = ["phone_number.status_updated", "phone_number.assigned", "phone_number.released"]
    for partner, receiver in ((beta, beta_hook), (acme, acme_hook)):
        app.linq(partner.api_key).webhook_subscriptions.create(
            target_url=receiver.url + "/hook", subscribed_events=events
        )
    cli("lines", "assign", LINE, "--partner", beta.id)
    cli("lines", "flag", LINE, "--reason", "carrier report")
    cli("lines", "move", LINE, "--partner", acme.id)
    cli("lines", "unflag", LINE, "--reason", "cleared")

    acme_got = [r.envelope["event_type"] for r in acme_hook.wait_for_count(2)]
    beta_got = beta_hook.wait_for_count(3)
    assert acme_got == ["phone_number.assigned", "phone_number.status_updated"]
    assert [r.envelope["event_type"] for r in beta_got] == events[1:2] + events[:1] + events[2:]
    beta_ids = [r.headers["webhook-id"] for r in beta_got]

    pages = {}
    for partner in (beta, acme):
        with httpx.Client(base_url=app.url, follow_redirects=True, timeout=10) as browser:
            log_in(browser, "/dashboard", partner.api_key)
            pages[partner.name] = browser.get("/dashboard/webhooks").text
    assert all(webhook_id in pages["Beta"] for webhook_id in beta_ids)
    assert not any(webhook_id in pages["Acme"] for webhook_id in beta_ids)
    assert beta_hook.url not in pages["Acme"]
