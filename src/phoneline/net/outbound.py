"""The one rule for every URL phoneline calls out to: webhook targets, Slack, PagerDuty, fetched media.

A URL must be https and its host must resolve only to public unicast addresses (no loopback, private,
link-local, multicast or otherwise reserved range), so a partner cannot point us at our own network.
PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS=true (development, tests) lifts both parts of the rule.

The rule is checked when a URL is saved (`validate_url`) and again on every request (`open_stream`),
because DNS can change between the two. `open_stream` connects to the very address it checked (the
host name still goes in `Host` and in TLS SNI/certificate checks), so a second, different DNS answer
cannot slip in between the check and the connection. Redirects are never followed (requests go straight
to an httpx transport, which has no notion of them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx

from phoneline.api.errors import InvalidParameter

MAX_URL_LENGTH = 2048


class OutboundRefused(InvalidParameter):
    """A URL the outbound rule refuses; a 400 in the Linq envelope when it comes from a request."""


class UnresolvableHost(OutboundRefused):
    """The host name does not resolve (now). At delivery time this is a network error, retried."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    # `is_global` excludes loopback, RFC 1918, link-local, CGNAT, documentation and reserved ranges;
    # some multicast ranges count as "global", so multicast is excluded explicitly.
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool, what: str = "URL") -> httpx.URL:
    """Syntax half of the rule: an absolute https URL with a host (http too when private is allowed)."""
    text = (url or "").strip()
    if not text:
        raise OutboundRefused(f"The {what} is empty.")
    if len(text) > MAX_URL_LENGTH:
        raise OutboundRefused(f"The {what} is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL:
        raise OutboundRefused(f"The {what} '{text}' is not a valid URL.") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise OutboundRefused(f"The {what} must use https.")
    if not parsed.host:
        raise OutboundRefused(f"The {what} '{text}' has no host.")
    return parsed


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def resolve_public(host: str, port: int, *, what: str = "URL") -> list[str]:
    """Every address `host` resolves to, all of them public; else OutboundRefused."""
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise UnresolvableHost(f"The {what}'s host '{host}' does not resolve.") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise UnresolvableHost(f"The {what}'s host '{host}' does not resolve.")
    refused = [address for address in addresses if not is_public_address(address)]
    if refused:
        raise OutboundRefused(
            f"The {what}'s host '{host}' resolves to a loopback, private, link-local or multicast "
            f"address ({refused[0]}); only public addresses are allowed."
        )
    return addresses


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def validate_url(url: str, *, allow_private: bool, what: str = "URL") -> str:
    """The whole rule at save time; returns the URL as it will be called."""
    parsed = check_url(url, allow_private=allow_private, what=what)
    if not allow_private:
        await resolve_public(parsed.host, _port(parsed), what=what)
    return str(parsed)


@asynccontextmanager
async def open_stream(
    transport: httpx.AsyncBaseTransport,
    method: str,
    url: str,
    *,
    allow_private: bool,
    headers: Mapping[str, str],
    content: bytes,
    what: str = "URL",
) -> AsyncIterator[httpx.Response]:
    """Send a request under the rule and yield the response with its body still unread.

    Straight to the transport: no client means no redirect following, no cookies, no auth, and none
    of a client's per-request overhead. The caller bounds the time (asyncio.timeout) and decides how
    much of the body to read.
    """
    parsed = check_url(url, allow_private=allow_private, what=what)
    request_url = parsed
    extensions: dict[str, str] = {}
    request_headers = dict(headers)
    if not allow_private:
        address = (await resolve_public(parsed.host, _port(parsed), what=what))[0]
        if _ip_literal(parsed.host) is None:
            # Connect to the checked address; name the host in Host and in TLS (SNI + certificate).
            request_url = parsed.copy_with(host=address)
            request_headers["Host"] = parsed.netloc.decode("ascii")
            extensions["sni_hostname"] = parsed.host
    request = httpx.Request(
        method, request_url, headers=request_headers, content=content, extensions=extensions
    )
    response = await transport.handle_async_request(request)
    try:
        yield response
    finally:
        await response.aclose()


def transport(*, connections: int, ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """A transport for `open_stream`. Share one SSL context between transports: building one loads the
    CA bundle (~80 ms)."""
    return httpx.AsyncHTTPTransport(
        verify=ssl_context or httpx.create_ssl_context(),
        # Proxies from the environment would defeat connecting to the address we checked.
        trust_env=False,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body; the rest is never read (the connection is dropped)."""
    kept = bytearray()
    async for chunk in response.aiter_raw():  # raw: we send Accept-Encoding: identity
        kept.extend(chunk[: limit - len(kept)])
        if len(kept) >= limit:
            break
    return bytes(kept)
