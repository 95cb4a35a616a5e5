"""`sink`: accepts every outbound message and reports it delivered at once; never answers by itself.

For deterministic tests and benchmarks. Inbound traffic comes only from `phoneline sim inbound`.
"""

from __future__ import annotations

from phoneline.transport.base import OutboundMessage, Transport


class SinkTransport(Transport):
    name = "sink"

    async def send(self, message: OutboundMessage) -> None:
        await self._reports().delivered(message.message_id)
