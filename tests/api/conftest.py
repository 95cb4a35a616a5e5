"""The sending fixtures (partners with lines, stored row counts) and servers with settings of their own."""

from tests.chats.conftest import account, stored
from tests.webhooks.conftest import start_app

__all__ = ["account", "start_app", "stored"]
