"""Treatment sessions (reception's appointments) and the clinician's session records.

The appointment and the clinical record are different objects so that permissions follow the
data: reception books TreatmentSession rows and never reads SessionRecord ones (DESIGN.md, 2).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from patients.models import ScalpZone


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"  # the patient confirmed (link, phone or desk)
    CHECKED_IN = "checked_in", "Checked in"  # the patient is in the clinic
    COMPLETED = "completed", "Completed"  # only with a signed session record
    CANCELLED_BY_PATIENT = "cancelled_patient", "Cancelled by patient"
    CANCELLED_BY_CLINIC = "cancelled_clinic", "Cancelled by clinic"
    NO_SHOW = "no_show", "No-show"  # only after the start time


# Statuses in which a session holds its clinician, room and patient. Cancelled sessions and
# no-shows free the slot (a no-show is only recorded after the start, so the slot has passed).
ACTIVE_STATUSES = (
    SessionStatus.SCHEDULED,
    SessionStatus.CONFIRMED,
    SessionStatus.CHECKED_IN,
    SessionStatus.COMPLETED,
)


class SessionKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment"  # injections: the clearance gate applies
    ASSESSMENT = "assessment", "Assessment"  # consultation, screening, review: no injections


class PlanKind(models.TextChoices):
    MILD_MODERATE = "mild_moderate", "Mild / moderate"
    SEVERE = "severe", "Severe"
    PREVENTIVE = "preventive", "Preventive"
    CUSTOM = "custom", "Custom"


class PlanTemplate(models.Model):
    """A clinic-editable default for new plans (DOMAIN.md, severity drives the default plan).

    Loaded by a data migration; the numbers are practice defaults the clinic may change.
    """

    kind = models.CharField(max_length=20, choices=PlanKind.choices, unique=True)
    name = models.CharField(max_length=100)
    number_of_sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    interval_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Default gap between course sessions (practice default 14).",
    )
    sessions_per_year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For preventive plans: sessions spread over a year."
    )
    then_maintenance = models.BooleanField(
        default=False, help_text="The course is followed by maintenance sessions."
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number_of_sessions__gte=1), name="plan_template_sessions_positive"
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1), name="plan_template_interval_positive"
            ),
        ]

    def __str__(self):
        return self.name


class Technique(models.TextChoices):
    NAPPAGE = "nappage", "Nappage (2–4 mm)"
    PAPULE = "papule", "Papule (1–2 mm)"
    MICROPAPULE = "micropapule", "Micropapule"


class Device(models.TextChoices):
    SYRINGE = "syringe", "BD syringe (manual)"
    MESOGUN = "mesogun", "Mesogun"
    MESOINJECTOR = "mesoinjector", "Mesoinjector"
    PRESSURE = "pressure", "Needle-free: pressure device"
    ELECTROPORATION = "electroporation", "Needle-free: electroporation"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # written, no sessions booked yet
    ACTIVE = "active", "Active"  # sessions are booked or running
    COMPLETED = "completed", "Completed"  # course done; maintenance follows
    STOPPED = "stopped", "Stopped"  # ended early, with a reason


class TreatmentPlan(models.Model):
    """A course of sessions the clinician prescribes; reception books its sessions."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_plans"
    )
    # The indication: the assessment (diagnosis + scale) this plan treats, and a line of text
    # that reception may read on the plan page.
    assessment = models.ForeignKey(
        "patients.Assessment",
        on_delete=models.PROTECT,
        related_name="treatment_plans",
        null=True,
        blank=True,
    )
    indication = models.CharField(
        max_length=200,
        help_text="Diagnosis and severity, e.g. L64 androgenic alopecia, Norwood III.",
    )
    template = models.ForeignKey(
        PlanTemplate, on_delete=models.PROTECT, related_name="plans", null=True, blank=True
    )
    formulation_version = models.ForeignKey(
        "formulations.FormulationVersion", on_delete=models.PROTECT, related_name="plans"
    )
    technique = models.CharField(max_length=20, choices=Technique.choices)
    device = models.CharField(max_length=20, choices=Device.choices)
    # DOMAIN.md: depth must be within 1–4 mm, never deeper than 4 mm.
    target_depth_mm = models.DecimalField(
        "target depth (mm)",
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("4"))],
    )
    number_of_sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    interval_days = models.PositiveSmallIntegerField(
        "interval (days)", validators=[MinValueValidator(1)]
    )
    prp_alternating = models.BooleanField("PRP on alternate sessions", default=False)
    microneedling = models.BooleanField(default=False)
    topical_minoxidil = models.BooleanField(default=False)
    price_per_session = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    package_price = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="GBP")
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    stopped_reason = models.TextField(blank=True)
    # Set when the course completes: the last course session's date + the clinic's maintenance
    # interval (practice default 4 months); the maintenance list and prompts read it.
    completed_at = models.DateTimeField(null=True, blank=True)
    maintenance_due_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="plans_written"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_depth_mm__gte=1) & Q(target_depth_mm__lte=4),
                name="plan_depth_within_1_to_4_mm",
                violation_error_message="Target depth must be between 1 and 4 mm.",
            ),
            models.CheckConstraint(
                condition=Q(number_of_sessions__gte=1), name="plan_sessions_positive"
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1), name="plan_interval_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status="stopped") | ~Q(stopped_reason=""),
                name="plan_stopped_has_reason",
                violation_error_message="A stopped plan needs a reason.",
            ),
        ]

    def __str__(self):
        return f"Plan {self.pk}: {self.number_of_sessions} × every {self.interval_days} days"


class TreatmentSession(models.Model):
    """An appointment: who, with whom, where and when. No clinical content lives here."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    clinician = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    room = models.ForeignKey("clinic.Room", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, related_name="sessions", null=True, blank=True
    )
    sequence = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Place in the plan's course: session n of N."
    )
    kind = models.CharField(
        max_length=12, choices=SessionKind.choices, default=SessionKind.TREATMENT
    )
    # A clinician's override of the shortest-gap rule, with the reason (history keeps who).
    interval_override_reason = models.TextField(blank=True)
    interval_override_by = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Longer than the clinic's longest gap after the previous session of the plan.
    is_protocol_deviation = models.BooleanField(default=False)
    # The screening had lapsed or was missing when the session was booked or last moved.
    needs_screening = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at"]
        permissions = [
            ("override_interval", "Can override the shortest gap between course sessions"),
        ]
        indexes = [models.Index(fields=["starts_at"], name="session_starts_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message="A session must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(interval_override_reason="") | Q(interval_override_by__isnull=False),
                name="session_override_has_clinician",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["cancelled_patient", "cancelled_clinic"])
                | ~Q(status_reason=""),
                name="session_cancellation_has_reason",
                violation_error_message="A cancellation needs a reason.",
            ),
        ]

    def __str__(self):
        return f"Session {self.pk} at {self.starts_at.isoformat()}"


class ContactChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    IN_PERSON = "in_person", "In person"


class ContactOutcome(models.TextChoices):
    BOOKED = "booked", "Reached: booked maintenance"
    CALL_BACK = "call_back", "Reached: will call back"
    DECLINED = "declined", "Reached: declined maintenance"
    NO_ANSWER = "no_answer", "No answer"
    MESSAGE_LEFT = "message_left", "Message left"


class ContactAttempt(models.Model):
    """Reception's attempt to reach a patient whose maintenance is due (the recall list)."""

    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    attempted_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=15, choices=ContactOutcome.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-attempted_at", "-pk"]

    def __str__(self):
        when = f"{self.attempted_at:%Y-%m-%d}"
        return f"{self.get_channel_display()} {when}: {self.get_outcome_display()}"


# Clinical session records (issue 6) -----------------------------------------------------------
# DESIGN.md decision 3: a signed record, its injections and the lots it names never change by
# any path. The model and queryset guards below refuse ORM writes; on PostgreSQL a trigger
# (migration 0006) refuses the rest. Corrections are addenda.


class SignedRecordError(ValidationError):
    """A change to a signed session record (or one of its rows) was refused."""


SIGNED_MESSAGE = (
    "Record of session {session} is signed, so it can never be changed or deleted. "
    "Add a signed addendum to correct it."
)


class SessionRecordQuerySet(models.QuerySet):
    def signed(self):
        return self.filter(signed_at__isnull=False)

    def _refuse_signed(self):
        first = self.signed().first()
        if first is not None:
            raise SignedRecordError(SIGNED_MESSAGE.format(session=first.session_id))

    def update(self, **kwargs):
        self._refuse_signed()
        return super().update(**kwargs)

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
        permissions = [("sign_sessionrecord", "Can sign a session record")]
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

    def __str__(self):
        return f"Record of session {self.session_id}"

    def save(self, *args, **kwargs):
        if self._stored_signed():
            raise SignedRecordError(SIGNED_MESSAGE.format(session=self.session_id))
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


class ReminderKind(models.TextChoices):
    BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
    APPOINTMENT = "appointment", "Appointment reminder"
    RESCHEDULE = "reschedule", "Reschedule notice"
    CANCELLATION = "cancellation", "Cancellation notice"
    AFTERCARE = "aftercare", "Aftercare message"
    MAINTENANCE = "maintenance", "Maintenance prompt"
    RESCREENING = "rescreening", "Re-screening prompt"
    MISSED_SESSION = "missed_session", "Missed-session follow-up"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its time (or its next attempt)
    SENDING = "sending", "Sending"  # claimed by a sweep; the provider is being called
    SENT = "sent", "Sent"  # the provider accepted it
    FAILED = "failed", "Failed"  # the provider refused it every time; staff may retry
    CANCELLED = "cancelled", "Cancelled"  # the booking change made it pointless
    EXPIRED = "expired", "Expired"  # its appointment started before it could go
    UNKNOWN = "unknown", "Unknown"  # left in sending past its lease: check, never resent blindly


class Reminder(models.Model):
    """One message to one patient on one channel, due at one time. The outbox row is the truth;
    the Celery task that sends it takes only the row's id."""

    kind = models.CharField(max_length=25, choices=ReminderKind.choices)
    channel = models.CharField(max_length=5, choices=[("email", "Email"), ("sms", "SMS")])
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="reminders"
    )
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    # When it is due by its rule (part of its identity); send_after moves on for quiet hours and
    # retries, due_at never does except when the appointment itself moves.
    due_at = models.DateTimeField()
    send_after = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_after", "pk"]
        permissions = [("retry_reminder", "Can retry a failed reminder")]
        indexes = [
            models.Index(fields=["status", "send_after"], name="reminder_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(session__isnull=False) | Q(plan__isnull=False),
                name="reminder_has_target",
            ),
            models.UniqueConstraint(
                fields=["kind", "session", "channel", "due_at"],
                condition=Q(session__isnull=False) & ~Q(status="cancelled"),
                name="reminder_unique_per_session",
            ),
            models.UniqueConstraint(
                fields=["kind", "plan", "channel", "due_at"],
                condition=Q(session__isnull=True) & ~Q(status="cancelled"),
                name="reminder_unique_per_plan",
            ),
        ]

    def __str__(self):
        return f"Reminder {self.pk} ({self.kind}, {self.channel})"


class PatientLink(models.Model):
    """A signed link sent to a patient for one appointment: confirm, cancel, read the ingredient
    sheet. The URL carries a signed opaque id and nonce; revoking clears the row, so a link can
    die before its time (a new link, a cancelled session)."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    nonce = models.CharField(max_length=64, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="links")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="patient_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Link {self.public_id}"
