"""Standard photos (DOMAIN.md "Standard photos"): the clinic's protocol of views, the checklist of
which views each visit still lacks, and the comparison of a view's baseline photo with a later
one. Comparisons are only ever between photos of the same view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ObjectDoesNotExist

from .models import ClinicalPhoto, Patient, PhotoProtocolView, PhotoView

# What a photo's caption needs in one query: its visit, the course and the version injected.
CAPTION_RELATIONS = ("session__plan", "session__record__formulation_version__formulation")


def protocol_views() -> list[PhotoProtocolView]:
    return list(PhotoProtocolView.objects.filter(required=True))


@dataclass(frozen=True)
class PhotoCaption:
    taken_on: date
    session_label: str  # "Session 3 of 6", "Assessment visit", or "" outside a session
    version: str  # the formulation version injected at that session, if signed


def photo_caption(photo: ClinicalPhoto) -> PhotoCaption:
    session = photo.session
    if session is None:
        return PhotoCaption(taken_on=photo.taken_on, session_label="", version="")
    if session.sequence and session.plan is not None:
        label = f"Session {session.sequence} of {session.plan.number_of_sessions}"
    else:
        label = f"{session.get_kind_display()} visit"
    try:
        record = session.record
    except ObjectDoesNotExist:
        record = None
    version = str(record.formulation_version) if record and record.signed_at else ""
    return PhotoCaption(taken_on=photo.taken_on, session_label=label, version=version)


@dataclass
class VisitChecklist:
    """One visit (a session the patient attended, or a day photos were taken without one)."""

    day: date
    session: object | None  # sessions.models.TreatmentSession
    taken: dict[str, ClinicalPhoto] = field(default_factory=dict)  # view -> latest photo
    missing: list[PhotoProtocolView] = field(default_factory=list)
    # (protocol view, its photo or None), in protocol order: one cell per column.
    cells: list[tuple[PhotoProtocolView, ClinicalPhoto | None]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def photo_checklist(
    *, patient: Patient, user, visits: list[tuple[date, object]]
) -> tuple[list[PhotoProtocolView], list[VisitChecklist]]:
    """(the protocol's views, each visit newest first with the views taken and missing).

    `visits` are (local date, session) pairs of the sessions the patient attended; a photo
    belongs to its session, or, when stored without one, to the visit on its day. Two queries
    whatever the number of visits."""
    views = protocol_views()
    photos = ClinicalPhoto.objects.visible_to(user).current().filter(patient=patient)
    by_session: dict[int, list[ClinicalPhoto]] = {}
    by_day: dict[date, list[ClinicalPhoto]] = {}
    for photo in photos.order_by("taken_on", "pk"):
        if photo.session_id is not None:
            by_session.setdefault(photo.session_id, []).append(photo)
        else:
            by_day.setdefault(photo.taken_on, []).append(photo)
    rows: list[VisitChecklist] = []
    days_with_session = set()
    for day, session in visits:
        days_with_session.add(day)
        taken = by_session.get(session.pk, []) + by_day.get(day, [])
        rows.append(VisitChecklist(day=day, session=session, taken=_by_view(taken)))
    for day, taken in by_day.items():
        if day not in days_with_session:
            rows.append(VisitChecklist(day=day, session=None, taken=_by_view(taken)))
    for row in rows:
        row.missing = [view for view in views if view.view not in row.taken]
        row.cells = [(view, row.taken.get(view.view)) for view in views]
    rows.sort(key=lambda row: row.day, reverse=True)
    return views, rows


def _by_view(photos: list[ClinicalPhoto]) -> dict[str, ClinicalPhoto]:
    # Ordered by date, so a view retaken the same visit shows its latest photo.
    return {photo.view: photo for photo in photos if photo.view}


@dataclass
class PhotoComparison:
    view: str
    label: str
    photos: list[ClinicalPhoto]  # every current photo of the view, oldest first
    baseline: ClinicalPhoto | None
    later: ClinicalPhoto | None

    @property
    def baseline_caption(self) -> PhotoCaption | None:
        return photo_caption(self.baseline) if self.baseline else None

    @property
    def later_caption(self) -> PhotoCaption | None:
        return photo_caption(self.later) if self.later else None


def photo_comparison(
    *, patient: Patient, user, view: str, later_id: int | None = None
) -> PhotoComparison:
    """The view's baseline (its first current photo) beside a later photo of the same view:
    the one asked for, or else the latest. One query."""
    if view not in PhotoView.values:
        raise ValueError(f"Unknown photo view {view!r}.")
    photos = list(
        ClinicalPhoto.objects.visible_to(user)
        .current()
        .filter(patient=patient, view=view)
        .select_related(*CAPTION_RELATIONS)
        .order_by("taken_on", "pk")
    )
    baseline = photos[0] if photos else None
    later_photos = photos[1:]
    later = next((p for p in later_photos if p.pk == later_id), None) if later_id else None
    if later is None and later_photos:
        later = later_photos[-1]
    return PhotoComparison(
        view=view, label=PhotoView(view).label, photos=photos, baseline=baseline, later=later
    )


def photo_views_taken(*, patient: Patient, user) -> list[tuple[str, str, int]]:
    """(view, label, number of photos) for every view the patient has current photos of."""
    counts: dict[str, int] = {}
    views = (
        ClinicalPhoto.objects.visible_to(user)
        .current()
        .filter(patient=patient)
        .exclude(view="")
        .values_list("view", flat=True)
    )
    for view in views:
        counts[view] = counts.get(view, 0) + 1
    return [(view.value, view.label, counts[view.value]) for view in PhotoView if view in counts]
