"""Voice memos by URL: fetched once, checked to be audio of at most 10 MB, reported by name, type, size."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import linq
import pytest

from phoneline.chats.media import sniff_audio
from tests.chats.conftest import text

LINE = "+12025550101"
RECIPIENT = "+12025550199"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 2000
TEN_MB = 10 * 1024 * 1024


class Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {
        "/memo.wav": WAV,
        "/notes.txt": b"just some text, not audio",
        "/huge.mp3": b"ID3" + b"\x00" * TEN_MB,
    }
    hits: dict[str, int] = {}
    # /slow.wav answers only once released: a download the test holds open.
    slow_started = threading.Event()
    slow_release = threading.Event()

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/slow.wav":
            self.slow_started.set()
            self.slow_release.wait(30)
            self.path = "/memo.wav"
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()  # no Content-Length: the size limit must hold while streaming
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    Files.hits = {}
    Files.slow_started.clear()
    Files.slow_release.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_voice_memo_is_fetched_once_and_described(account, files):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    sent = acme.client.chats.send_voicememo(chat.id, voice_memo_url=f"{files}/memo.wav").voice_memo
    assert sent.voice_memo.filename == "memo.wav"
    assert sent.voice_memo.mime_type == "audio/wav"
    assert sent.voice_memo.size_bytes == len(WAV)
    assert sent.from_ == LINE and sent.to == [RECIPIENT]
    assert sent.chat.id == chat.id
    assert Files.hits == {"/memo.wav": 1}
    stored = acme.client.messages.retrieve(sent.id)
    assert stored.parts[0].type == "media" and stored.parts[0].mime_type == "audio/wav"

    # The stored attachment can be sent again by id, as a voice memo or a media part, without
    # another download.
    again = acme.client.chats.send_voicememo(chat.id, attachment_id=sent.voice_memo.id).voice_memo
    assert again.voice_memo.id == sent.voice_memo.id
    part = {"type": "media", "attachment_id": sent.voice_memo.id}
    media = acme.client.chats.messages.send(chat.id, message={"parts": [part]}).message
    assert (media.parts[0].id, media.parts[0].size_bytes) == (sent.voice_memo.id, len(WAV))
    assert Files.hits == {"/memo.wav": 1}
    with pytest.raises(linq.BadRequestError):
        acme.client.chats.messages.send(
            chat.id, message={"parts": [{"type": "media", "attachment_id": chat.id}]}
        )


def test_a_slow_download_holds_up_no_other_request(account, files):
    # On SQLite a process has one database connection; the download must not keep it.
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    quick = acme.client.with_options(timeout=5, max_retries=0)
    with ThreadPoolExecutor(1) as pool:
        memo = pool.submit(acme.client.chats.send_voicememo, chat.id, voice_memo_url=f"{files}/slow.wav")
        assert Files.slow_started.wait(10)
        try:
            sent = quick.chats.messages.send(chat.id, message=text("Meanwhile")).message
            assert quick.messages.retrieve(sent.id).id == sent.id
        finally:
            Files.slow_release.set()
        assert memo.result(timeout=30).voice_memo.voice_memo.filename == "slow.wav"


def test_a_line_flagged_during_the_download_refuses_the_memo(account, files, cli, stored):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with ThreadPoolExecutor(1) as pool:
        memo = pool.submit(acme.client.chats.send_voicememo, chat.id, voice_memo_url=f"{files}/slow.wav")
        assert Files.slow_started.wait(10)
        try:
            cli("lines", "flag", LINE, "--reason", "carrier complaint")
        finally:
            Files.slow_release.set()
        with pytest.raises(linq.PermissionDeniedError) as refused:
            memo.result(timeout=30)
    assert refused.value.body["code"] == 2027
    assert Files.hits == {"/slow.wav": 1}
    # Nothing of the memo; the one new event is the flag's phone_number.status_updated.
    assert stored() == {**before, "outbox_events": before["outbox_events"] + 1}


@pytest.mark.parametrize("path", ["/notes.txt", "/huge.mp3", "/missing.mp3"])
def test_not_audio_too_large_or_unreachable_is_a_400_and_stores_nothing(account, files, stored, path):
    acme = account(LINE)
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.chats.send_voicememo(chat.id, voice_memo_url=f"{files}{path}")
    assert refused.value.body["code"] == 1005
    assert stored() == before


def test_a_stray_from_must_be_the_chats_line(account, files):
    acme = account(LINE, "+12025550102")
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    url = f"{files}/memo.wav"
    assert acme.client.chats.send_voicememo(chat.id, voice_memo_url=url, extra_body={"from": LINE}).voice_memo
    with pytest.raises(linq.BadRequestError):
        acme.client.chats.send_voicememo(chat.id, voice_memo_url=url, extra_body={"from": "+12025550102"})
    with pytest.raises(linq.PermissionDeniedError) as refused:
        acme.client.chats.send_voicememo(chat.id, voice_memo_url=url, extra_body={"from": "+12025550177"})
    assert refused.value.body["code"] == 2006


@pytest.mark.parametrize(
    ("head", "mime_type"),
    [
        (b"ID3\x03\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"\xff\xf1\x50\x80", "audio/aac"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/x-m4a"),
        (b"caff\x00\x01", "audio/x-caf"),
        (b"RIFF\x00\x00\x00\x00WAVE", "audio/wav"),
        (b"FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
        (b"#!AMR\n", "audio/amr"),
        (b"%PDF-1.7", None),
        (b"<html>", None),
    ],
)
def test_audio_is_recognised_by_its_content(head, mime_type):
    assert sniff_audio(head) == mime_type
