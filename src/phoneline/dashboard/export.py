"""CSV exports of the dashboard's and console's lists: one row at a time, so an export of any size
streams. Cells that a spreadsheet would run as a formula are quoted as text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable

from starlette.responses import StreamingResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Phone numbers start with "+": keep them, but as text a spreadsheet will not evaluate.
    if text.startswith(FORMULA_STARTS) and not text[1:].isdigit():
        return "'" + text
    return text


def csv_row(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(value) for value in values])
    return buffer.getvalue()


def csv_response(rows: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
