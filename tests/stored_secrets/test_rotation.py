"""PHONELINE_SECRET_KEY rotation: a comma-separated list (first encrypts, all decrypt), `phoneline
secrets rotate`, and `serve` refusing a key set that reads nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from linq import LinqAPIV3

from tests.conftest import SECRET_KEY, Cli, PartnerAccount

NEW_KEY = "the-next-secret-key-fedcba9876543210"
SLACK = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.fixture
def stored_secrets(
    make_partner: Callable[[str], PartnerAccount], cli: Cli, linq: Callable[[str], LinqAPIV3]
) -> PartnerAccount:
    """A partner with one of each stored secret, saved with the tests' SECRET_KEY."""
    acme = make_partner("Acme")
    cli(
        "partners", "configure", acme.id, "--slack-webhook-url", SLACK, "--pagerduty-routing-key", ROUTING_KEY
    )
    linq(acme.api_key).webhook_subscriptions.create(
        target_url="https://hooks.example.com/linq", subscribed_events=["phone_number.status_updated"]
    )
    return acme


def counts(report: dict[str, Any]) -> tuple[int, int, int]:
    return report["rotated"], report["already_current"], report["unreadable"]


def test_rotate_re_encrypts_everything_with_the_first_key_and_the_old_key_can_go(
    stored_secrets: PartnerAccount, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONELINE_SECRET_KEY", f"{NEW_KEY}, {SECRET_KEY}")
    # Both keys decrypt: the settings still read before anything is rotated.
    assert (
        cli("partners", "configure", stored_secrets.id)["slack_webhook_url"]
        == "https://hooks.slack.com/…CRET"
    )

    report = cli("secrets", "rotate")
    assert counts(report) == (3, 0, 0) and report["keys"] == 2
    assert {c["column"]: c["rotated"] for c in report["columns"]} == {
        "webhook_subscriptions.signing_secret_encrypted": 1,
        "partner_alert_settings.slack_webhook_url_encrypted": 1,
        "partner_alert_settings.pagerduty_routing_key_encrypted": 1,
    }

    monkeypatch.setenv("PHONELINE_SECRET_KEY", NEW_KEY)  # the old key is dropped
    assert counts(cli("secrets", "rotate")) == (0, 3, 0)
    shown = cli("partners", "configure", stored_secrets.id)
    assert (shown["slack_webhook_url"], shown["pagerduty_routing_key"]) == (
        "https://hooks.slack.com/…CRET",
        "…CDEF",
    )
    assert cli("secrets", "check")["readable"] is True


def test_rotate_leaves_what_no_key_reads_and_counts_it(
    stored_secrets: PartnerAccount, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONELINE_SECRET_KEY", NEW_KEY)
    assert counts(cli("secrets", "rotate")) == (0, 0, 3)
    monkeypatch.setenv("PHONELINE_SECRET_KEY", SECRET_KEY)
    assert counts(cli("secrets", "rotate")) == (0, 3, 0), "nothing unreadable was changed or lost"


def test_rotate_human_output_and_missing_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "re-encrypted 0 secret(s)" in cli.run("secrets", "rotate").stdout
    monkeypatch.delenv("PHONELINE_SECRET_KEY")
    result = cli.run("secrets", "rotate", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: PHONELINE_SECRET_KEY is not set")


@pytest.mark.parametrize("configured", [NEW_KEY, None])
def test_serve_refuses_a_key_set_that_reads_nothing_stored(
    stored_secrets: PartnerAccount, cli: Cli, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    if configured is None:
        monkeypatch.delenv("PHONELINE_SECRET_KEY")
    else:
        monkeypatch.setenv("PHONELINE_SECRET_KEY", configured)
    for command in (("serve", "--json"), ("secrets", "check", "--json")):
        result = cli.run(*command)
        assert result.exit_code == 1 and result.stdout == ""
        (line,) = result.stderr.splitlines()  # one sentence, no traceback
        assert line.startswith("error: PHONELINE_SECRET_KEY ") and "3 stored secret(s)" in line


def test_serve_refuses_an_admin_token_shorter_than_32_characters(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONELINE_ADMIN_TOKEN", "x" * 31)
    result = cli.run("serve", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: PHONELINE_ADMIN_TOKEN is 31 characters long; use at least 32 (e.g. `openssl rand -hex 32`)."
    ]


def test_settings_that_are_not_secret_never_need_the_secret_key(
    make_partner: Callable[[str], PartnerAccount], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550123", "--partner", acme.id)
    monkeypatch.delenv("PHONELINE_SECRET_KEY")
    shown = cli(
        "partners", "configure", acme.id,
        "--pacing", "enforce", "--production-lines", "+12025550123", "--slack-on", "off",
    )  # fmt: skip
    assert (shown["pacing"], shown["production_lines"], shown["slack_on"]) == (
        "enforce",
        ["+12025550123"],
        "off",
    )
    refused = cli.run("partners", "configure", acme.id, "--slack-webhook-url", SLACK, "--json")
    assert refused.exit_code == 1 and "PHONELINE_SECRET_KEY is not set" in refused.stderr
