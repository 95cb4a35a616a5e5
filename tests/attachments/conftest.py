"""The sending fixtures (partners with lines, row counts) and the test server factory, shared here."""

from tests.chats.conftest import account, stored
from tests.transport.conftest import serve

__all__ = ["account", "serve", "stored"]
