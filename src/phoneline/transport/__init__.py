"""Transports: whatever carries messages between phoneline and recipients.

`base.py` is the one interface; `simulator`, `sink` and `http_bridge` implement it. Everything a carrier
reports back (deliveries, failures, reads, inbound messages, line flags) enters through `ingest.py`.
"""
