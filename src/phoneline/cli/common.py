"""What every `phoneline` command shares: `--json`, one clear error line, one committing session.

Every command takes `--json` and then prints exactly one JSON document on stdout; errors go to stderr
with a non-zero exit. Commands call the same services as the admin API; the command is the boundary
that commits.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.errors import ApiError
from phoneline.settings import Settings

T = TypeVar("T")
CLI_ACTOR = "operator:cli"

JsonOption = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


class CommandFailed(Exception):
    """A command-level failure that is not an API error (e.g. the database is unreachable)."""


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def require_free_port(host: str, port: int, *, what: str = "--port or PHONELINE_PORT") -> None:
    """Refuse, before anything says it is serving, an address another process already listens on.

    The probe binds as uvicorn does (SO_REUSEADDR: a port left in TIME_WAIT is fine, one with a
    listener is not) and lets go at once.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandFailed(
                    f"{host}:{port} is already in use (another phoneline, or another server?); "
                    f"choose another port with {what}."
                ) from None
            raise CommandFailed(f"cannot listen on {host}:{port}: {error.strerror}") from None


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Turn domain errors into one clear sentence on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except ApiError as error:
            fail(error.message)
        except CommandFailed as error:
            fail(str(error))
        except OSError as error:
            fail(f"cannot reach the database: {error}")

    return wrapper


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open a session, run the work, commit once."""
    settings = Settings()

    async def main() -> T:
        engine = create_engine(settings, pool=False)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _jsonable(doc: Any) -> Any:
    if isinstance(doc, BaseModel):
        return doc.model_dump(mode="json")
    if isinstance(doc, list):
        return [_jsonable(item) for item in doc]
    if isinstance(doc, dict):
        return {key: _jsonable(value) for key, value in doc.items()}
    return doc


def output(doc: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    data = _jsonable(doc)
    if as_json:
        typer.echo(json.dumps(data, default=str))
    elif human is not None:
        typer.echo(human(data))
    else:
        typer.echo(_pretty(data))


def _pretty(data: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                parts.append(f"{pad}{key}:\n{_pretty(value, indent + 1)}")
            else:
                parts.append(f"{pad}{key}: {value}")
        return "\n".join(parts)
    if isinstance(data, list):
        return "\n".join(f"{pad}- {_pretty(item, indent + 1).lstrip()}" for item in data) or f"{pad}(none)"
    return f"{pad}{data}"


def line_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no lines)"
    header = f"{'NUMBER':<16} {'STATUS':<8} {'HEALTH':<9} {'TYPE':<9} {'PARTNER':<36} FORWARDING"
    body = [
        f"{r['phone_number']:<16} {r['status']:<8} {r['health_status']['status']:<9} {r['line_type']:<9} "
        f"{r['partner_id'] or '-':<36} {r['forwarding_number'] or '-'}"
        for r in rows
    ]
    return "\n".join([header, *body])


def public_base_url() -> str:
    return Settings().base_url


def redacted_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
