"""`sink`: accepts every outbound message and reports it delivered at once; never answers by itself.

For deterministic tests and benchmarks. Inbound traffic comes only from `phoneline sim inbound`.
Chat actions are taken and remembered (`actions`). Capability checks answer as the simulator does under its default seed (`simulated_capability`).
"""

from __future__ import annotations

from phoneline.settings import Settings
from phoneline.transport.base import CapabilityAnswer, ChatAction, OutboundMessage, Transport
from phoneline.transport.simulator import simulated_capability

DEFAULT_SEED: str = Settings.model_fields["simulator_seed"].default


class SinkTransport(Transport):
    name = "sink"

    def __init__(self) -> None:
        super().__init__()
        # Chat actions taken, oldest first (tests read them; a bounded list).
        self.actions: list[ChatAction] = []

    async def send(self, message: OutboundMessage) -> None:
        await self._reports().delivered(message.message_id)

    async def check_capability(self, address: str, service: str, line_number: str) -> CapabilityAnswer:
        return simulated_capability(address, DEFAULT_SEED, service)

    async def act(self, action: ChatAction) -> None:
        self.actions.append(action)
        del self.actions[:-1000]
