"""Servers with chosen settings and webhook receivers, for the tests that follow a line across owners."""

from tests.webhooks.conftest import make_receiver, start_app  # noqa: F401
