"""Chat and line health: scoring, dwell, audits and reports. The method is docs/reputation.md."""
