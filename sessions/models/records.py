"""The clinician's signed session record: injections, lots used, addenda, and adverse events.

Kept apart from the appointment so permissions follow the data: reception books
TreatmentSession rows and never reads these (DESIGN.md decision 2)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from clinic.models import Clinic
from formulations.models import LotStatus
from patients.models import ScalpZone

from .booking import Device, Technique, TreatmentSession


class SignedRecordError(ValidationError):
    """A change to a signed session record (or one of its rows) was refused."""


SIGNED_MESSAGE = (
    "Record of session {session} is signed, so it can never be changed or deleted. "
    "Add a signed addendum to correct it."
)


UNCLEARED_MESSAGE = (
    "Record of session {session} cannot be signed: no cleared clearance is frozen with it. "
    "Sign it on the record page, which checks the screening, re-check, consent, lots and "
    "spacing at the moment of signing."
)


def signing_refusal(record: "SessionRecord") -> str:
    """Why `record` may not carry a signature yet ("" when it may): signing needs a cleared
    clearance snapshot, and every lot named usable on the session's day. The last guard after
    record_sign, for writes that skip it (on PostgreSQL a trigger says the same)."""
    if record.pk is None:
        return UNCLEARED_MESSAGE.format(session=record.session_id)
    cleared = ClearanceSnapshot.objects.filter(record_id=record.pk, cleared=True).exists()
    if not cleared:
        return UNCLEARED_MESSAGE.format(session=record.session_id)
    clinic = Clinic.current()
    starts_at = TreatmentSession.objects.values_list("starts_at", flat=True).get(
        pk=record.session_id
    )
    day = starts_at.astimezone(clinic.zone if clinic else None).date()
    for use in RecordLot.objects.filter(record_id=record.pk).select_related("lot"):
        lot = use.lot
        if lot.status != LotStatus.AVAILABLE:
            return (
                f"Lot {lot.lot_number} is {lot.get_status_display().lower()}: it must not be used."
            )
        if lot.usable_until < day:
            return f"Lot {lot.lot_number} expired on {lot.usable_until:%d %b %Y}."
    return ""


class SessionRecordQuerySet(models.QuerySet):
    def signed(self):
        return self.filter(signed_at__isnull=False)

    def _refuse_signed(self):
        first = self.signed().first()
        if first is not None:
            raise SignedRecordError(SIGNED_MESSAGE.format(session=first.session_id))

    def update(self, **kwargs):
        self._refuse_signed()
        if kwargs.get("signed_at") is not None:
            for record in self:
                why = signing_refusal(record)
                if why:
                    raise SignedRecordError(why)
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if any(obj.signed_at is not None for obj in objs):
            # A record is created unsigned; its clearance is frozen before the signature.
            raise SignedRecordError(UNCLEARED_MESSAGE.format(session=objs[0].session_id))
        return super().bulk_create(objs, *args, **kwargs)

    def delete(self):
        self._refuse_signed()
        return super().delete()

    update.queryset_only = True
    delete.queryset_only = True


class SessionRecord(models.Model):
    """The clinician's record of what was injected. Once signed it never changes (addenda only)."""

    session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, related_name="record"
    )
    clinician = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="session_records"
    )
    formulation_version = models.ForeignKey(
        "formulations.FormulationVersion", on_delete=models.PROTECT, related_name="session_records"
    )
    # DOMAIN.md: pain is the most frequent adverse effect; scored 0–10 at every session.
    pain_score = models.PositiveSmallIntegerField(
        "pain score (0–10)", null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    prp_given = models.BooleanField("PRP given", default=False)
    microneedling_given = models.BooleanField(default=False)
    lllt_given = models.BooleanField("LLLT given", default=False)
    topical_minoxidil_given = models.BooleanField(default=False)
    aftercare_given = models.TextField(
        blank=True, help_text="The aftercare advice given, as the patient received it."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = SessionRecordQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        permissions = [
            ("sign_sessionrecord", "Can sign a session record"),
            ("view_outcome_report", "Can see outcomes per formulation version"),
            ("export_research_data", "Can export de-identified research data"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(pain_score__isnull=True) | Q(pain_score__lte=10),
                name="record_pain_score_0_to_10",
                violation_error_message="Pain is scored from 0 to 10.",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False),
                name="record_signed_has_signer",
            ),
        ]
        indexes = [
            # The dashboard's "records left unsigned": the few still open, not all history.
            models.Index(
                fields=["clinician", "created_at"],
                condition=Q(signed_at__isnull=True),
                name="record_unsigned_idx",
            ),
        ]

    def __str__(self):
        return f"Record of session {self.session_id}"

    def save(self, *args, **kwargs):
        if self._stored_signed():
            raise SignedRecordError(SIGNED_MESSAGE.format(session=self.session_id))
        if self.signed_at is not None:
            why = signing_refusal(self)
            if why:
                raise SignedRecordError(why)
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_signed():
            raise SignedRecordError(SIGNED_MESSAGE.format(session=self.session_id))
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _stored_signed(self) -> bool:
        return (
            self.pk is not None
            and type(self).objects.filter(pk=self.pk, signed_at__isnull=False).exists()
        )


class RecordPartQuerySet(models.QuerySet):
    """Rows that belong to a record (injections, lots) freeze with it."""

    def _refuse_signed(self):
        first = self.filter(record__signed_at__isnull=False).values("record__session_id").first()
        if first is not None:
            raise SignedRecordError(SIGNED_MESSAGE.format(session=first["record__session_id"]))

    def update(self, **kwargs):
        self._refuse_signed()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_signed()
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        # A generator would be used up by the check below and nothing would be inserted.
        objs = list(objs)
        record_ids = {obj.record_id for obj in objs}
        signed = SessionRecord.objects.filter(pk__in=record_ids, signed_at__isnull=False).first()
        if signed is not None:
            raise SignedRecordError(SIGNED_MESSAGE.format(session=signed.session_id))
        return super().bulk_create(objs, *args, **kwargs)

    update.queryset_only = True
    delete.queryset_only = True


class RecordPart(models.Model):
    record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="+")

    objects = RecordPartQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._refuse_if_signed()
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_signed()
        return super().delete(*args, **kwargs)

    def _refuse_if_signed(self):
        # The record as stored, and for an existing row the record it belonged to: moving a row
        # out of a signed record is a change to that record.
        record_ids = {self.record_id}
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("record_id", flat=True)
            record_ids.update(stored)
        signed = SessionRecord.objects.filter(pk__in=record_ids, signed_at__isnull=False).first()
        if signed is not None:
            raise SignedRecordError(SIGNED_MESSAGE.format(session=signed.session_id))


class Injection(RecordPart):
    """What went into one scalp zone at one session."""

    record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="injections")
    zone = models.CharField(max_length=20, choices=ScalpZone.choices)
    volume_ml = models.DecimalField(
        "volume (mL)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    # DOMAIN.md: depth within 1–4 mm, never deeper than 4 mm.
    depth_mm = models.DecimalField(
        "depth (mm)",
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("4"))],
    )
    technique = models.CharField(max_length=20, choices=Technique.choices)
    device = models.CharField(max_length=20, choices=Device.choices)
    needle_gauge = models.PositiveSmallIntegerField(
        "needle gauge (G)",
        null=True,
        blank=True,
        validators=[MinValueValidator(25), MaxValueValidator(34)],
        help_text="Empty for needle-free devices. Mesotherapy usually uses 30–32 G.",
    )
    injection_points = models.PositiveSmallIntegerField(
        "injection points", validators=[MinValueValidator(1)]
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["record", "zone"], name="injection_zone_once"),
            models.CheckConstraint(
                condition=Q(depth_mm__gte=1) & Q(depth_mm__lte=4),
                name="injection_depth_within_1_to_4_mm",
                violation_error_message="Injection depth must be between 1 and 4 mm, never deeper.",
            ),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="injection_volume_positive"),
        ]

    def __str__(self):
        return f"{self.volume_ml} mL into {self.get_zone_display()}"


class RecordLot(RecordPart):
    """A lot used in a session record, with the volume injected from it."""

    record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="lots_used")
    lot = models.ForeignKey("formulations.Lot", on_delete=models.PROTECT, related_name="usages")
    volume_ml = models.DecimalField(
        "volume injected (mL)",
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    units_used = models.PositiveSmallIntegerField(
        "vials or ampoules opened",
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Taken off the lot's stock when the record is signed.",
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "lot"], name="lot_once_per_record"),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="record_lot_volume_positive"),
        ]

    def __str__(self):
        return f"{self.volume_ml} mL from lot {self.lot_id}"


class RecordAddendum(models.Model):
    """A signed, timestamped correction or addition to a signed record. Never edited."""

    record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    signed_at = models.DateTimeField()
    signed_by = models.ForeignKey("clinic.StaffProfile", on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["signed_at", "pk"]
        verbose_name_plural = "record addenda"

    def __str__(self):
        return f"Addendum {self.pk} to record {self.record_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise SignedRecordError("A signed addendum cannot be changed; add another one.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise SignedRecordError("A signed addendum cannot be deleted.")


class ClearanceSnapshotQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise SignedRecordError(SNAPSHOT_MESSAGE)

    def delete(self):
        raise SignedRecordError(SNAPSHOT_MESSAGE)

    update.queryset_only = True
    delete.queryset_only = True


SNAPSHOT_MESSAGE = "A clearance snapshot is frozen with its record and never changes."


class ClearanceSnapshot(models.Model):
    """What a record was signed against (sessions/clearance.py, run under lock at signing): the
    screening and re-check, every finding with its override (who, when, why) or dermatologist's
    clearance, the rule versions, the consents, the lots as they stood, and the spacing. Written
    in the signing transaction before the signature; never changed."""

    record = models.OneToOneField(
        SessionRecord, on_delete=models.PROTECT, related_name="clearance_snapshot"
    )
    cleared = models.BooleanField()
    taken_at = models.DateTimeField()
    data = models.JSONField()

    objects = ClearanceSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"Clearance of record {self.record_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise SignedRecordError(SNAPSHOT_MESSAGE)
        if SessionRecord.objects.filter(pk=self.record_id, signed_at__isnull=False).exists():
            raise SignedRecordError(SNAPSHOT_MESSAGE)
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise SignedRecordError(SNAPSHOT_MESSAGE)


class AdverseEventType(models.TextChoices):
    # DOMAIN.md "Adverse events"; pain is the most frequent (Saceda-Corralo 2022).
    PAIN = "pain", "Pain"
    ERYTHEMA = "erythema", "Erythema (redness)"
    OEDEMA = "oedema", "Oedema (swelling)"
    PRURITUS = "pruritus", "Pruritus (itch)"
    BRUISING = "bruising", "Bruising"
    BLEEDING = "bleeding", "Bleeding"
    HEADACHE = "headache", "Headache"
    INFECTION = "infection", "Infection"
    FOLLICULITIS = "folliculitis", "Folliculitis"
    ABSCESS = "abscess", "Abscess"
    GRANULOMA = "granuloma", "Granulomatous reaction"
    HYPERSENSITIVITY = "hypersensitivity", "Hypersensitivity / anaphylaxis"
    SHOCK_LOSS = "shock_loss", "Patchy or paradoxical hair loss (shock loss)"
    SCARRING = "scarring", "Scarring"
    PIGMENTATION = "pigmentation", "Pigmentation"
    ATROPHY = "atrophy", "Atrophy"


class AdverseEventSeverity(models.TextChoices):
    # As FHIR AdverseEvent.severity.
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Causality(models.TextChoices):
    UNRELATED = "unrelated", "Unrelated"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


class AdverseEventOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    RESOLVING = "resolving", "Resolving"
    ONGOING = "ongoing", "Ongoing"
    SEQUELAE = "sequelae", "Resolved with sequelae"


class AdverseEvent(models.Model):
    """Harm after a session, recorded then or later (a patient calls back). The outcome may be
    updated as the event evolves; history keeps every version. Voided, never deleted."""

    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="adverse_events"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="adverse_events"
    )
    event_type = models.CharField("type", max_length=20, choices=AdverseEventType.choices)
    onset_on = models.DateField("onset date")
    severity = models.CharField(max_length=10, choices=AdverseEventSeverity.choices)
    # CTCAE v5: 1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death.
    ctcae_grade = models.PositiveSmallIntegerField(
        "CTCAE grade", validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    serious = models.BooleanField(
        default=False,
        help_text="Death, life-threatening, hospitalisation, disability or other serious harm.",
    )
    causality = models.CharField(max_length=10, choices=Causality.choices)
    outcome = models.CharField(max_length=10, choices=AdverseEventOutcome.choices)
    lot = models.ForeignKey(
        "formulations.Lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adverse_events",
        help_text="The lot involved, if known.",
    )
    notes = models.TextField(blank=True)
    # CONSORT Harms 2022 asks for the events that led to stopping treatment.
    treatment_stopped = models.BooleanField(
        "treatment stopped because of this event",
        default=False,
        help_text="The patient's course was stopped (by them or the clinician) because of it.",
    )
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A serious event reaches clinic admins on their dashboard until one of them acknowledges it,
    # and by email from the beat sweep, which sets this when it claims the event (outbox-style:
    # a broker outage delays the email, never loses it).
    admins_notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-onset_on", "-pk"]
        permissions = [
            ("view_safety_report", "Can see adverse events per formulation version and lot"),
            ("acknowledge_adverseevent", "Can acknowledge a serious adverse event"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ctcae_grade__gte=1) & Q(ctcae_grade__lte=5),
                name="adverse_event_ctcae_1_to_5",
                violation_error_message="CTCAE grades run from 1 to 5.",
            ),
            # CTCAE grade 4 (life-threatening) and 5 (death) are serious by definition.
            models.CheckConstraint(
                condition=Q(ctcae_grade__lte=3) | Q(serious=True),
                name="adverse_event_grade_4_5_serious",
                violation_error_message="A CTCAE grade 4 or 5 event is serious by definition.",
            ),
        ]

    def __str__(self):
        return f"Adverse event {self.pk}"


# Reminders (issue 7) --------------------------------------------------------------------------
# DESIGN.md decision 1: reminders are rows in an outbox, created, moved and cancelled in the
# same transaction as the booking change; beat sweeps them out. Never Celery eta/countdown.
