"""Partner accounts and their API keys."""
