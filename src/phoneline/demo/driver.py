"""`phoneline demo`: a fresh SQLite database, a demo partner with four lines, a webhook subscription and
Slack/PagerDuty pointed at built-in local sinks, and the simulator driven so that within about a minute
one line slides to AT_RISK, one to CRITICAL and gets flagged by the simulated carrier (a Slack message and
a PagerDuty trigger), its recipients then come back, the line recovers and the flag is cleared (the
PagerDuty resolve), and two lines stay healthy.

Setup goes through the public APIs of the server it starts and any refusal stops the demo loudly; the
recipients' late replies are handed in as the transport's inbound path does. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from phoneline.errors import LineNotEligible
from phoneline.transport.simulator import Persona, persona_for

HEALTHY_LINE, SLIDING_LINE, SINKING_LINE, QUIET_LINE = (
    "+12025550100",
    "+12025550101",
    "+12025550102",
    "+12025550103",
)
EVENTS = ["phone_number.status_updated", "phone_number.assigned", "message.received"]
DEMO_DATABASE = Path("./var/demo.db")
# Simulated seconds per real second at --speed 1: the simulator's minute passes in a second.
SIMULATOR_SPEED = 60
# In simulated seconds (divided by the simulator speed): 20 s of real time at --speed 1.
CARRIER_UNFLAG_AFTER_S = 1200
# Real seconds at --speed 1: how long a recovered health must hold, and how often every line is swept.
RECOVERY_DWELL_S = 10
SWEEP_INTERVAL_S = 5
# How long the driver waits (real seconds at --speed 1) for the carrier to flag, then to clear.
FLAG_WAIT_S = 45
CLEAR_WAIT_S = 75

# At most this many rounds of follow-ups (one to each of the sinking line's 10 chats, 2 s apart) before
# the carrier must have flagged it: enough for a carrier that counts the last 100 sends from 50 on, and
# for one that flags a line staying CRITICAL while it sends.
SINKING_ROUNDS = 8
FLAGGED_CODE = LineNotEligible.code
COMEBACK_REPLIES = ("Sorry, I was away!", "Yes, tell me more.", "What time works?")

Reply = Callable[[str, str, str], Awaitable[None]]


class DemoFailed(Exception):
    """The demo's own setup was refused or its story did not happen; the message says which step."""


@dataclass(frozen=True)
class Pace:
    """How much faster than the one-minute story the demo runs (tests run it at 4x or more)."""

    speed: float = 1.0

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def real(self, seconds: float) -> float:
        return seconds / self.speed


def sink_base(host: str, port: int) -> str:
    """Where the server reaches its own sinks: loopback when it listens on every interface."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}" if ":" not in reachable else f"http://[{reachable}]:{port}"


def demo_environment(host: str, port: int, pace: Pace) -> dict[str, str]:
    """Settings for the demo process: its own database, fast simulator and carrier, local sinks only."""
    base = sink_base(host, port)
    return {
        "PHONELINE_DATABASE_URL": f"sqlite:///{DEMO_DATABASE}",
        "PHONELINE_HOST": host,
        "PHONELINE_PORT": str(port),
        "PHONELINE_PUBLIC_BASE_URL": base,
        "PHONELINE_DEMO": "true",
        "PHONELINE_ADMIN_TOKEN": "demo-" + secrets.token_urlsafe(32),
        "PHONELINE_SECRET_KEY": secrets.token_urlsafe(32),
        "PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "PHONELINE_TRANSPORT": "simulator",
        "PHONELINE_SIMULATOR_SPEED": str(SIMULATOR_SPEED * pace.speed),
        "PHONELINE_SIMULATOR_UNFLAG_AFTER_S": str(CARRIER_UNFLAG_AFTER_S),
        "PHONELINE_REPUTATION__RECOVERY_DWELL_S": str(max(1, round(pace.real(RECOVERY_DWELL_S)))),
        "PHONELINE_REPUTATION__SWEEP_INTERVAL_S": str(max(1, round(pace.real(SWEEP_INTERVAL_S)))),
        "PHONELINE_REPUTATION__RESCORE_INTERVAL_S": str(min(2.0, pace.real(2.0))),
        "PHONELINE_PAGERDUTY_EVENTS_URL": f"{base}/demo/sinks/pagerduty",
        "PHONELINE_SLACK_COALESCE_S": str(min(1.0, pace.real(1.0))),
        "PHONELINE_LOG_LEVEL": "warning",
    }


def reset_database() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)


def recipients(seed: str, persona: Persona, count: int, start: int) -> list[str]:
    found: list[str] = []
    n = start
    while len(found) < count:
        handle = f"+1415555{n:04d}"
        if persona_for(handle, seed) is persona:
            found.append(handle)
        n += 1
    return found


def _refusal(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    return f"{response.status_code}: {message}"


@dataclass
class Demo:
    base: str
    admin_token: str
    seed: str
    pace: Pace
    api_key: str = ""
    partner_id: str = ""

    def text(self, value: str) -> dict[str, Any]:
        return {"parts": [{"type": "text", "value": value}]}

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def _call(
        self, client: httpx.AsyncClient, step: str, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One setup call; a refusal stops the demo with what was refused and why."""
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise DemoFailed(f"{step} failed: {error or type(error).__name__}") from None
        if response.status_code >= 300:
            raise DemoFailed(f"{step} was refused ({_refusal(response)})")
        body: dict[str, Any] = response.json() if response.content else {}
        return body

    async def setup(self, client: httpx.AsyncClient) -> None:
        partner = await self._call(
            client, "creating the demo partner", "POST", "/admin/v1/partners",
            json={"name": "Demo Co"}, headers=self.admin,
        )  # fmt: skip
        self.partner_id, self.api_key = partner["id"], partner["api_key"]
        for number in (HEALTHY_LINE, SLIDING_LINE, SINKING_LINE, QUIET_LINE):
            await self._call(
                client, f"assigning {number}", "POST", "/admin/v1/lines",
                json={"number": number, "partner_id": self.partner_id}, headers=self.admin,
            )  # fmt: skip
        await self._call(
            client, "pointing Slack and PagerDuty at the demo sinks", "PUT",
            f"/admin/v1/partners/{self.partner_id}/alerts",
            json={
                "slack_webhook_url": f"{self.base}/demo/sinks/slack",
                "slack_on": "status,health",
                # Events API v2 routing keys are 32 letters and digits.
                "pagerduty_routing_key": secrets.token_hex(16),
                "production_lines": [SINKING_LINE],
            },
            headers=self.admin,
        )  # fmt: skip
        await self._call(
            client, "subscribing the demo webhook sink", "POST", "/api/partner/v3/webhook-subscriptions",
            json={"target_url": f"{self.base}/demo/sinks/webhooks", "subscribed_events": EVENTS},
            headers=self.auth,
        )  # fmt: skip

    async def open_chats(self, client: httpx.AsyncClient, line: str, handles: list[str]) -> list[str]:
        chats = []
        for handle in handles:
            body = {
                "from": line,
                "to": [handle],
                "message": self.text("Hi! Do you have a minute for a quick question?"),
            }
            created = await self._call(
                client, f"opening a chat on {line}", "POST", "/api/partner/v3/chats",
                json=body, headers=self.auth,
            )  # fmt: skip
            chats.append(created["chat"]["id"])
        return chats

    async def follow_up(self, client: httpx.AsyncClient, chats: list[str], words: str) -> bool:
        """Send `words` in each chat; False once the line turns out flagged (Linq: 403/2027), which
        the sinking line's story waits for."""
        for chat_id in chats:
            response = await client.post(
                f"/api/partner/v3/chats/{chat_id}/messages",
                json={"message": self.text(words)},
                headers=self.auth,
            )
            if response.status_code == 403 and response.json().get("error", {}).get("code") == FLAGGED_CODE:
                return False
            if response.status_code >= 300:
                raise DemoFailed(f"a follow-up message was refused ({_refusal(response)})")
        return True

    async def line_status(self, client: httpx.AsyncClient, number: str) -> tuple[str, str]:
        line = await self._call(
            client, f"reading {number}", "GET", f"/admin/v1/lines/{number}", headers=self.admin
        )
        return line["status"], line["health_status"]["status"]

    async def wait_for(self, client: httpx.AsyncClient, number: str, status: str, within_s: float) -> bool:
        """Poll the line (the carrier decides on its own clock); True once it reads `status`."""
        deadline = asyncio.get_running_loop().time() + self.pace.real(within_s)
        while asyncio.get_running_loop().time() < deadline:
            if (await self.line_status(client, number))[0] == status:
                return True
            await self.pace.wait(1)
        return False

    async def drive(self, client: httpx.AsyncClient, reply: Reply, say: Callable[[str], None]) -> None:
        responsive = recipients(self.seed, Persona.RESPONSIVE, 18, 1000)
        silent = recipients(self.seed, Persona.SILENT, 19, 3000)
        healthy = await self.open_chats(client, HEALTHY_LINE, responsive[:12])
        quiet = await self.open_chats(client, QUIET_LINE, responsive[12:17])
        sliding = await self.open_chats(client, SLIDING_LINE, [responsive[17], *silent[:9]])
        sinking_handles = silent[9:19]
        sinking = await self.open_chats(client, SINKING_LINE, sinking_handles)
        say("opened 37 conversations on 4 lines; the simulator's recipients answer (or not) at 60x speed")
        await self.pace.wait(4)
        await self.follow_up(client, healthy + sliding + sinking, "Just checking in: any thoughts?")
        await self.pace.wait(4)
        await self.follow_up(client, healthy + sinking, "One last nudge!")
        say(f"{SLIDING_LINE} should now read AT_RISK and {SINKING_LINE} CRITICAL")
        # The sinking line keeps sending into silence until the simulated carrier restricts it.
        for _ in range(SINKING_ROUNDS):
            await self.pace.wait(2)
            if (await self.line_status(client, SINKING_LINE))[0] == "FLAGGED":
                break
            if not await self.follow_up(client, sinking, "Are you there?"):
                break
        await self.follow_up(client, quiet, "Thanks for the reply!")
        if not await self.wait_for(client, SINKING_LINE, "FLAGGED", FLAG_WAIT_S):
            raise DemoFailed(f"the simulated carrier did not flag {SINKING_LINE}")
        say(
            f"{SINKING_LINE} kept sending while CRITICAL; the simulated carrier flagged it "
            "(a Slack message and a PagerDuty trigger)"
        )
        # The recipients come back: every one of them answers a few times, the line's health recovers,
        # and after its recovery period the carrier clears the flag.
        for words in COMEBACK_REPLIES:
            for handle in sinking_handles:
                await reply(SINKING_LINE, handle, words)
        say(f"{SINKING_LINE}'s recipients answered at last; its health recovers")
        if await self.wait_for(client, SINKING_LINE, "ACTIVE", CLEAR_WAIT_S):
            say(f"the simulated carrier cleared {SINKING_LINE} (the PagerDuty incident resolves)")
        else:
            say(f"{SINKING_LINE} is still flagged; its health has not recovered for long enough yet")


async def run_demo(
    base: str,
    admin_token: str,
    seed: str,
    pace: Pace,
    reply: Reply,
    say: Callable[[str], None],
    on_ready: Callable[[Demo], None],
) -> Demo:
    """Set up the demo partner and drive the story; `on_ready` runs once setup has succeeded."""
    demo = Demo(base=base, admin_token=admin_token, seed=seed, pace=pace)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await demo.setup(client)
        on_ready(demo)
        say(
            f"dashboard: {base}/dashboard  (log in with the API key {demo.api_key})\n"
            f"console:   {base}/console    (admin token {admin_token})\n"
            f"sinks:     {base}/demo/sinks (webhooks, Slack and PagerDuty as received)"
        )
        await demo.drive(client, reply, say)
    say("demo traffic done; the server keeps running (Ctrl-C to stop)")
    return demo
