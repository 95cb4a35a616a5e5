"""Webhook subscriptions, the transactional outbox, signing and delivery."""
