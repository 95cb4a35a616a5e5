"""Typed domain events and the transactional outbox they are written to (low level: every domain may
import it). A producer builds an event class; webhooks and notify read its fields."""
