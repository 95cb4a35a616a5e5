"""One delivery attempt: POST under the outbound rule, a bounded wait, a bounded read, a verdict.

2xx succeeds; 5xx, 429, timeouts, refusals and network errors are retried; 410 ends the delivery and
deactivates the subscription; every other status (other 4xx, and 3xx since redirects are never
followed) ends the delivery.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from phoneline.jobs.retry import parse_retry_after
from phoneline.net.outbound import OutboundRefused, open_stream, read_limited


class Verdict(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRYABLE = "retryable"
    FINAL = "final"
    GONE = "gone"  # 410: the receiver says this endpoint is gone for good


def verdict_for(status_code: int) -> Verdict:
    if 200 <= status_code < 300:
        return Verdict.SUCCEEDED
    if status_code == 410:
        return Verdict.GONE
    if status_code == 429 or status_code >= 500:
        return Verdict.RETRYABLE
    return Verdict.FINAL


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    latency_ms: float
    verdict: Verdict
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after_s: float | None = None
    # A timeout or connection failure: the endpoint did not answer at all (what the breaker counts).
    unreachable: bool = False


def _text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; anything undecodable is shown, not dropped.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def post(
    transport: httpx.AsyncBaseTransport,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes,
    started_at: datetime,
    allow_private: bool,
    timeout_s: float,
    max_response_bytes: int,
) -> AttemptResult:
    began = time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - began) * 1000

    try:
        # One deadline for the whole attempt: resolve, connect, send, and read what we keep.
        async with asyncio.timeout(timeout_s):
            async with open_stream(
                transport, "POST", url, allow_private=allow_private, headers=headers, content=body,
                what="target_url",
            ) as response:  # fmt: skip
                excerpt = await read_limited(response, max_response_bytes)
    except TimeoutError:
        return AttemptResult(
            started_at,
            elapsed_ms(),
            Verdict.RETRYABLE,
            error=f"timed out after {timeout_s:g} s",
            unreachable=True,
        )
    except OutboundRefused as refused:
        return AttemptResult(started_at, elapsed_ms(), Verdict.RETRYABLE, error=f"refused: {refused.message}")
    except httpx.HTTPError as failure:
        detail = str(failure) or type(failure).__name__
        return AttemptResult(
            started_at, elapsed_ms(), Verdict.RETRYABLE, error=f"network error: {detail}", unreachable=True
        )
    verdict = verdict_for(response.status_code)
    error = None
    if 300 <= response.status_code < 400:
        error = f"redirect to {response.headers.get('location', '?')} not followed"
    return AttemptResult(
        started_at,
        elapsed_ms(),
        verdict,
        status_code=response.status_code,
        error=error,
        response_excerpt=_text(excerpt),
        retry_after_s=parse_retry_after(response.headers.get("retry-after"), started_at),
    )
