"""Database plumbing: declarative base, engines and sessions, Alembic migrations."""
