"""Reputation scenarios reuse the webhook and sending fixtures: servers with chosen settings, real
receivers, and partners with lines."""

from tests.chats.conftest import account  # noqa: F401
from tests.webhooks.conftest import make_receiver, start_app, subscribe  # noqa: F401
