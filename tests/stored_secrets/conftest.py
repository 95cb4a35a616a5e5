"""Servers with chosen settings (another PHONELINE_SECRET_KEY, none at all) beside the shared one."""

from tests.webhooks.conftest import start_app  # noqa: F401
