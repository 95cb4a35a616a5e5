"""Servers with settings of their own (the operator's override off)."""

from tests.webhooks.conftest import start_app

__all__ = ["start_app"]
