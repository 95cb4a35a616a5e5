"""The trace id of the current request or job, shared by logs, error bodies and webhook envelopes."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_trace_id: ContextVar[str | None] = ContextVar("phoneline_trace_id", default=None)
_VALID_INCOMING = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def new_trace_id() -> str:
    return uuid.uuid4().hex


def current_trace_id() -> str:
    trace_id = _trace_id.get()
    if trace_id is None:
        trace_id = new_trace_id()
        _trace_id.set(trace_id)
    return trace_id


def set_trace_id(trace_id: str | None) -> str:
    """Adopt a caller's id when it is sane (so their logs and ours line up), else mint one."""
    value = trace_id if trace_id and _VALID_INCOMING.match(trace_id) else new_trace_id()
    _trace_id.set(value)
    return value
