"""Appointments: plan templates, treatment plans, treatment sessions (reception's bookings) and
the contact attempts of the maintenance recall list."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from clinic.models import Clinic


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
    # Set when the course completes and again at each maintenance visit: the visit's date + the
    # clinic's maintenance interval (practice default 4 months), and the day the next prompt
    # goes out (booking/maintenance.py). The recall list and the prompts read them, never the
    # patient's history.
    completed_at = models.DateTimeField(null=True, blank=True)
    maintenance_due_on = models.DateField(null=True, blank=True)
    maintenance_prompt_on = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="plans_written"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["maintenance_due_on"],
                name="plan_maintenance_due_idx",
                condition=Q(status="completed"),
            ),
            models.Index(
                fields=["maintenance_prompt_on"],
                name="plan_maintenance_prompt_idx",
                condition=Q(status="completed"),
            ),
        ]
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


class SignedSessionError(ValidationError):
    """A change to a session whose record is signed, or one that breaks the course spacing."""


# What a signed record stands on: its session keeps who was treated, when, by whom and how.
SIGNED_SESSION_FIELDS = ("patient_id", "starts_at", "ends_at", "clinician_id", "kind")
SIGNED_SESSION_MESSAGE = (
    "Session {session} has a signed record, so its patient, time, clinician and kind can never "
    "change, and it cannot be cancelled or moved: the record says who was treated, when and by "
    "whom. Add a signed addendum to the record to correct it."
)
# Writes that can bring two sessions of a course closer together.
SPACING_FIELDS = ("plan_id", "starts_at", "status", "interval_override_reason")
GUARDED_FIELD_NAMES = {f.removesuffix("_id") for f in (*SIGNED_SESSION_FIELDS, *SPACING_FIELDS)}


def gap_days(*, clinic: Clinic, earlier: datetime, later: datetime) -> int:
    """Days between two moments on the clinic's calendar (a course is counted in days)."""
    zone = clinic.zone
    return (later.astimezone(zone).date() - earlier.astimezone(zone).date()).days


@dataclass(frozen=True)
class Spacing:
    """Where a session of a plan falls against the plan's other active sessions (DOMAIN.md:
    course sessions 7–14 days apart; the clinic's settings, practice defaults)."""

    before: "TreatmentSession | None"
    after: "TreatmentSession | None"
    # (neighbour, gap in days) closer than the clinic's shortest gap, nearest first.
    too_close: tuple
    deviation: bool  # longer than the longest gap after the previous session
    shortest: int

    def refusal(self, *, clinic: Clinic) -> str:
        neighbour, gap = self.too_close[0]
        day = neighbour.starts_at.astimezone(clinic.zone)
        return (
            f"Another session of this plan is on {day:%a %d %b %Y}, {gap} day"
            f"{'' if gap == 1 else 's'} away: course sessions must be at least {self.shortest} "
            "days apart (risk of over-injection)."
        )


def plan_spacing(
    *, clinic: Clinic, plan: "TreatmentPlan", starts_at: datetime, exclude_pk: int | None
) -> Spacing:
    others = plan.sessions.filter(status__in=ACTIVE_STATUSES).exclude(pk=exclude_pk)
    before = others.filter(starts_at__lte=starts_at).order_by("-starts_at").first()
    after = others.filter(starts_at__gt=starts_at).order_by("starts_at").first()
    shortest = clinic.course_min_interval_days
    too_close = []
    if before is not None:
        gap = gap_days(clinic=clinic, earlier=before.starts_at, later=starts_at)
        if gap < shortest:
            too_close.append((before, gap))
    if after is not None:
        gap = gap_days(clinic=clinic, earlier=starts_at, later=after.starts_at)
        if gap < shortest:
            too_close.append((after, gap))
    too_close.sort(key=lambda pair: pair[1])
    deviation = False
    if before is not None:
        longest = max(clinic.course_max_interval_days, plan.interval_days)
        deviation = gap_days(clinic=clinic, earlier=before.starts_at, later=starts_at) > longest
    return Spacing(before, after, tuple(too_close), deviation, shortest)


def _refuse_spacing(session: "TreatmentSession") -> None:
    """The row-level guard of the 7-day rule for writes that skip scheduling.py (on PostgreSQL a
    trigger holds it for raw SQL and concurrent writers too)."""
    if (
        session.plan_id is None
        or session.status not in ACTIVE_STATUSES
        or session.interval_override_reason.strip()
    ):
        return
    clinic = Clinic.current()
    if clinic is None:
        return
    spacing = plan_spacing(
        clinic=clinic, plan=session.plan, starts_at=session.starts_at, exclude_pk=session.pk
    )
    if spacing.too_close:
        raise SignedSessionError(
            spacing.refusal(clinic=clinic) + " A clinician may override this with a reason."
        )


class TreatmentSessionQuerySet(models.QuerySet):
    """Bulk paths keep a signed record's session and the course spacing too."""

    def update(self, **kwargs):
        fields = {f"{k}_id" if k in ("patient", "clinician", "plan") else k for k in kwargs}
        if fields & {*SIGNED_SESSION_FIELDS, "status"}:
            first = self.filter(record__signed_at__isnull=False).first()
            if first is not None:
                raise SignedSessionError(SIGNED_SESSION_MESSAGE.format(session=first.pk))
        if fields & set(SPACING_FIELDS):
            if any(hasattr(value, "resolve_expression") for value in kwargs.values()):
                raise SignedSessionError(
                    "Course sessions are moved one by one through booking, so the spacing of the "
                    "course is checked for each."
                )
            for session in self.filter(plan__isnull=False):
                for name, value in kwargs.items():
                    setattr(session, name, value)
                _refuse_spacing(session)
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for session in objs:
            _refuse_spacing(session)
        return super().bulk_create(objs, *args, **kwargs)

    update.queryset_only = True


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

    objects = TreatmentSessionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at"]
        permissions = [
            ("override_interval", "Can override the shortest gap between course sessions"),
        ]
        indexes = [
            models.Index(fields=["starts_at"], name="session_starts_at_idx"),
            # Visits still to come, per patient: "is anything booked?" (the recall list and the
            # maintenance prompts ask it for every due course) reads this small index only.
            models.Index(
                fields=["patient", "starts_at"],
                name="session_coming_idx",
                condition=Q(status__in=["scheduled", "confirmed", "checked_in"]),
            ),
        ]
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

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not set(update_fields) & GUARDED_FIELD_NAMES:
            return super().save(*args, **kwargs)  # renumbering, flags: nothing guarded moves
        stored = None
        if self.pk is not None:
            stored = (
                type(self)
                .objects.filter(pk=self.pk)
                .values(*SIGNED_SESSION_FIELDS, *SPACING_FIELDS)
                .first()
            )
        if stored is not None:
            changed = {f for f in stored if getattr(self, f) != stored[f]}
            leaves_completed = (
                stored["status"] == SessionStatus.COMPLETED
                and self.status != SessionStatus.COMPLETED
            )
            if (
                changed & set(SIGNED_SESSION_FIELDS) or leaves_completed
            ) and self.has_signed_record():
                raise SignedSessionError(SIGNED_SESSION_MESSAGE.format(session=self.pk))
            if changed & set(SPACING_FIELDS) and not self._was_spaced_alike(stored):
                _refuse_spacing(self)
        else:
            _refuse_spacing(self)
        return super().save(*args, **kwargs)

    def _was_spaced_alike(self, stored: dict) -> bool:
        # A change between two active statuses (confirm, check in) moves nothing closer.
        return (
            stored["plan_id"] == self.plan_id
            and stored["starts_at"] == self.starts_at
            and stored["interval_override_reason"] == self.interval_override_reason
            and stored["status"] in ACTIVE_STATUSES
        )

    def has_signed_record(self) -> bool:
        return (
            self.pk is not None
            and type(self).objects.filter(pk=self.pk, record__signed_at__isnull=False).exists()
        )


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
