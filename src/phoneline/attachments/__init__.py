"""Attachments: files uploaded through POST /v3/attachments, on an object store (obstore)."""
