"""uvicorn's httptools protocol with a limit on the request line and headers, for `phoneline serve`.

httptools has no such limit: a 32 MB header is buffered whole before any ASGI code can refuse it.
h11 has one, but serves the partner API at about a third of httptools' rate here. So this protocol
counts the bytes it feeds the parser while a request's head is incomplete and, past the limit,
answers 431 in the Linq envelope and closes the connection: memory stays within the limit plus one
read. The limit is uvicorn's own setting for it, `h11_max_incomplete_event_size`. The ASGI middleware
(api/middleware.py) applies the same limit under any server.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from phoneline.errors import HeadersTooLarge, error_response_parts

DEFAULT_MAX_HEAD_BYTES = 16 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self.head_bytes = 0
        # True from the end of one request (or the connection's start) until the next one's headers
        # are complete: bytes fed in that state are request line and headers.
        self.in_head = True
        self.refused = False

    def on_message_begin(self) -> None:
        self.in_head = True
        self.head_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.in_head = True
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        was_in_head = self.in_head
        super().data_received(data)
        # Counted only when all of `data` was head: headers that completed in it end the count, and
        # a chunk where the next request began is at most one read.
        if was_in_head and self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                self._refuse()

    def _refuse(self) -> None:
        self.refused = True
        error = HeadersTooLarge(f"The request line and headers are larger than {self.max_head_bytes} bytes.")
        # A context of its own: the trace id minted for this body must not stay on the connection.
        body, _headers = contextvars.copy_context().run(error_response_parts, error)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()
