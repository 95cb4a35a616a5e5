"""Exact conformance with Linq, through the official client: E.164 only, effects in both forms, media
parts that always carry an integer size, parts with `reactions`, and `reply_to.part_index` kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import linq
import pytest

from tests.chats.conftest import text

LINE = "+12025550101"
RECIPIENT = "+12025550199"
PHOTO = b"\xff\xd8\xff\xe0" + b"\x00" * 5000


class Files(BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {
        "/files/photo.jpg": ("image/jpeg", PHOTO),
        "/files/sticker.webp": ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 "),
        "/files/tool.exe": ("application/octet-stream", b"MZ" + b"\x00" * 100),
        "/files/renamed.png": ("application/octet-stream", b"OggS" + b"\x00" * 100),
        # Linq: media by URL are at most 10 MB (larger files go through POST /v3/attachments).
        "/files/big.jpg": ("image/jpeg", PHOTO + b"\x00" * (10 * 1024 * 1024)),
    }
    hits: dict[str, int] = {}

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        found = self.files.get(self.path)
        if found is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", found[0])
        self.end_headers()
        self.wfile.write(found[1])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    Files.hits = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("loose", ["4155558804", "+1 (415) 555-8804", "1-415-555-8804", "+1415555880"])
def test_partner_api_refuses_numbers_that_are_not_e164_naming_the_value(account, stored, loose):
    acme = account(LINE)
    before = stored()
    with pytest.raises(linq.BadRequestError) as to_refused:
        acme.client.chats.create(from_=LINE, to=[loose], message=text("Hi"))
    with pytest.raises(linq.BadRequestError) as from_refused:
        acme.client.chats.create(from_=loose, to=[RECIPIENT], message=text("Hi"))
    for refused in (to_refused, from_refused):
        assert refused.value.body["code"] == 1002
        assert loose in refused.value.body["message"]
    assert stored() == before


def test_operator_cli_stays_lenient(cli, make_partner):
    partner = make_partner("Acme")
    assigned = cli("lines", "assign", "(202) 555-0101", "--partner", partner.id)
    assert assigned["phone_number"] == LINE


@pytest.mark.parametrize(
    ("effect", "stored_as"),
    [
        ({"type": "screen", "name": "confetti"}, ("screen", "confetti")),
        ({"name": "slam"}, ("bubble", "slam")),
        ({"screen_effect": "fireworks"}, ("screen", "fireworks")),
        ({"bubble_effect": "invisible"}, ("bubble", "invisible")),
    ],
)
def test_effects_in_the_clients_and_the_spec_examples_forms_are_stored_and_returned(
    account, effect, stored_as
):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    sent = acme.client.chats.messages.send(chat.id, message=text("Party", effect=effect)).message
    assert (sent.effect.type, sent.effect.name) == stored_as
    again = acme.client.messages.retrieve(sent.id)
    assert (again.effect.type, again.effect.name) == stored_as


@pytest.mark.parametrize(
    "effect",
    [
        {"type": "screen", "name": "glitter"},
        {"screen_effect": "slam"},
        {"type": "bubble", "name": "confetti"},
        {"screen_effect": "confetti", "bubble_effect": "slam"},
        {},
        {"effect": "confetti"},
    ],
)
def test_unknown_or_contradictory_effects_are_400_and_store_nothing(account, stored, effect):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.chats.messages.send(chat.id, message=text("Party", effect=effect))
    # Inside `message`: invalid message content (1004), like every other field of a message.
    assert refused.value.body["code"] == 1004
    assert stored() == before


def test_media_by_url_is_fetched_once_so_size_type_and_name_are_known(account, files):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    url = f"{files}/files/photo.jpg"
    sent = acme.client.chats.messages.send(
        chat.id, message={"parts": [{"type": "text", "value": "Look"}, {"type": "media", "url": url}]}
    ).message
    part = sent.parts[1]
    assert (part.filename, part.mime_type, part.size_bytes) == ("photo.jpg", "image/jpeg", len(PHOTO))
    assert Files.hits == {"/files/photo.jpg": 1}
    # Stored in the attachment store: the part (and the carrier) points at phoneline's copy.
    assert part.url != url and httpx.get(part.url).content == PHOTO
    listed = acme.client.chats.messages.list(chat.id).messages
    assert all(isinstance(p.size_bytes, int) for m in listed for p in m.parts if p.type == "media")


@pytest.mark.parametrize("path", ["/files/sticker.webp", "/files/tool.exe", "/files/renamed.png"])
def test_media_types_linq_does_not_send_are_400_and_store_nothing(account, files, stored, path):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with pytest.raises(linq.BadRequestError):
        acme.client.chats.messages.send(
            chat.id, message={"parts": [{"type": "media", "url": f"{files}{path}"}]}
        )
    assert stored() == before


def test_media_by_url_over_10_mb_is_400_pointing_at_attachments(account, files, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.chats.messages.send(
            chat.id, message={"parts": [{"type": "media", "url": f"{files}/files/big.jpg"}]}
        )
    assert "10 MB" in refused.value.body["message"] and "/v3/attachments" in refused.value.body["message"]
    assert stored() == before


def test_parts_carry_reactions_and_reply_to_keeps_its_part_index(account):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    reply = acme.client.chats.messages.send(
        chat.id, message=text("Re", reply_to={"message_id": chat.message.id, "part_index": 0})
    ).message
    assert reply.reply_to.message_id == chat.message.id and reply.reply_to.part_index == 0
    stored = acme.client.messages.retrieve(reply.id)
    assert stored.reply_to.part_index == 0
    assert stored.parts[0].reactions == []
    raw = acme.client.chats.messages.with_raw_response.list(chat.id).json()
    assert all(part["reactions"] == [] for message in raw["messages"] for part in message["parts"])
