"""Signed patient links: one URL per appointment that lets the patient confirm, cancel or read
the ingredient sheet without an account.

The URL carries `public_id.nonce` signed with its own salt (so no other signed value of the
site can be replayed as a link). The row keeps the nonce, so a link can be killed before its
time: revoking stamps `revoked_at` and rotates the nonce. A link dies when its appointment
starts, and every link of a session is revoked when the session is cancelled or moved.
"""

import functools
import secrets
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import get_script_prefix, get_urlconf, reverse

from sessions.models import PatientLink, TreatmentSession

# "~" is unreserved in URLs and never appears in the signed value or the base64 signature,
# so the token needs no escaping in a path segment.
_LINK_SEP = "~"


class PatientLinkInvalid(Exception):
    """A link that can no longer be used. `kind` says why, for the page and the tests; the
    message never names the patient."""

    BAD_SIGNATURE = "bad_signature"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    NONCE_MISMATCH = "nonce_mismatch"
    EXPIRED = "expired"

    def __init__(self, kind: str, message: str, link: PatientLink | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        # Set only when the signature was valid: the page may then name the clinic's phone.
        self.link = link

    @property
    def is_gone(self) -> bool:
        """A link we did issue that has ended (410), as opposed to one we never issued (404)."""
        return self.kind in (self.REVOKED, self.EXPIRED, self.NONCE_MISMATCH)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=settings.PATIENT_LINK_SALT, sep=_LINK_SEP)


def patient_link_token(*, link: PatientLink) -> str:
    return _signer().sign(f"{link.public_id}.{link.nonce}")


def patient_link_url(*, link: PatientLink) -> str:
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _link_url_around_token(settings.SITE_URL, urlconf, get_script_prefix())
    return before + patient_link_token(link=link) + after


# A token is URL-safe base64, "." and "~", all of which reverse() leaves as they are.
_MARK_IN_PATH = "0.0~0~0"


@functools.lru_cache(maxsize=16)
def _link_url_around_token(site_url: str, urlconf, script_prefix: str) -> tuple[str, str]:
    """The link's absolute URL before and after its token, reversed once for each site, URLconf
    and script prefix (the arguments, so a test overriding one gets its own): the sweep builds
    one URL per message, and a reverse() cost twice the token's signing."""
    path = reverse("patient_link", kwargs={"token": _MARK_IN_PATH}, urlconf=urlconf)
    before, mark, after = (site_url.rstrip("/") + path).partition(_MARK_IN_PATH)
    if not mark:
        raise ImproperlyConfigured("The patient_link URL must carry its token unchanged.")
    return before, after


def patient_link_issue(*, session: TreatmentSession, now: datetime) -> str:
    """The absolute URL of the session's live link, creating the link if there is none.

    Reuses a live, unrevoked link so that every reminder of one appointment carries a working
    URL and the table does not grow with each message."""
    link = (
        PatientLink.objects.filter(session=session, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if link is None or link.expires_at != session.starts_at:
        # 72 random bits each, under a SHA-256 signature: short enough to keep a reminder SMS
        # with its link near one 160-character segment, far beyond guessing.
        link = PatientLink.objects.create(
            public_id=secrets.token_urlsafe(9),
            nonce=secrets.token_urlsafe(9),
            patient_id=session.patient_id,
            session=session,
            expires_at=session.starts_at,
        )
    return patient_link_url(link=link)


def patient_links_issue(*, sessions: list[TreatmentSession], now: datetime) -> None:
    """Give each session without a live link of its own one, in a single INSERT (the sweep does
    this for a whole batch before rendering it). The links land in `session.live_links`, which
    the sweep's claim prefetched."""
    missing: dict[int, list[TreatmentSession]] = {}
    for session in sessions:
        live = getattr(session, "live_links", [])
        if not any(link.expires_at == session.starts_at > now for link in live):
            missing.setdefault(session.pk, []).append(session)
    made = PatientLink.objects.bulk_create(
        PatientLink(
            public_id=secrets.token_urlsafe(9),
            nonce=secrets.token_urlsafe(9),
            patient_id=same[0].patient_id,
            session_id=pk,
            expires_at=same[0].starts_at,
        )
        for pk, same in missing.items()
    )
    for link in made:
        for session in missing[link.session_id]:
            session.live_links = [*getattr(session, "live_links", []), link]


def patient_link_resolve(*, token: str, now: datetime) -> PatientLink:
    """The live link a token names, or PatientLinkInvalid saying why not."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        raise PatientLinkInvalid(
            PatientLinkInvalid.BAD_SIGNATURE, "This link is not one the clinic sent."
        ) from None
    public_id, _, nonce = value.partition(".")
    link = (
        PatientLink.objects.select_related("session", "patient").filter(public_id=public_id).first()
    )
    if link is None:
        raise PatientLinkInvalid(
            PatientLinkInvalid.UNKNOWN, "This link is not one the clinic sent."
        )
    if link.revoked_at is not None:
        raise PatientLinkInvalid(
            PatientLinkInvalid.REVOKED,
            "This link has been replaced: the appointment was changed or cancelled.",
            link,
        )
    if not secrets.compare_digest(link.nonce, nonce):
        raise PatientLinkInvalid(
            PatientLinkInvalid.NONCE_MISMATCH, "This link has been replaced by a newer one.", link
        )
    if now >= link.expires_at:
        raise PatientLinkInvalid(
            PatientLinkInvalid.EXPIRED, "This link ended when the appointment started.", link
        )
    return link


def patient_link_revoke(*, link: PatientLink, now: datetime) -> PatientLink:
    """Kill one link now. The nonce rotates too, so an old URL stays dead even if the row is
    ever un-revoked by hand."""
    link.revoked_at = now
    link.nonce = secrets.token_urlsafe(24)
    link.save(update_fields=["revoked_at", "nonce"])
    return link


def patient_links_revoke_for_session(*, session: TreatmentSession, now: datetime) -> int:
    """Kill every live link of a session (it was cancelled or moved); returns how many.

    Called inside the booking change's transaction, so a rolled-back move keeps its links."""
    with transaction.atomic():
        links = list(
            PatientLink.objects.select_for_update().filter(session=session, revoked_at__isnull=True)
        )
        for link in links:
            patient_link_revoke(link=link, now=now)
    return len(links)


def patient_link_mark_used(*, link: PatientLink, now: datetime) -> None:
    """Note that the patient acted through the link (confirm, cancel); viewing is not noted."""
    PatientLink.objects.filter(pk=link.pk).update(last_used_at=now)
