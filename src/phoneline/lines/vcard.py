"""The vCard behind `vcf_url` of `GET /v3/available_number`, and the signed, time-limited link to it.

The link carries the partner and the lines in order (the chosen line first, then the backups), signed
with PHONELINE_SECRET_KEY (or, without one, a key made at start: links then last as long as the
process) and valid for `vcard_link_ttl_s`. Whoever holds it may fetch the card: it is meant to be
shared with recipients, and it shows only what the card shows anyway (name, photo, numbers).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import vobject
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from phoneline.errors import NotFound
from phoneline.lines.models import ContactCard, Line
from phoneline.settings import Settings

SALT = "phoneline.vcard"
VCARD_PATH = "/api/partner/v3/vcards"


@dataclass(frozen=True)
class CardLink:
    partner_id: uuid.UUID
    line_ids: list[uuid.UUID]


class VcardSigner:
    def __init__(self, settings: Settings) -> None:
        key = settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_hex(32)
        self._serializer = URLSafeTimedSerializer(key, salt=SALT)
        self.ttl_s = settings.vcard_link_ttl_s
        self.base_url = settings.base_url

    def link(self, partner_id: uuid.UUID, lines: list[Line]) -> str:
        token = self._serializer.dumps({"p": str(partner_id), "l": [str(line.id) for line in lines]})
        return f"{self.base_url}{VCARD_PATH}/{token}.vcf"

    def read(self, token: str) -> CardLink:
        """The link's content; an expired, altered or foreign token is 404 (nothing to enumerate)."""
        try:
            data = self._serializer.loads(token.removesuffix(".vcf"), max_age=self.ttl_s)
            return CardLink(uuid.UUID(data["p"]), [uuid.UUID(line_id) for line_id in data["l"]])
        except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
            raise NotFound("This vCard link has expired or is not valid; ask for a fresh one.") from None


def render_vcard(lines: list[Line], card: ContactCard | None) -> str:
    """vCard 3.0: the card's name and photo, the first line as the preferred TEL, the rest as backups."""
    vcard = vobject.vCard()
    first, last = (card.first_name, card.last_name or "") if card else (lines[0].number, "")
    vcard.add("n").value = vobject.vcard.Name(family=last, given=first)
    vcard.add("fn").value = f"{first} {last}".strip()
    for index, line in enumerate(lines):
        tel = vcard.add("tel")
        tel.value = line.number
        tel.type_param = ["CELL", "pref"] if index == 0 else ["CELL"]
    if card is not None and card.image_url:
        photo = vcard.add("photo")
        photo.value = card.image_url
        photo.value_param = "URI"
    return str(vcard.serialize())
