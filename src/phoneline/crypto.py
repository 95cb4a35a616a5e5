"""Encryption at rest for secrets we must be able to read back (webhook signing secrets, Slack URLs,
PagerDuty routing keys), keyed by PHONELINE_SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256) with its key derived from the operator's secret by HKDF-SHA256, so any
string of reasonable length works as PHONELINE_SECRET_KEY and each use gets its own key.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from phoneline.errors import ServiceUnavailable
from phoneline.settings import Settings

# Changing this label makes every stored secret unreadable: it is part of the key.
SECRETS_KEY_INFO = b"phoneline/secrets-at-rest/v1"


class SecretKeyMissing(ServiceUnavailable):
    message = "PHONELINE_SECRET_KEY is not set; the operator must set it before secrets can be stored."


class SecretUnreadable(Exception):
    """A stored secret does not decrypt: PHONELINE_SECRET_KEY changed since it was written."""


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRETS_KEY_INFO).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key is None:
            raise SecretKeyMissing()
        return cls(settings.secret_key.get_secret_value())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret does not decrypt with PHONELINE_SECRET_KEY") from None
