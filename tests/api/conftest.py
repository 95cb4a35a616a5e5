"""The sending fixtures (partners with lines, stored row counts), servers with settings of their own,
and the browser."""

from tests.chats.conftest import account, stored
from tests.dashboard.conftest import browser, page
from tests.webhooks.conftest import start_app

__all__ = ["account", "browser", "page", "start_app", "stored"]
