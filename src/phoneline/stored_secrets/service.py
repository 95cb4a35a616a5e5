"""Rotating PHONELINE_SECRET_KEY, and the check `serve` and `worker` run before they start.

`rotate_secrets` re-encrypts every stored secret with the first key (docs/operations.md, "Rotating
PHONELINE_SECRET_KEY"). `verify_secret_keys` refuses a key set that reads none of what is stored: such a
process would start fine and then fail every delivery and alert, and 500 on the settings pages.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.crypto import SecretBox, SecretKeyMissing, secret_keys
from phoneline.errors import ServiceUnavailable
from phoneline.settings import Settings
from phoneline.stored_secrets import repository
from phoneline.stored_secrets.repository import ENCRYPTED_COLUMNS

PAGE = 500


class SecretKeysDoNotMatch(ServiceUnavailable):
    """Stored secrets exist and the configured keys read none of them."""


class ColumnCounts(BaseModel):
    column: str
    rotated: int = 0
    already_current: int = 0
    unreadable: int = 0


class RotationReport(BaseModel):
    keys: int
    rotated: int
    already_current: int
    unreadable: int
    columns: list[ColumnCounts]


class KeyCheck(BaseModel):
    # Secrets looked at before the answer was clear, and whether one of them decrypted.
    stored: int
    readable: bool


async def rotate_secrets(session: AsyncSession, settings: Settings) -> RotationReport:
    """Re-encrypt every stored secret with the first key. Secrets no key reads are left as they are and
    counted as unreadable (nothing stored is lost)."""
    box = SecretBox.from_settings(settings)
    columns = []
    for column in ENCRYPTED_COLUMNS:
        counts = ColumnCounts(column=column.name)
        after: uuid.UUID | None = None
        while page := await repository.tokens_page(session, column, after, PAGE):
            for row_id, token in page:
                if box.is_current(token):
                    counts.already_current += 1
                elif not box.readable(token):
                    counts.unreadable += 1
                elif await repository.replace_token(session, column, row_id, token, box.rotate(token)):
                    counts.rotated += 1
            after = page[-1][0]
        columns.append(counts)
    return RotationReport(
        keys=len(secret_keys(settings)),
        rotated=sum(c.rotated for c in columns),
        already_current=sum(c.already_current for c in columns),
        unreadable=sum(c.unreadable for c in columns),
        columns=columns,
    )


async def verify_secret_keys(session: AsyncSession, settings: Settings) -> KeyCheck:
    """Raise SecretKeysDoNotMatch if secrets are stored and PHONELINE_SECRET_KEY reads none of them.

    A key set that reads some of them passes (the rest are reported by `phoneline secrets rotate`).
    Stops at the first readable secret, so a healthy start costs one query per column.
    """
    keys = secret_keys(settings)
    box = SecretBox(keys) if keys else None
    stored = 0
    for column in ENCRYPTED_COLUMNS:
        after: uuid.UUID | None = None
        while page := await repository.tokens_page(session, column, after, PAGE):
            stored += len(page)
            if box is not None and any(box.readable(token) for _, token in page):
                return KeyCheck(stored=stored, readable=True)
            after = page[-1][0]
    if stored and box is None:
        raise SecretKeysDoNotMatch(
            f"PHONELINE_SECRET_KEY is not set, but {stored} stored secret(s) need it; "
            "set it to the key they were saved with."
        )
    if stored:
        raise SecretKeysDoNotMatch(
            f"PHONELINE_SECRET_KEY decrypts none of the {stored} stored secret(s); put the key they were "
            "saved with in the list (comma-separated) and run `phoneline secrets rotate`."
        )
    return KeyCheck(stored=0, readable=False)


__all__ = ["SecretKeyMissing", "SecretKeysDoNotMatch", "rotate_secrets", "verify_secret_keys"]
