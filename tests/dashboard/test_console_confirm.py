"""Destructive console actions (flag, release, move) need a reason and a confirmation; nothing changes
before both."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import ADMIN_TOKEN, Cli, PartnerAccount
from tests.dashboard.test_security import browser_like, csrf_of, log_in

__all__ = ["browser_like"]
LINE = "+12025550101"


def act(client: httpx.Client, action: str, **fields: str) -> httpx.Response:
    page = client.get(f"/console/lines/{LINE}")
    return client.post(f"/console/lines/{LINE}/{action}", data={"csrf": csrf_of(page.text), **fields})


def test_flag_release_and_move_ask_for_a_reason_then_a_confirmation(
    browser_like: httpx.Client, cli: Cli, make_partner: Callable[[str], PartnerAccount]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    cli("lines", "assign", LINE, "--partner", acme.id)
    log_in(browser_like, "/console", "token", ADMIN_TOKEN)

    for action in ("flag", "release", "move"):
        refused = act(browser_like, action, reason="  ", partner_id=globex.id)
        assert f"Give a reason to {action} {LINE}" in refused.text
    asked = act(browser_like, "flag", reason="spam complaints")
    assert "Flag +12025550101? It cannot send until the flag is cleared." in asked.text
    assert "spam complaints" in asked.text
    assert cli("lines", "show", LINE)["status"] == "ACTIVE"  # asking changed nothing

    done = act(browser_like, "flag", reason="spam complaints", confirmed="yes")
    assert "Flag: done" in done.text
    assert cli("lines", "show", LINE)["status"] == "FLAGGED"
    # Clearing a flag is not destructive: one step, reason optional.
    assert "Unflag: done" in act(browser_like, "unflag").text

    asked = act(browser_like, "move", reason="account merge", partner_id=globex.id)
    assert f"Move {LINE} to Globex?" in asked.text
    assert cli("lines", "show", LINE)["partner_id"] == acme.id
    act(browser_like, "move", reason="account merge", partner_id=globex.id, confirmed="yes")
    assert cli("lines", "show", LINE)["partner_id"] == globex.id

    act(browser_like, "release", reason="contract ended", confirmed="yes")
    history = cli("lines", "history", LINE)["history"]
    assert [h["reason"] for h in history][-4:] == ["spam complaints", None, "account merge", "contract ended"]
