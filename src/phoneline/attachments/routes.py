"""Partner API for attachments, and the local store's own upload and download endpoints.

`/v3/attachment_files/{token}` serves the embedded store only: the signed token is the credential
(no API key), PUT once within 15 minutes, GET for an hour. On S3 the clients use presigned URLs instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from phoneline.attachments import schemas, service
from phoneline.attachments.store import AttachmentStore
from phoneline.clock import SystemClock
from phoneline.dependencies import DbSession, get_runtime
from phoneline.errors import NotFound
from phoneline.partners.auth import Partner
from phoneline.runtime import Runtime

router = APIRouter(prefix="/v3", tags=["attachments"])


def attachment_store(request: Request) -> AttachmentStore:
    """One store per app (its local links are signed with PHONELINE_SECRET_KEY, or a key made once)."""
    store: AttachmentStore | None = getattr(request.app.state, "attachment_store", None)
    if store is None:
        settings = get_runtime(request).settings
        key = settings.secret_key.get_secret_value() if settings.secret_key else _process_key(request)
        store = request.app.state.attachment_store = AttachmentStore(settings, key)
    return store


def _process_key(request: Request) -> str:
    import secrets

    key: str = getattr(request.app.state, "attachment_link_key", "") or secrets.token_hex(32)
    request.app.state.attachment_link_key = key
    return key


@router.post(
    "/attachments", response_model=schemas.AttachmentCreatedOut, summary="Declare an attachment to upload"
)
async def create_attachment(
    body: schemas.AttachmentCreateIn, request: Request, partner: Partner, session: DbSession
) -> schemas.AttachmentCreatedOut:
    limit = get_runtime(request).settings.attachment_max_bytes
    return await service.create(
        session, attachment_store(request), partner.partner_id, body, now=SystemClock().now(), limit=limit
    )


@router.get(
    "/attachments/{attachment_id}", response_model=schemas.AttachmentOut, summary="An attachment's state"
)
async def get_attachment(
    attachment_id: str, request: Request, partner: Partner, session: DbSession
) -> schemas.AttachmentOut:
    store = attachment_store(request)
    return await service.describe(session, store, partner.partner_id, attachment_id, SystemClock().now())


@router.delete("/attachments/{attachment_id}", status_code=204, summary="Delete an attachment")
async def delete_attachment(
    attachment_id: str, request: Request, partner: Partner, session: DbSession
) -> Response:
    await service.delete(session, attachment_store(request), partner.partner_id, attachment_id)
    return Response(status_code=204)


@router.put("/attachment_files/{token}", include_in_schema=False)
async def upload_file(token: str, request: Request) -> Response:
    store = attachment_store(request)
    if not store.is_local:
        raise NotFound("Uploads go to the object store's presigned URL.")
    key = store.read_link(token, "put")
    runtime: Runtime = get_runtime(request)
    now = SystemClock().now()
    async with runtime.sessions() as session:
        attachment = await service.pending_by_key(session, key, now)
    # The bytes stream to the store outside any transaction.
    await service.receive_upload(store, attachment, request.headers.get("content-length"), request.stream())
    async with runtime.sessions() as session:
        row = await service.pending_by_key(session, key, now)
        row.status = service.COMPLETE
        await session.commit()
    return Response(status_code=200)


@router.get("/attachment_files/{token}", include_in_schema=False)
async def download_file(token: str, request: Request) -> Response:
    store = attachment_store(request)
    if not store.is_local:
        raise NotFound("Downloads come from the object store's presigned URL.")
    key = store.read_link(token, "get")
    if await store.size_of(key) is None:
        raise NotFound("This attachment is no longer stored.")
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        mime_type = await service.mime_type_of(session, key)
    return StreamingResponse(store.read(key), media_type=mime_type)
