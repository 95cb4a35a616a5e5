"""The one-minute demo: built-in local sinks and a driver that shows the whole system working."""
