"""Phone lines: provisioning, ownership, status, forwarding and their history."""
