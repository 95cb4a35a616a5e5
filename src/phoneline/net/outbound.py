"""The one rule for every URL phoneline calls out to or hands on: webhook targets, Slack, PagerDuty,
voice memos it fetches, and media parts by URL it passes to the carrier.

A URL must be https and its host must resolve only to public unicast addresses (no loopback, private,
link-local, multicast or otherwise reserved range), so a partner cannot point us at our own network.
An IPv6 address that carries an IPv4 one (IPv4-mapped and -translated, IPv4-compatible, NAT64, 6to4,
Teredo) is judged by that IPv4 address: `[64:ff9b::a9fe:a9fe]` is the metadata address behind NAT64.
PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS=true (development, tests) lifts both parts of the rule.

The rule is checked when a URL is saved (`validate_url`) and again on every request (`open_stream`),
because DNS can change between the two. `open_stream` resolves once, checks that answer, and the
connection goes to the very address it checked: the transports `transport()` builds connect through a
network backend that takes the address from `open_stream`, so no second DNS lookup happens between the
check and the connection (DNS rebinding). The URL keeps its host name, so `Host`, TLS SNI, certificate
verification and the connection pool's key all use the name, never the address: a connection verified
for one host is never reused for another that happens to resolve to the same address. Redirects are
never followed (requests go straight to an httpx transport, which has no notion of them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from phoneline.errors import InvalidParameter
from phoneline.inputs import MAX_URL_LENGTH


class OutboundRefused(InvalidParameter):
    """A URL the outbound rule refuses; a 400 in the Linq envelope when it comes from a request."""


class UnresolvableHost(OutboundRefused):
    """The host name does not resolve (now). At delivery time this is a network error, retried."""


# IPv6 forms whose last 32 bits are an IPv4 address the packet ends up at: NAT64's well-known prefix
# (RFC 6052), IPv4-translated (RFC 2765) and IPv4-compatible (deprecated, RFC 4291).
_LAST_32_BITS_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("::/96"),
)
# Local-use NAT64 (RFC 8215): not globally reachable, and where it embeds IPv4 depends on the
# operator's prefix length, so nothing in it is allowed (Python before 3.12 calls it global).
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _public_ipv4(ip: ipaddress.IPv4Address) -> bool:
    # `is_global` excludes loopback, RFC 1918, link-local, CGNAT, documentation and reserved ranges;
    # some multicast ranges count as "global", so multicast is excluded explicitly.
    return ip.is_global and not ip.is_multicast


def is_public_address(address: str) -> bool:
    """Whether `address` is globally routable; an IPv6 form that embeds IPv4 is decided on that IPv4."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return _public_ipv4(ip)
    if ip in _LOCAL_NAT64:
        return False
    if ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is loopback, whatever its spelling
        return _public_ipv4(ip.ipv4_mapped)
    if ip.sixtofour is not None:  # 2002::/16
        return _public_ipv4(ip.sixtofour)
    if ip.teredo is not None:  # 2001::/32: reached through the server, delivered to the client
        server, client = ip.teredo
        return _public_ipv4(server) and _public_ipv4(client)
    for network in _LAST_32_BITS_IPV4:
        if ip in network:
            return _public_ipv4(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
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


@dataclass(frozen=True)
class _Pin:
    """The address `open_stream` checked for (host, port): the only place that request may connect."""

    host: str
    port: int
    address: str


# Set by open_stream around one request; read by the network backend in the same task when the pool
# opens a new connection for that request.
_PIN: ContextVar[_Pin | None] = ContextVar("phoneline_outbound_pin", default=None)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections to the pinned address instead of resolving the host name again."""

    def __init__(self) -> None:
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _PIN.get()
        if pin is not None:
            if (host, port) != (pin.host, pin.port):
                raise httpcore.ConnectError(f"{host}:{port} is not the host that was checked")
            host = pin.address
        return await self._network.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("outbound requests never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


@asynccontextmanager
async def open_stream(
    transport: httpx.AsyncBaseTransport,
    method: str,
    url: str,
    *,
    allow_private: bool,
    headers: Mapping[str, str],
    content: bytes = b"",
    what: str = "URL",
) -> AsyncIterator[httpx.Response]:
    """Send a request under the rule and yield the response with its body still unread.

    `transport` must come from `transport()` (else nothing pins the address). Straight to the
    transport: no client means no redirect following, no cookies, no auth, and none of a client's
    per-request overhead. The caller bounds the time (asyncio.timeout) and decides how much of the
    body to read.
    """
    parsed = check_url(url, allow_private=allow_private, what=what)
    pin = None
    if not allow_private:
        port = _port(parsed)
        address = (await resolve_public(parsed.host, port, what=what))[0]
        pin = _Pin(parsed.raw_host.decode("ascii"), port, address)
    request = httpx.Request(method, parsed, headers=headers, content=content)
    token = _PIN.set(pin)
    try:
        response = await transport.handle_async_request(request)
    finally:
        _PIN.reset(token)
    try:
        yield response
    finally:
        await response.aclose()


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with a connection pool that connects where `open_stream` pinned."""

    def __init__(self, *, connections: int, ssl_context: ssl.SSLContext) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        # Proxies from the environment would defeat connecting to the address we checked.
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        # httpx has no parameter for the network backend; this is the pool it builds, plus ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(),
        )


def transport(*, connections: int, ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """A transport for `open_stream`. Share one SSL context between transports: building one loads the
    CA bundle (~80 ms)."""
    return PinnedTransport(connections=connections, ssl_context=ssl_context or httpx.create_ssl_context())


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body; the rest is never read (the connection is dropped)."""
    kept = bytearray()
    async for chunk in response.aiter_raw():  # raw: we send Accept-Encoding: identity
        kept.extend(chunk[: limit - len(kept)])
        if len(kept) >= limit:
            break
    return bytes(kept)
