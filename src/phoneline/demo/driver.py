"""`phoneline demo`: a fresh SQLite database, a demo partner with four lines, a webhook subscription and
Slack/PagerDuty pointed at built-in local sinks, and the simulator driven so that within about a minute one
line slides to AT_RISK, one to CRITICAL and gets flagged by the simulated carrier, and two stay healthy.
Everything goes through the public APIs of the server it starts; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from phoneline.transport.simulator import Persona, persona_for

HEALTHY_LINE, SLIDING_LINE, SINKING_LINE, QUIET_LINE = (
    "+12025550100",
    "+12025550101",
    "+12025550102",
    "+12025550103",
)
EVENTS = ["phone_number.status_updated", "phone_number.assigned", "message.received"]


def demo_environment(port: int) -> dict[str, str]:
    """Settings for the demo process: its own database, fast simulator, local sinks only."""
    base = f"http://127.0.0.1:{port}"
    return {
        "PHONELINE_DATABASE_URL": "sqlite:///./var/demo.db",
        "PHONELINE_PORT": str(port),
        "PHONELINE_DEMO": "true",
        "PHONELINE_ADMIN_TOKEN": "demo-" + secrets.token_urlsafe(32),
        "PHONELINE_SECRET_KEY": secrets.token_urlsafe(32),
        "PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "PHONELINE_TRANSPORT": "simulator",
        "PHONELINE_SIMULATOR_SPEED": "60",  # a simulated minute passes in a second
        "PHONELINE_SIMULATOR_FLAG_AFTER_S": "600",  # 10 s at that speed
        "PHONELINE_PAGERDUTY_EVENTS_URL": f"{base}/demo/sinks/pagerduty",
        "PHONELINE_LOG_LEVEL": "warning",
    }


def reset_database() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"./var/demo.db{suffix}").unlink(missing_ok=True)


def recipients(seed: str, persona: Persona, count: int, start: int) -> list[str]:
    found: list[str] = []
    n = start
    while len(found) < count:
        handle = f"+1415555{n:04d}"
        if persona_for(handle, seed) is persona:
            found.append(handle)
        n += 1
    return found


@dataclass
class Demo:
    base: str
    admin_token: str
    seed: str
    api_key: str = ""
    partner_id: str = ""

    def text(self, value: str) -> dict[str, Any]:
        return {"parts": [{"type": "text", "value": value}]}

    async def setup(self, client: httpx.AsyncClient) -> None:
        admin = {"Authorization": f"Bearer {self.admin_token}"}
        partner = (await client.post("/admin/v1/partners", json={"name": "Demo Co"}, headers=admin)).json()
        self.partner_id, self.api_key = partner["id"], partner["api_key"]
        for number in (HEALTHY_LINE, SLIDING_LINE, SINKING_LINE, QUIET_LINE):
            await client.post(
                "/admin/v1/lines", json={"number": number, "partner_id": self.partner_id}, headers=admin
            )
        await client.put(
            f"/admin/v1/partners/{self.partner_id}/alerts",
            json={
                "slack_webhook_url": f"{self.base}/demo/sinks/slack",
                "slack_on": "status,health",
                "pagerduty_routing_key": "demo-routing-key-0000000000000000",
                "production_lines": [SINKING_LINE],
            },
            headers=admin,
        )
        await client.post(
            "/api/partner/v3/webhook-subscriptions",
            json={"target_url": f"{self.base}/demo/sinks/webhooks", "subscribed_events": EVENTS},
            headers=self.auth,
        )

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def open_chats(self, client: httpx.AsyncClient, line: str, handles: list[str]) -> list[str]:
        chats = []
        for handle in handles:
            body = {
                "from": line,
                "to": [handle],
                "message": self.text("Hi! Do you have a minute for a quick question?"),
            }
            response = await client.post("/api/partner/v3/chats", json=body, headers=self.auth)
            chats.append(response.json()["chat"]["id"])
        return chats

    async def follow_up(self, client: httpx.AsyncClient, chats: list[str], words: str) -> None:
        for chat_id in chats:
            await client.post(
                f"/api/partner/v3/chats/{chat_id}/messages",
                json={"message": self.text(words)},
                headers=self.auth,
            )

    async def drive(self, client: httpx.AsyncClient, say: Callable[[str], None]) -> None:
        responsive = recipients(self.seed, Persona.RESPONSIVE, 18, 1000)
        silent = recipients(self.seed, Persona.SILENT, 19, 3000)
        healthy = await self.open_chats(client, HEALTHY_LINE, responsive[:12])
        quiet = await self.open_chats(client, QUIET_LINE, responsive[12:17])
        sliding = await self.open_chats(client, SLIDING_LINE, [responsive[17], *silent[:9]])
        sinking = await self.open_chats(client, SINKING_LINE, silent[9:19])
        say("opened 37 conversations on 4 lines; the simulator's recipients answer (or not) at 60x speed")
        await asyncio.sleep(4)
        await self.follow_up(client, healthy + sliding + sinking, "Just checking in: any thoughts?")
        await asyncio.sleep(4)
        await self.follow_up(client, healthy + sinking, "One last nudge!")
        say(f"{SLIDING_LINE} should now read AT_RISK and {SINKING_LINE} CRITICAL")
        # The sinking line keeps sending while CRITICAL: the simulated carrier flags it after ~10 s.
        for _ in range(6):
            await asyncio.sleep(3)
            await self.follow_up(client, sinking[:2], "Are you there?")
        await self.follow_up(client, quiet, "Thanks for the reply!")
        say(f"{SINKING_LINE} kept sending while CRITICAL; the simulated carrier flags it")


async def run_demo(
    base: str, admin_token: str, seed: str, ready: Callable[[], bool], say: Callable[[str], None]
) -> Demo:
    while not ready():  # noqa: ASYNC110 - uvicorn exposes `started` as a flag, not an event
        await asyncio.sleep(0.05)
    demo = Demo(base=base, admin_token=admin_token, seed=seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await demo.setup(client)
        say(
            f"dashboard: {base}/dashboard  (log in with the API key {demo.api_key})\n"
            f"console:   {base}/console    (admin token {admin_token})\n"
            f"sinks:     {base}/demo/sinks (webhooks, Slack and PagerDuty as received)"
        )
        await demo.drive(client, say)
    say("demo traffic done; the server keeps running (Ctrl-C to stop)")
    return demo


def environment_for(port: int) -> dict[str, str]:
    env = demo_environment(port)
    os.environ.update(env)
    return env
