"""GET /v3/available_number and contact cards, through the official client: smart number assignment
(healthiest, least recently used, sticky, exclusions, type) and the signed vCard link."""

from __future__ import annotations

import asyncio

import httpx
import linq
import pytest
import vobject

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus
from tests.chats.conftest import text

A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"
RECIPIENT = "+12025550199"


def set_health(settings, number: str, health: HealthStatus) -> None:
    async def work() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            await lines.set_health(session, await lines.require_line(session, number), health, actor="test")
            await session.commit()
        await engine.dispose()

    asyncio.run(work())


def test_successive_suggestions_cycle_through_equal_lines_healthiest_first(account, settings):
    acme = account(A, B, C)
    set_health(settings, A, HealthStatus.AT_RISK)
    picks = [acme.client.available_number.retrieve().phone_number for _ in range(4)]
    # B and C are HEALTHY and take turns (a suggestion counts as use); the AT_RISK A never comes up.
    assert picks == [B, C, B, C]


def test_a_send_counts_as_use(account):
    acme = account(A, B)
    acme.client.chats.create(from_=A, to=["+12025550111"], message=text("Hi"))
    assert acme.client.available_number.retrieve().phone_number == B


def test_sticky_to_the_line_of_an_existing_chat_with_the_recipients(account):
    acme = account(A, B)
    acme.client.chats.create(from_=B, to=[RECIPIENT], message=text("Hi"))
    assert [acme.client.available_number.retrieve(to=[RECIPIENT]).phone_number for _ in range(3)] == [B, B, B]
    # Exclusions apply to the sticky choice too.
    assert acme.client.available_number.retrieve(to=[RECIPIENT], exclude_from=[B]).phone_number == A


def test_same_rule_as_post_messages(account):
    acme = account(A, B)
    suggested = acme.client.available_number.retrieve().phone_number
    other = B if suggested == A else A
    # The suggestion was use of `suggested`: the next auto-picked new chat goes to the other line.
    assert acme.client.messages.create(to=[RECIPIENT], message=text("Hello")).from_ == other


def test_type_filters_and_is_case_insensitive(account, cli):
    acme = account(A)
    cli("lines", "assign", D, "--partner", acme.partner.id, "--line-type", "RCS")
    assert acme.client.available_number.retrieve(type="RCS").phone_number == D
    raw = acme.client.available_number.with_raw_response.retrieve(extra_query={"type": "imessage"})
    assert raw.json()["phone_number"] == A


def test_no_line_of_the_type_is_503(account):
    acme = account(A)
    with pytest.raises(linq.InternalServerError) as unavailable:
        acme.client.available_number.retrieve(type="RCS")
    assert unavailable.value.status_code == 503 and unavailable.value.body["code"] == 4004


def test_exclusions_must_be_e164_and_may_not_exclude_every_line(account):
    acme = account(A, B)
    with pytest.raises(linq.BadRequestError) as loose:
        acme.client.available_number.retrieve(exclude_from=["2025550101"])
    assert loose.value.body["code"] == 1002 and "2025550101" in loose.value.body["message"]
    with pytest.raises(linq.BadRequestError) as everything:
        acme.client.available_number.retrieve(exclude_from=[A, B])
    assert everything.value.body["code"] == 1005


def test_flagged_lines_are_never_suggested_and_none_left_is_409(account, cli):
    acme = account(A, B)
    cli("lines", "flag", A)
    assert {acme.client.available_number.retrieve().phone_number for _ in range(3)} == {B}
    cli("lines", "flag", B)
    with pytest.raises(linq.ConflictError):
        acme.client.available_number.retrieve()


def test_vcf_url_is_a_signed_vcard_of_the_card_with_the_chosen_number_first(account, http, live_server):
    acme = account(A, B, C)
    acme.client.contact_card.create(first_name="Acme", last_name="Support", phone_number=B)
    suggestion = acme.client.available_number.retrieve(exclude_from=[C])
    assert suggestion.phone_number == A
    # The card of the chosen line; A has none, so ask again until B is chosen.
    suggestion = acme.client.available_number.retrieve(exclude_from=[C])
    assert suggestion.phone_number == B
    response = httpx.get(suggestion.vcf_url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/vcard")
    card = vobject.readOne(response.text)
    assert card.fn.value == "Acme Support"
    numbers = [tel.value for tel in card.contents["tel"]]
    assert numbers == [B, A]  # chosen first, the other available line as backup, C excluded
    tampered = suggestion.vcf_url.replace(".vcf", "x.vcf")
    assert httpx.get(tampered).status_code == 404


def test_contact_card_create_once_update_and_list(account):
    acme = account(A, B)
    created = acme.client.contact_card.create(first_name="Acme", phone_number=A)
    assert (created.first_name, created.is_active, created.phone_number) == ("Acme", True, A)
    with pytest.raises(linq.ConflictError) as again:
        acme.client.contact_card.create(first_name="Other", phone_number=A)
    assert again.value.body["code"] == 2014
    updated = acme.client.contact_card.update(phone_number=A, last_name="Inc")
    assert (updated.first_name, updated.last_name) == ("Acme", "Inc")
    assert [c.phone_number for c in acme.client.contact_card.retrieve().contact_cards] == [A]
    assert acme.client.contact_card.retrieve(phone_number=B).contact_cards == []
    intruder = account(name="Globex").client
    assert intruder.contact_card.retrieve().contact_cards == []
    with pytest.raises(linq.PermissionDeniedError):
        intruder.contact_card.update(phone_number=A, first_name="Mine")
    with pytest.raises(linq.NotFoundError):
        acme.client.contact_card.update(phone_number=B, first_name="Nobody")


def test_a_moved_line_leaves_its_card_with_the_old_owner(account, cli, make_partner, linq):
    acme = account(A)
    acme.client.contact_card.create(first_name="Acme", phone_number=A)
    globex = make_partner("Globex")
    cli("lines", "move", A, "--partner", globex.id)
    assert linq(globex.api_key).contact_card.retrieve().contact_cards == []
    assert (
        linq(globex.api_key).contact_card.create(first_name="Globex", phone_number=A).first_name == "Globex"
    )


def test_card_writes_share_a_budget_of_three_per_number_every_ten_minutes(account):
    acme = account(A, B)
    acme.client.contact_card.create(first_name="Acme", phone_number=A)
    acme.client.contact_card.update(phone_number=A, last_name="Inc")
    with pytest.raises(linq.ConflictError):
        acme.client.contact_card.create(first_name="Again", phone_number=A)  # refused: not a write
    acme.client.contact_card.update(phone_number=A, first_name="Acme Co")
    with pytest.raises(linq.RateLimitError) as limited:
        acme.client.contact_card.update(phone_number=A, first_name="Fourth")
    assert limited.value.body["code"] == 1007
    assert 590 <= int(limited.value.response.headers["retry-after"]) <= 600
    with pytest.raises(linq.RateLimitError):
        acme.client.contact_card.create(first_name="X", phone_number=A)
    # The refused call changed nothing, and the budget is per number.
    [card] = acme.client.contact_card.retrieve(phone_number=A).contact_cards
    assert (card.first_name, card.last_name) == ("Acme Co", "Inc")
    assert acme.client.contact_card.create(first_name="Acme", phone_number=B).first_name == "Acme"


def test_card_writes_emit_created_updated_and_on_release_deleted(account, cli, events):
    acme = account(A)
    created = acme.client.contact_card.create(first_name="Acme", phone_number=A)
    assert created.is_active
    acme.client.contact_card.update(phone_number=A, last_name="Inc", first_name="Acme")
    cli("lines", "release", A)
    [made] = events("contact_card.created")
    assert made["data"]["contact_card"]["first_name"] == "Acme"
    assert "last_name" not in made["data"]["contact_card"]  # absent, as Linq sends it
    assert (made["data"]["actor"], made["data"]["origin"]) == ({"type": "api"}, "api")
    [changed] = events("contact_card.updated")
    assert changed["data"]["change"] == {"last_name": {"from": None, "to": "Inc"}}  # first_name unchanged
    [gone] = events("contact_card.deleted")
    assert (gone["data"]["phone_number"], gone["data"]["actor"]) == (A, {"type": "system"})
    assert gone["data"]["contact_card"]["id"] == made["data"]["contact_card"]["id"]
