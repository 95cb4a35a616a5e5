"""schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS): the Linq envelope check."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def linq_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is `{"success": false, "error": {status, code, message, doc_url}, "trace_id"}`,
    with a code from Linq's table (1xxx-5xxx)."""
    if response.status_code < 400:
        return None
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{response.status_code} is not in the Linq envelope: {body!r}"
    assert body.get("success") is False and isinstance(body.get("trace_id"), str), body
    assert error.get("status") == response.status_code, body
    assert isinstance(error.get("code"), int) and 1000 <= error["code"] < 6000, body
    assert isinstance(error.get("message"), str) and error["message"], body
    return True
