"""`phoneline secrets`: re-encrypt every stored secret with the first PHONELINE_SECRET_KEY, check the keys."""

from __future__ import annotations

from typing import Any

import typer

from phoneline.cli.common import JsonOption, command, output, run_in_session
from phoneline.settings import Settings
from phoneline.stored_secrets import service

app = typer.Typer(help="Secrets stored encrypted with PHONELINE_SECRET_KEY.", no_args_is_help=True)


def _rotated(doc: dict[str, Any]) -> str:
    lines = [
        f"re-encrypted {doc['rotated']} secret(s) with the first of {doc['keys']} key(s); "
        f"{doc['already_current']} already were, {doc['unreadable']} decrypt with no key"
    ]
    lines += [
        f"  {c['column']}: {c['rotated']} rotated, {c['already_current']} current, {c['unreadable']} unreadable"
        for c in doc["columns"]
    ]
    return "\n".join(lines)


@app.command()
@command
def rotate(as_json: bool = JsonOption) -> None:
    """Re-encrypt every stored secret with the first key of PHONELINE_SECRET_KEY (comma-separated list).

    Put the new key first, keep the old ones after it, run this, then drop the old keys
    (docs/operations.md). Secrets no key decrypts are left untouched and counted as unreadable.
    """
    settings = Settings()
    report = run_in_session(lambda session: service.rotate_secrets(session, settings))
    output(report, as_json, _rotated)


@app.command()
@command
def check(as_json: bool = JsonOption) -> None:
    """Fail (exit 1) if secrets are stored and PHONELINE_SECRET_KEY decrypts none of them."""
    settings = Settings()
    result = run_in_session(lambda session: service.verify_secret_keys(session, settings))
    output(
        result,
        as_json,
        lambda d: (
            "PHONELINE_SECRET_KEY reads the stored secrets" if d["readable"] else "no secrets are stored"
        ),
    )
