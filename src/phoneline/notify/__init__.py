"""Partner alert channels ("API Tooling"): Slack messages and PagerDuty pages about line changes."""
