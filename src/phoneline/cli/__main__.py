"""`python -m phoneline.cli`."""

from phoneline.cli import app

app()
