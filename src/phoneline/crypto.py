"""Encryption at rest for secrets we must be able to read back (webhook signing secrets, Slack URLs,
PagerDuty routing keys), keyed by PHONELINE_SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256) with its key derived from the operator's secret by HKDF-SHA256, so any
string of reasonable length works as a key and each use gets its own key. PHONELINE_SECRET_KEY may list
several keys, comma-separated: the first encrypts, every one decrypts (cryptography's MultiFernet), so a
new key can be put in front, `phoneline secrets rotate` run, and the old key dropped later
(docs/operations.md, "Rotating PHONELINE_SECRET_KEY").
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from phoneline.errors import ServiceUnavailable
from phoneline.settings import Settings

# Changing this label makes every stored secret unreadable: it is part of the key.
SECRETS_KEY_INFO = b"phoneline/secrets-at-rest/v1"


class SecretKeyMissing(ServiceUnavailable):
    message = "PHONELINE_SECRET_KEY is not set; the operator must set it before secrets can be stored."


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with any key in PHONELINE_SECRET_KEY."""


def secret_keys(settings: Settings) -> list[str]:
    """The keys of PHONELINE_SECRET_KEY in order (first encrypts); empty when it is unset."""
    if settings.secret_key is None:
        return []
    return [key.strip() for key in settings.secret_key.get_secret_value().split(",") if key.strip()]


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRETS_KEY_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    def __init__(self, keys: str | Sequence[str]) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise SecretKeyMissing()
        self._current = _fernet(keys[0])
        self._all = MultiFernet([self._current, *(_fernet(key) for key in keys[1:])])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(secret_keys(settings))

    def encrypt(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret does not decrypt with PHONELINE_SECRET_KEY") from None

    def readable(self, token: str) -> bool:
        try:
            self._all.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def is_current(self, token: str) -> bool:
        """Whether the token is already encrypted with the first key (nothing to rotate)."""
        try:
            self._current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the first key; SecretUnreadable if no key reads it."""
        try:
            return self._all.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret does not decrypt with PHONELINE_SECRET_KEY") from None
