"""The attachment store: where uploaded files and fetched media live, through `obstore`.

`PHONELINE_ATTACHMENT_STORE_URL` picks it: empty (the embedded default) is a directory on this machine
(`PHONELINE_ATTACHMENT_DIR`, default `./var/attachments`), and phoneline serves the signed upload and
download URLs itself; `s3://bucket[/prefix]` is any S3-compatible store (`PHONELINE_ATTACHMENT_S3_*`
for the endpoint, region and keys), whose presigned URLs the clients use directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from obstore.store import LocalStore, S3Store

from phoneline.errors import NotFound
from phoneline.settings import Settings

UPLOAD_TTL = timedelta(minutes=15)
DOWNLOAD_TTL = timedelta(hours=1)
LOCAL_PATH = "/api/partner/v3/attachment_files"


class AttachmentStore:
    """One per process. `is_local`: phoneline itself serves the upload and download URLs."""

    def __init__(self, settings: Settings, signing_key: str) -> None:
        url = settings.attachment_store_url.strip()
        self.is_local = not url
        self.base_url = settings.base_url
        self._links = URLSafeTimedSerializer(signing_key, salt="phoneline.attachment")
        self.store: Any
        if self.is_local:
            directory = Path(settings.attachment_dir).resolve()
            directory.mkdir(parents=True, exist_ok=True)
            self.store = LocalStore(directory, mkdir=True)
        else:
            s3: dict[str, Any] = {}
            if settings.attachment_s3_endpoint:
                s3["endpoint"] = settings.attachment_s3_endpoint
                s3["virtual_hosted_style_request"] = False
            if settings.attachment_s3_region:
                s3["region"] = settings.attachment_s3_region
            if settings.attachment_s3_access_key_id:
                s3["access_key_id"] = settings.attachment_s3_access_key_id
            if settings.attachment_s3_secret_access_key is not None:
                s3["secret_access_key"] = settings.attachment_s3_secret_access_key.get_secret_value()
            allow_http = settings.attachment_s3_endpoint.startswith("http://")
            self.store = S3Store.from_url(url, client_options={"allow_http": allow_http}, **s3)

    # --- URLs ------------------------------------------------------------------------------------

    async def upload_url(self, key: str) -> str:
        if self.is_local:
            return f"{self.base_url}{LOCAL_PATH}/{self._links.dumps(['put', key])}"
        return str(await obstore.sign_async(self.store, "PUT", key, UPLOAD_TTL))

    async def download_url(self, key: str) -> str:
        if self.is_local:
            return f"{self.base_url}{LOCAL_PATH}/{self._links.dumps(['get', key])}"
        return str(await obstore.sign_async(self.store, "GET", key, DOWNLOAD_TTL))

    def read_link(self, token: str, action: str) -> str:
        """The object key a local link signs for `action` (put | get); else 404."""
        ttl = UPLOAD_TTL if action == "put" else DOWNLOAD_TTL
        try:
            signed_action, key = self._links.loads(token, max_age=int(ttl.total_seconds()))
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            raise NotFound("This attachment link has expired or is not valid.") from None
        if signed_action != action:
            raise NotFound("This attachment link has expired or is not valid.")
        return str(key)

    # --- bytes -----------------------------------------------------------------------------------

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> int:
        """Write the chunks as the object `key`; returns how many bytes were written."""
        written = 0
        async with obstore.open_writer_async(self.store, key) as writer:
            async for chunk in chunks:
                if chunk:
                    await writer.write(chunk)
                    written += len(chunk)
        return written

    @contextlib.asynccontextmanager
    async def writer(self, key: str) -> AsyncIterator[Callable[[bytes], Awaitable[None]]]:
        """A `write(chunk)` for the object `key`; if the body raises, what was written is removed."""
        file = obstore.open_writer_async(self.store, key)

        async def write(chunk: bytes) -> None:
            await file.write(chunk)

        try:
            yield write
        except BaseException:
            with contextlib.suppress(Exception):
                await file.close()
            await self.delete(key)
            raise
        await file.close()

    async def size_of(self, key: str) -> int | None:
        """The object's size, or None when nothing is stored under `key`."""
        try:
            meta = await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return None
        return int(meta["size"])

    async def read(self, key: str) -> AsyncIterator[bytes]:
        result = await obstore.get_async(self.store, key)
        async for chunk in result.stream():
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self.store, key)
        except FileNotFoundError:
            return
