"""Outbound network access: the rule every URL phoneline calls must pass."""
