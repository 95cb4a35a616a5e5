"""Reputation scenarios reuse the webhook, sending and bridge fixtures: servers with chosen settings, real
receivers, partners with lines, and a fake carrier gateway."""

from tests.chats.conftest import account  # noqa: F401
from tests.transport.conftest import gateway, serve  # noqa: F401
from tests.webhooks.conftest import make_receiver, start_app, subscribe  # noqa: F401
