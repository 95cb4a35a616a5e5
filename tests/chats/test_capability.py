"""Capability checks through the official client, answered by the transport (the sink here, which
answers as the simulator does under its default seed: transport/simulator.py `simulated_capability`)."""

from __future__ import annotations

import linq
import pytest

from phoneline.transport.simulator import CAPABILITY_BOUNDS, simulated_capability

LINE = "+12025550101"
SEED = "phoneline"


def numbers_where(service: str, available: bool) -> list[str]:
    found = [f"+1202555{n:04d}" for n in range(1000, 1400)]
    return [n for n in found if simulated_capability(n, SEED, service).available is available][:3]


@pytest.mark.parametrize("service", ["iMessage", "RCS"])
def test_answers_follow_the_documented_deterministic_rule(account, service):
    acme = account(LINE)
    check = (
        acme.client.capability.check_i_message if service == "iMessage" else acme.client.capability.check_RCS
    )
    for number in numbers_where(service, True):
        answer = check(address=number)
        assert (answer.address, answer.available, answer.reason, answer.selected_service) == (
            number, True, None, service,
        )  # fmt: skip
    for number in numbers_where(service, False):
        answer = check(address=number, from_=LINE)
        assert (answer.available, answer.reason, answer.selected_service) == (False, "not_supported", "SMS")


def test_the_rule_splits_numbers_as_documented():
    numbers = [f"+1415555{n:04d}" for n in range(2000)]
    for service, bound in CAPABILITY_BOUNDS.items():
        share = sum(simulated_capability(n, SEED, service).available for n in numbers) / len(numbers)
        assert abs(share - bound / 100) < 0.05
        assert [simulated_capability(n, SEED, service) for n in numbers[:50]] == [
            simulated_capability(n, SEED, service) for n in numbers[:50]
        ]


def test_email_is_imessage_only(account):
    acme = account(LINE)
    assert acme.client.capability.check_i_message(address="Someone@Example.com").available is True
    with pytest.raises(linq.BadRequestError):
        acme.client.capability.check_RCS(address="someone@example.com")


def test_from_must_be_your_line_and_numbers_e164(account):
    acme = account(LINE)
    with pytest.raises(linq.PermissionDeniedError) as foreign:
        acme.client.capability.check_i_message(address="+12025550199", from_="+12025550177")
    assert foreign.value.body["code"] == 2006
    with pytest.raises(linq.BadRequestError) as loose:
        acme.client.capability.check_i_message(address="2025550199")
    assert loose.value.body["code"] == 1002


def test_a_partner_without_a_line_that_can_send_is_409(account, cli):
    acme = account(LINE)
    cli("lines", "flag", LINE)
    with pytest.raises(linq.ConflictError):
        acme.client.capability.check_i_message(address="+12025550199")
