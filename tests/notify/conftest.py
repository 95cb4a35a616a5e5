"""The webhook tests' servers and receivers serve here too (the Slack and PagerDuty fakes are receivers)."""

from tests.webhooks.conftest import make_receiver, start_app

__all__ = ["make_receiver", "start_app"]
