"""phoneline: the phone-line slice of the Linq Partner API v3, self-hosted."""

__version__ = "0.1.0"
