"""`simulator`, the embedded default: recipients that behave like people, predictably.

Each recipient handle gets a persona from SHA-256 of "<PHONELINE_SIMULATOR_SEED>:<handle>" (the first
8 bytes as an integer, modulo 100):

  0-39  responsive   delivered after 2 s, read after 5 s, replies after 20 s
  40-59 slow         delivered after 5 s, read after 10 min, replies after 30 min
  60-79 silent       delivered after 3 s, never reads or replies
  80-89 bouncing     every delivery fails after 3 s (message.failed, code 4001)
  90-99 opting_out   delivered after 2 s, replies "STOP" after 30 s (once), then stays silent

Delays are measured from the send and divided by PHONELINE_SIMULATOR_SPEED. Reply texts are picked by
the same hash and the number of messages the handle has been sent, so one seed replays one story.
Group chats get deliveries (or failures) but no replies. docs/transport.md has the full table.

Chat actions (typing, read receipts, edits, deletes, reactions, group changes, contact cards) are
taken at once and remembered in `actions`; simulated recipients never refuse one.

Capability checks are answered from the same hash, salted with the service, modulo 100
(`simulated_capability`): iMessage is available for every email address and for phone numbers in
buckets 0-69; RCS for phone numbers in buckets 0-49 (never for an email). When it is not available, a
phone number resolves to SMS.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from phoneline.logging import get_logger
from phoneline.transport.base import (
    FAILED_UNDELIVERABLE,
    CapabilityAnswer,
    ChatAction,
    InboundMessage,
    OutboundMessage,
    Transport,
    TypingReport,
)

log = get_logger("phoneline.transport")


class Persona(enum.StrEnum):
    RESPONSIVE = "responsive"
    SLOW = "slow"
    SILENT = "silent"
    BOUNCING = "bouncing"
    OPTING_OUT = "opting_out"


# (upper bound of the hash bucket, persona), checked in order.
PERSONA_BUCKETS = (
    (40, Persona.RESPONSIVE),
    (60, Persona.SLOW),
    (80, Persona.SILENT),
    (90, Persona.BOUNCING),
    (100, Persona.OPTING_OUT),
)
REPLIES = (
    "Sounds good, thanks!",
    "Got it.",
    "Can you tell me more?",
    "Yes, that works for me.",
    "Thanks for the update.",
    "What time works?",
)
OPT_OUT_TEXT = "STOP"
TYPING_S = 3.0  # how long a simulated recipient types before each reply
# Message ids remembered to ignore a repeated hand-over (at least once, docs/transport.md).
REMEMBERED_IDS = 100_000


@dataclass(frozen=True)
class Step:
    after_s: float  # seconds after the send, at speed 1
    action: str  # delivered | failed | read | typing.started | typing.stopped | reply
    text: str | None = None


def _digest(seed: str, handle: str, salt: str = "") -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{handle}{salt}".encode()).digest()[:8], "big")


def persona_for(handle: str, seed: str) -> Persona:
    bucket = _digest(seed, handle) % 100
    return next(persona for bound, persona in PERSONA_BUCKETS if bucket < bound)


def plan(
    handle: str, seed: str, nth: int, *, is_group: bool = False, opted_out_already: bool = False
) -> list[Step]:
    """What the recipient does with the `nth` (0-based) message they are sent."""
    persona = persona_for(handle, seed)
    reply = REPLIES[_digest(seed, handle, f"#{nth}") % len(REPLIES)]
    steps: list[Step]
    if persona is Persona.RESPONSIVE:
        steps = [Step(2, "delivered"), Step(5, "read"), *_typed_reply(20, reply)]
    elif persona is Persona.SLOW:
        steps = [Step(5, "delivered"), Step(600, "read"), *_typed_reply(1800, reply)]
    elif persona is Persona.SILENT:
        steps = [Step(3, "delivered")]
    elif persona is Persona.BOUNCING:
        steps = [Step(3, "failed")]
    else:
        steps = [Step(2, "delivered"), Step(5, "read")]
        if not opted_out_already:
            steps.append(Step(30, "reply", OPT_OUT_TEXT))
    if is_group:
        steps = [step for step in steps if step.action != "reply" and not step.action.startswith("typing.")]
    return steps


def _typed_reply(at_s: float, text: str) -> list[Step]:
    # A person types for a few seconds before the reply arrives (Linq: chat.typing_indicator.*).
    return [Step(at_s - TYPING_S, "typing.started"), Step(at_s, "typing.stopped"), Step(at_s, "reply", text)]


# Share of phone numbers (hash buckets below the bound) that take each service.
CAPABILITY_BOUNDS = {"iMessage": 70, "RCS": 50}


def simulated_capability(address: str, seed: str, service: str) -> CapabilityAnswer:
    """The simulator's answer for `address` under `seed`: deterministic, so tests can rely on it."""
    is_email = "@" in address
    if is_email:
        available = service == "iMessage"
        return CapabilityAnswer(available, "iMessage" if available else None)
    available = _digest(seed, address, f"#{service}") % 100 < CAPABILITY_BOUNDS[service]
    return CapabilityAnswer(available, service if available else "SMS")


class SimulatorTransport(Transport):
    name = "simulator"

    def __init__(self, seed: str, speed: float) -> None:
        super().__init__()
        self.seed = seed
        self.speed = max(speed, 1e-6)
        self._sent_to: dict[str, int] = defaultdict(int)
        self._opted_out: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._played: OrderedDict[str, None] = OrderedDict()
        # The chat actions carried out, oldest first (the last REMEMBERED_IDS): what a test can observe.
        self.actions: list[ChatAction] = []

    async def send(self, message: OutboundMessage) -> None:
        # A repeated hand-over of a message already played is taken and ignored, as a carrier would.
        if message.message_id in self._played:
            return
        self._played[message.message_id] = None
        if len(self._played) > REMEMBERED_IDS:
            self._played.popitem(last=False)
        # A group's fate follows its first recipient; its members never answer on their own.
        handle = message.recipients[0]
        nth = self._sent_to[handle]
        self._sent_to[handle] += 1
        steps = plan(
            handle, self.seed, nth, is_group=message.is_group, opted_out_already=handle in self._opted_out
        )
        if any(step.text == OPT_OUT_TEXT for step in steps):
            self._opted_out.add(handle)
        task = asyncio.create_task(self._play(message, handle, steps), name=f"simulator-{message.message_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check_capability(self, address: str, service: str, line_number: str) -> CapabilityAnswer:
        return simulated_capability(address, self.seed, service)

    async def act(self, action: ChatAction) -> None:
        # Simulated recipients see every action at once and never refuse one (docs/transport.md).
        self.actions.append(action)
        if len(self.actions) > REMEMBERED_IDS:
            del self.actions[: len(self.actions) - REMEMBERED_IDS]

    async def _play(self, message: OutboundMessage, handle: str, steps: list[Step]) -> None:
        reports = self._reports()
        elapsed = 0.0
        for step in steps:
            await asyncio.sleep((step.after_s - elapsed) / self.speed)
            elapsed = step.after_s
            try:
                if step.action == "delivered":
                    await reports.delivered(message.message_id)
                elif step.action == "failed":
                    await reports.failed(
                        message.message_id, FAILED_UNDELIVERABLE, "simulated: recipient unreachable"
                    )
                elif step.action == "read":
                    await reports.read(message.message_id)
                elif step.action.startswith("typing."):
                    started = step.action == "typing.started"
                    await reports.typing(TypingReport(message.line_number, handle, started))
                else:
                    await reports.inbound(
                        InboundMessage.text(
                            message.line_number, handle, step.text or "", chat_id=message.chat_id
                        )
                    )
            except Exception:
                log.exception("simulator_step_failed", message_id=message.message_id, action=step.action)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
