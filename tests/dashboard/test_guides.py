"""The guides tell the truth: /guides/errors is the server's own error table, and every `doc_url`
phoneline hands out lands on an anchor that exists."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

import phoneline
from phoneline import errors
from phoneline.chats.schemas import chat_health
from phoneline.lines.models import HealthStatus
from phoneline.lines.schemas import health_doc_url
from tests.conftest import LiveServer


class GuidePage(HTMLParser):
    """The ids on a page, and the (code, HTTP, meaning) rows of an error table."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.rows: list[list[str]] = []
        self._cells: list[str] | None = None
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "tr":
            self._cells = []
        elif tag == "td" and self._cells is not None:
            self._cells.append("")
            self._in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False
        elif tag == "tr" and self._cells:
            self.rows.append([cell.strip() for cell in self._cells])
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._in_cell and self._cells:
            self._cells[-1] += data


def parsed(client: httpx.Client, path: str) -> GuidePage:
    response = client.get(path)
    assert response.status_code == 200, path
    page = GuidePage()
    page.feed(response.text)
    return page


def every_error_class() -> set[type[errors.ApiError]]:
    for module in pkgutil.walk_packages(phoneline.__path__, "phoneline."):
        if ".alembic" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    pending, found = [errors.ApiError], set()
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_the_errors_guide_is_the_servers_table(http: httpx.Client) -> None:
    page = parsed(http, "/guides/errors")
    table = sorted((int(code), int(status), meaning) for code, status, meaning in page.rows)
    assert table == errors.error_catalog()
    # The two answers the guide used to get wrong (405 and 409), as the server gives them now.
    assert (1005, 405) in {(code, status) for code, status, _ in table}
    assert (1005, 409) in {(code, status) for code, status, _ in table}
    # Every error any domain raises is a row of that table (subclasses only reword the message).
    pairs = {(code, status) for code, status, _ in table}
    for cls in every_error_class():
        assert (cls.code, cls.status) in pairs, cls


def test_the_server_answers_what_the_guide_says(http: httpx.Client) -> None:
    page = parsed(http, "/guides/errors")
    statuses = {(int(code), int(status)) for code, status, _ in page.rows}
    answers = [
        http.get("/api/partner/v3/phone_numbers"),  # no key
        http.get("/api/partner/v3/phone_numbers", headers={"Authorization": "Bearer pl_nope"}),
        http.delete("/api/partner/v3/phone_numbers"),  # method not allowed
    ]
    for answer in answers:
        error = answer.json()["error"]
        assert (error["code"], answer.status_code) in statuses
        assert urlsplit(error["doc_url"]).fragment == str(error["code"])


@dataclass(frozen=True)
class ChatRow:
    is_group: bool
    health_status: str
    health_updated_at: datetime
    opted_out_at: datetime | None


def test_every_doc_url_phoneline_hands_out_resolves_to_an_anchor(
    http: httpx.Client, live_server: LiveServer
) -> None:
    base = live_server.url
    now = datetime.now(UTC)
    handed_out = [errors.error_body(cls(), doc_base=base)["error"]["doc_url"] for cls in every_error_class()]
    handed_out += [health_doc_url(base, health.value) for health in HealthStatus]
    handed_out += [health_doc_url(base, status) for status in ("ACTIVE", "FLAGGED")]
    handed_out += [
        chat_health(ChatRow(False, health.value, now, None), base).doc_url for health in HealthStatus
    ]
    handed_out.append(chat_health(ChatRow(False, "HEALTHY", now, now), base).doc_url)  # opted out
    # And what a live answer carries.
    handed_out.append(http.get("/api/partner/v3/phone_numbers").json()["error"]["doc_url"])

    pages: dict[str, GuidePage] = {}
    for url in handed_out:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == base, url
        page = pages.setdefault(parts.path, parsed(http, parts.path))
        assert parts.fragment in page.ids, f"{url}: no element with id {parts.fragment!r}"
    assert set(pages) == {"/guides/errors", "/guides/phone-health"}
