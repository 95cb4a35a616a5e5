"""Dashboard form fields: bounded, and holding only text both databases can store (phoneline/inputs.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from pydantic import AfterValidator

from phoneline.inputs import MAX_HANDLE_LENGTH, MAX_TEXT_LENGTH, require_storable


def _storable(value: str) -> str:
    return require_storable(value, "the field")


# Large enough for the longest field, the production-lines list of the API Tooling page.
FormText = Annotated[str, Form(max_length=MAX_TEXT_LENGTH), AfterValidator(_storable)]
# A list's search box (digits of a number).
SearchText = Annotated[str, Query(max_length=MAX_HANDLE_LENGTH), AfterValidator(_storable)]
