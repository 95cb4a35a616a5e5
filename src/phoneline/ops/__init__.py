"""Operational endpoints: liveness and Prometheus metrics."""
