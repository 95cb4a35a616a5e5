"""Dashboard and console log-ins: server-side session records and the failed-log-in throttle."""
