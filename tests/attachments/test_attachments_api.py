"""Attachments through the official client, on the embedded (local) store and on S3 (moto in server
mode): declare, PUT the bytes with the required headers, read the state, send by attachment_id, delete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import linq
import pytest
from linq import LinqAPIV3
from pydantic import SecretStr

from tests.chats.conftest import text
from tests.conftest import free_port, wait_until

LINE = "+12025550101"
RECIPIENT = "+12025550199"
PHOTO = b"\xff\xd8\xff\xe0" + b"\x01" * 4096
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 2000


def declare_and_upload(client: LinqAPIV3, body: bytes, filename: str, content_type: str) -> str:
    created = client.attachments.create(filename=filename, content_type=content_type, size_bytes=len(body))
    assert created.http_method == "PUT"
    put = httpx.put(created.upload_url, content=body, headers=created.required_headers)
    assert put.status_code == 200, put.text
    return created.attachment_id


def test_upload_state_send_and_delete_on_the_local_store(account):
    acme = account(LINE)
    created = acme.client.attachments.create(
        filename="photo.jpg", content_type="image/jpeg", size_bytes=len(PHOTO)
    )
    assert created.required_headers == {"Content-Type": "image/jpeg"}
    assert acme.client.attachments.retrieve(created.attachment_id).status == "pending"
    assert httpx.put(created.upload_url, content=PHOTO, headers=created.required_headers).status_code == 200
    # The upload URL is good for one upload.
    assert httpx.put(created.upload_url, content=PHOTO, headers=created.required_headers).status_code == 404
    state = acme.client.attachments.retrieve(created.attachment_id)
    assert (state.status, state.size_bytes, state.filename, state.content_type) == (
        "complete", len(PHOTO), "photo.jpg", "image/jpeg",
    )  # fmt: skip
    assert httpx.get(state.download_url).content == PHOTO

    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    sent = acme.client.chats.messages.send(
        chat.id, message={"parts": [{"type": "media", "attachment_id": created.attachment_id}]}
    ).message
    assert (sent.parts[0].size_bytes, sent.parts[0].mime_type) == (len(PHOTO), "image/jpeg")

    acme.client.attachments.delete(created.attachment_id)
    with pytest.raises(linq.NotFoundError) as gone:
        acme.client.attachments.retrieve(created.attachment_id)
    assert gone.value.body["code"] == 2003


def test_a_voice_memo_by_attachment_id(account):
    acme = account(LINE)
    memo = declare_and_upload(acme.client, WAV, "memo.wav", "audio/x-wav")
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    sent = acme.client.chats.send_voicememo(chat.id, attachment_id=memo).voice_memo
    assert (sent.voice_memo.size_bytes, sent.voice_memo.filename) == (len(WAV), "memo.wav")


def test_an_upload_of_another_size_is_refused_and_the_attachment_stays_pending(account, stored):
    acme = account(LINE)
    created = acme.client.attachments.create(
        filename="photo.jpg", content_type="image/jpeg", size_bytes=len(PHOTO)
    )
    for body in (PHOTO[:-1], PHOTO + b"x"):
        refused = httpx.put(created.upload_url, content=body, headers=created.required_headers)
        assert refused.status_code == 400 and refused.json()["success"] is False
    assert acme.client.attachments.retrieve(created.attachment_id).status == "pending"
    chat = acme.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    before = stored()
    with pytest.raises(linq.NotFoundError) as not_ready:
        acme.client.chats.messages.send(
            chat.id, message={"parts": [{"type": "media", "attachment_id": created.attachment_id}]}
        )
    assert not_ready.value.body["code"] == 2007
    assert stored() == before


@pytest.mark.parametrize(
    ("filename", "content_type", "size", "code"),
    [
        ("sticker.webp", "image/webp", 10, 5004),
        ("logo.svg", "image/svg+xml", 10, 5004),
        ("song.flac", "audio/flac", 10, 5004),
        ("song.ogg", "audio/ogg", 10, 5004),
        ("setup.exe", "application/octet-stream", 10, 5004),
        ("tool.exe", "application/pdf", 10, 5004),
        ("big.mp4", "video/mp4", 100 * 1024 * 1024 + 1, 5005),
    ],
)
def test_refused_types_and_sizes(account, filename, content_type, size, code):
    acme = account(LINE)
    with pytest.raises(linq.BadRequestError) as refused:
        acme.client.attachments.create(filename=filename, content_type=content_type, size_bytes=size)
    assert refused.value.body["code"] == code


def test_another_partners_attachment_is_404(account):
    acme = account(LINE)
    attachment = declare_and_upload(acme.client, PHOTO, "photo.jpg", "image/jpeg")
    globex = account(name="Globex")
    with pytest.raises(linq.NotFoundError):
        globex.client.attachments.retrieve(attachment)
    with pytest.raises(linq.NotFoundError):
        globex.client.attachments.delete(attachment)


# --- S3 (moto in server mode) ---------------------------------------------------------------------


@pytest.fixture
def s3_endpoint(tmp_path: Path) -> Iterator[str]:
    moto = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    port = free_port()
    process = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(endpoint).status_code < 500
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=30, what="moto server")
        assert httpx.put(f"{endpoint}/phoneline-test").status_code == 200
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_presigned_uploads_to_an_s3_store(serve, s3_endpoint, make_partner, cli):
    live = serve(
        attachment_store_url="s3://phoneline-test/attachments",
        attachment_s3_endpoint=s3_endpoint,
        attachment_s3_region="us-east-1",
        attachment_s3_access_key_id="test",
        attachment_s3_secret_access_key=SecretStr("test"),
    )
    partner = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", partner.id)
    client = LinqAPIV3(api_key=partner.api_key, base_url=live.api_url, max_retries=0)

    created = client.attachments.create(
        filename="photo.jpg", content_type="image/jpeg", size_bytes=len(PHOTO)
    )
    assert created.upload_url.startswith(f"{s3_endpoint}/phoneline-test/attachments/")
    assert "X-Amz-Signature" in created.upload_url
    assert client.attachments.retrieve(created.attachment_id).status == "pending"
    assert httpx.put(created.upload_url, content=PHOTO, headers=created.required_headers).status_code == 200
    state = client.attachments.retrieve(created.attachment_id)
    assert state.status == "complete" and httpx.get(state.download_url).content == PHOTO

    chat = client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat
    sent = client.chats.messages.send(
        chat.id, message={"parts": [{"type": "media", "attachment_id": created.attachment_id}]}
    ).message
    assert sent.parts[0].size_bytes == len(PHOTO)

    wrong = client.attachments.create(filename="b.jpg", content_type="image/jpeg", size_bytes=len(PHOTO))
    assert httpx.put(wrong.upload_url, content=PHOTO[:10], headers=wrong.required_headers).status_code == 200
    assert client.attachments.retrieve(wrong.attachment_id).status == "failed"

    client.attachments.delete(created.attachment_id)
    assert httpx.get(state.download_url).status_code == 404
