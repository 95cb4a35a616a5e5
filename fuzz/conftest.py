"""`make fuzz` reuses the test suite's fixtures: a live server on a fresh database, the CLI."""

from tests.conftest import *  # noqa: F403 (fixtures)
