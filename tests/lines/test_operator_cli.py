"""The operator CLI: every command prints one JSON document with --json; bad input changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import REPO_ROOT, Cli, PartnerAccount, subprocess_env


def test_partners_and_keys(cli: Cli) -> None:
    created = cli("partners", "create", "Acme")
    assert set(created) == {"id", "name", "api_key"}
    assert created["api_key"].startswith("pl_")

    listed = cli("partners", "list")["partners"]
    assert [(p["id"], p["name"]) for p in listed] == [(created["id"], "Acme")]
    # The key is shown once: never in a listing.
    assert created["api_key"] not in json.dumps(listed)

    second = cli("keys", "create", "--partner", created["id"])
    assert second["api_key"] != created["api_key"]
    keys = cli("keys", "list", "--partner", created["id"])["keys"]
    assert len(keys) == 2 and all("api_key" not in key for key in keys)

    revoked = cli("keys", "revoke", second["id"])
    assert revoked["revoked_at"] is not None


def test_lines_lifecycle_is_recorded_in_history(
    cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")

    line = cli("lines", "assign", "202-555-0101", "--partner", acme.id)
    assert line["phone_number"] == "+12025550101"
    assert line["partner_id"] == acme.id
    assert line["status"] == "ACTIVE" and line["health_status"]["status"] == "HEALTHY"

    assert cli("lines", "flag", "+12025550101", "--reason", "carrier complaint")["status"] == "FLAGGED"
    assert cli("lines", "unflag", "+12025550101", "--reason", "cleared")["status"] == "ACTIVE"
    assert cli("lines", "move", "+12025550101", "--partner", globex.id)["partner_id"] == globex.id
    assert cli("lines", "release", "+12025550101")["partner_id"] is None

    history = cli("lines", "history", "+12025550101")["history"]
    assert [(h["field"], h["old_value"], h["new_value"], h["reason"]) for h in history] == [
        ("owner", None, acme.id, None),
        ("status", "ACTIVE", "FLAGGED", "carrier complaint"),
        ("status", "FLAGGED", "ACTIVE", "cleared"),
        ("owner", acme.id, globex.id, None),
        ("owner", globex.id, None, None),
    ]
    assert {h["actor"] for h in history} == {"operator:cli"}

    assert cli("lines", "list", "--partner", globex.id)["lines"] == []
    assert [line["phone_number"] for line in cli("lines", "list")["lines"]] == ["+12025550101"]


def test_flagging_twice_records_one_change(cli: Cli, make_partner: Callable[[str], PartnerAccount]) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "flag", "+12025550101")
    cli("lines", "flag", "+12025550101")
    statuses = [h for h in cli("lines", "history", "+12025550101")["history"] if h["field"] == "status"]
    assert len(statuses) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lines", "assign", "12", "--partner", "{acme}"], "not a valid phone number"),
        (
            ["lines", "assign", "+12025550199", "--partner", "6f1c2d7e-0000-4000-8000-000000000000"],
            "No partner",
        ),
        (["lines", "assign", "+12025550199", "--partner", "not-a-uuid"], "not a partner id"),
        (["lines", "assign", "+12025550101", "--partner", "{globex}"], "use `lines move`"),
        (["lines", "assign", "+12025550199", "--partner", "{acme}", "--line-type", "fax"], "not a line type"),
        (["lines", "release", "+12025550102"], "not assigned"),
        (["lines", "release", "+12025550199"], "No line"),
        (["lines", "move", "+12025550101", "--partner", "{acme}"], "already assigned"),
        (["lines", "flag", "+12025550199"], "No line"),
        (["keys", "revoke", "pl_nope"], "No API key"),
        (["keys", "create", "--partner", "6f1c2d7e-0000-4000-8000-000000000000"], "No partner"),
    ],
)
def test_bad_input_exits_non_zero_with_one_sentence_and_changes_nothing(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], args: list[str], message: str
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "assign", "+12025550102", "--partner", acme.id)
    cli("lines", "release", "+12025550102")
    before = cli("lines", "list"), cli("partners", "list")

    result = cli.run(*[arg.format(acme=acme.id, globex=globex.id) for arg in args], "--json")

    assert result.exit_code != 0
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (cli("lines", "list"), cli("partners", "list")) == before


def test_human_output_without_json(cli: Cli, make_partner: Callable[[str], PartnerAccount]) -> None:
    acme = make_partner("Acme")
    result = cli.run("lines", "assign", "+12025550101", "--partner", acme.id)
    assert result.exit_code == 0
    assert "+12025550101" in result.stdout and "ACTIVE" in result.stdout


def test_change_from_cli_in_another_process_shows_within_a_second(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], http: httpx.Client, test_env: dict[str, str]
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    auth = {"Authorization": f"Bearer {acme.api_key}"}
    # Prime the server's cache with the ACTIVE line.
    assert (
        http.get("/api/partner/v3/phone_numbers", headers=auth).json()["phone_numbers"][0]["status"]
        == "ACTIVE"
    )

    completed = subprocess.run(
        [sys.executable, "-m", "phoneline.cli", "lines", "flag", "+12025550101", "--json"],
        env=subprocess_env(test_env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["status"] == "FLAGGED"
    committed_at = time.monotonic()

    while (
        http.get("/api/partner/v3/phone_numbers", headers=auth).json()["phone_numbers"][0]["status"]
        != "FLAGGED"
    ):
        assert time.monotonic() - committed_at < 1.0, "operator change not visible within one second"
        time.sleep(0.02)


def test_migrate_is_idempotent_and_reports_the_revision(cli: Cli) -> None:
    first, second = cli("migrate"), cli("migrate")
    assert first["revision"] == second["revision"] is not None
