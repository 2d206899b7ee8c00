import zoneinfo
from contextvars import ContextVar
from datetime import date, time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from .fields import TimeZoneField
from .roles import Role


class Weekday(models.IntegerChoices):
    # Same numbering as date.weekday(), so a date maps to its row without translation.
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


# Practice default aftercare (DOMAIN.md); the clinic edits it in its settings.
DEFAULT_AFTERCARE = (
    "Do not wash your hair or use harsh shampoo, and avoid sweating, exercise, saunas and direct "
    "sun for 48 hours.\n"
    "Do not touch, scratch or massage the treated areas today.\n"
    "Small red marks, mild swelling or tenderness are common and fade within a day or two.\n"
    "Call the clinic if you notice spreading redness, heat, pus, fever or worsening pain."
)


# The clinic a request works for, read once by ClinicTimezoneMiddleware: rule functions that ask
# Clinic.current() during the request get that row instead of reading it again.
_request_clinic: ContextVar["Clinic | None"] = ContextVar("request_clinic", default=None)


class Clinic(models.Model):
    """The clinic and its practice defaults. Mesotrack serves one clinic per installation."""

    name = models.CharField(max_length=200)
    time_zone = TimeZoneField(default="Europe/London")
    currency = models.CharField(
        max_length=3,
        default="GBP",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use the three-letter ISO 4217 code, e.g. GBP.")],
        help_text="ISO 4217 code, e.g. GBP, EUR, USD.",
    )
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)

    # Practice defaults (DOMAIN.md marks them [practice]): clinic settings, never constants.
    screening_valid_days = models.PositiveSmallIntegerField(
        "screening valid for (days)",
        default=90,
        validators=[MinValueValidator(1)],
        help_text="Practice default 90: a screening older than this must be redone.",
    )
    course_min_interval_days = models.PositiveSmallIntegerField(
        "shortest gap between course sessions (days)",
        default=7,
        validators=[MinValueValidator(1)],
        help_text="Practice default 7: closer bookings risk over-injection and need an override.",
    )
    course_max_interval_days = models.PositiveSmallIntegerField(
        "longest gap between course sessions (days)",
        default=14,
        validators=[MinValueValidator(1)],
        help_text="Practice default 14: longer gaps are allowed but flagged as a deviation.",
    )
    maintenance_after_months = models.PositiveSmallIntegerField(
        "maintenance due after (months)",
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Practice default 4 (4–6; every 3 is common for dutasteride).",
    )
    recall_lapse_months = models.PositiveSmallIntegerField(
        "recall lapses after (months overdue)",
        default=12,
        validators=[MinValueValidator(3), MaxValueValidator(120)],
        help_text="A patient whose maintenance has been overdue this long is lapsed: no longer "
        "on the recall list's windows nor sent maintenance prompts (they stay listed under "
        "Lapsed). Results typically last 6–12 months without maintenance, so a return after "
        "that is a new assessment rather than maintenance.",
    )
    session_minutes = models.PositiveSmallIntegerField(
        "default session length (minutes)", default=45, validators=[MinValueValidator(5)]
    )
    aftercare_template = models.TextField(
        default=DEFAULT_AFTERCARE,
        help_text="Aftercare advice given after every session; the dutasteride line is added "
        "automatically when the formulation contains it.",
    )

    # Reminders (practice defaults).
    reminder_hours_before = models.CharField(
        "appointment reminders (hours before)",
        max_length=50,
        default="48,24",
        validators=[
            RegexValidator(r"^\d{1,3}(,\d{1,3})*$", "Hours as whole numbers, comma-separated.")
        ],
        help_text="Practice default 48,24: one reminder at each.",
    )
    patient_cancel_cutoff_hours = models.PositiveSmallIntegerField(
        "patients may cancel online up to (hours before)",
        default=24,
        help_text="Practice default 24; after it the patient's page shows the clinic phone.",
    )
    reminder_lease_minutes = models.PositiveSmallIntegerField(
        "sending lease (minutes)",
        default=10,
        validators=[MinValueValidator(1)],
        help_text="A reminder still sending after this is marked unknown for staff to check.",
    )
    reminder_max_attempts = models.PositiveSmallIntegerField(
        "reminder attempts before failing",
        default=5,
        validators=[MinValueValidator(1)],
    )

    # Keeping and giving back records (DOMAIN.md): default 8 years after the last treatment, the
    # adult-record period of the NHS Records Management Code of Practice 2021.
    retention_years = models.PositiveSmallIntegerField(
        "keep medical records for (years after the last treatment)",
        default=8,
        validators=[MinValueValidator(1)],
        help_text="Default 8 (NHS Records Management Code of Practice 2021, adults); other "
        "countries differ. An erasure request inside this period restricts processing instead.",
    )
    patient_copy_link_days = models.PositiveSmallIntegerField(
        "patient copy links work for (days)",
        default=7,
        validators=[MinValueValidator(1)],
        help_text="Practice default 7: after this the file is removed and a new copy is needed.",
    )

    # Staff accounts.
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        "log staff out after (minutes without activity)",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(480)],
        help_text="Practice default 30; a warning shows two minutes before.",
    )

    # Patients booking themselves (DOMAIN.md "Patients booking and reporting themselves").
    online_booking_kinds = models.CharField(
        "appointment kinds bookable online",
        max_length=50,
        default="assessment",
        blank=True,
        validators=[
            RegexValidator(
                r"^(assessment)?$",
                "Only a consultation (assessment) can be booked online: treatment needs a "
                "clinician's assessment, screening and plan first. Leave empty to turn online "
                "booking off.",
            )
        ],
        help_text="“assessment” lets new patients book a consultation at /book/; empty turns "
        "online booking off.",
    )
    online_booking_days_ahead = models.PositiveSmallIntegerField(
        "online booking up to (days ahead)", default=28, validators=[MinValueValidator(1)]
    )
    online_booking_min_notice_hours = models.PositiveSmallIntegerField(
        "online booking minimum notice (hours)", default=24
    )
    online_booking_needs_approval = models.BooleanField(
        "online bookings need staff approval",
        default=True,
        help_text="Reception approves or declines each online booking; the patient is told.",
    )
    waitlist_offer_hours = models.PositiveSmallIntegerField(
        "waitlist offers expire after (hours)", default=4, validators=[MinValueValidator(1)]
    )
    waitlist_min_notice_minutes = models.PositiveSmallIntegerField(
        "waitlist offers stop before the slot (minutes)",
        default=30,
        help_text="Practice default 30: a freed slot closer than this to its start is not offered "
        "(again) to the waitlist.",
    )
    remote_consent_allowed = models.BooleanField(
        "patients may sign consent at home",
        default=False,
        help_text="Off: the intake link shows the consent text to read and the patient signs at "
        "the visit with a clinician as witness. On: the patient may sign it through their link "
        "(typed name and an explicit agreement; the text is stored as signed).",
    )
    # Outcome reporting (DOMAIN.md "Outcome reporting", practice defaults).
    outcome_early_week = models.PositiveSmallIntegerField(
        "first outcome time point (week)",
        default=12,
        validators=[MinValueValidator(1)],
        help_text="Practice default 12: weeks after the first session of a course.",
    )
    outcome_late_week = models.PositiveSmallIntegerField(
        "second outcome time point (week)",
        default=24,
        validators=[MinValueValidator(1)],
        help_text="Practice default 24: the responder rate is read here.",
    )
    outcome_window_weeks = models.PositiveSmallIntegerField(
        "time point window (± weeks)",
        default=3,
        help_text="Practice default 3: the measurement nearest the time point within the window "
        "counts, once.",
    )
    responder_threshold_percent = models.PositiveSmallIntegerField(
        "responder threshold (% density gain)",
        default=10,
        validators=[MinValueValidator(1)],
        help_text="Practice default 10: a density gain from baseline of at least this much in "
        "the treated zone at the second time point.",
    )
    report_min_group = models.PositiveSmallIntegerField(
        "smallest group reported (patients)",
        default=5,
        validators=[MinValueValidator(1)],
        help_text="Practice default 5: smaller groups show counts only, since means of two "
        "people mislead and re-identify.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome_late_week__gt=F("outcome_early_week")),
                name="clinic_outcome_weeks_in_order",
                violation_error_message="The second outcome time point must come after the first.",
            ),
            models.CheckConstraint(
                condition=Q(course_max_interval_days__gte=F("course_min_interval_days")),
                name="clinic_course_interval_range",
                violation_error_message="The longest gap cannot be shorter than the shortest gap.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def books_online(self) -> bool:
        return bool(self.online_booking_kinds)

    @classmethod
    def current(cls) -> "Clinic | None":
        return _request_clinic.get() or cls.objects.order_by("pk").first()

    @classmethod
    def current_for_request(cls, *, known: "Clinic | None" = None):
        """Read the clinic once for a request; returns a token for `release_request`.
        `known`: the current clinic's row already read in this request (with the user)."""
        return _request_clinic.set(known or cls.objects.order_by("pk").first())

    @staticmethod
    def release_request(token) -> None:
        _request_clinic.reset(token)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def opening_hours_on(self, day: date) -> list["OpeningHours"]:
        return [h for h in self.opening_hours.all() if h.weekday == day.weekday()]


class OpeningHours(models.Model):
    """One opening interval on a weekday; two rows on one day model a lunch break."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="opening_hours_close_after_open",
                violation_error_message="Closing time must be after opening time.",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def covers(self, start: time, end: time) -> bool:
        return self.opens <= start and end <= self.closes


class Room(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "name"],
                name="room_name_unique_per_clinic",
                violation_error_message="The clinic already has a room with this name.",
            ),
        ]

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    """A member of staff. `role` is kept in step with the user's group by staff_assign_role()."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_profile"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="staff")
    display_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices)
    registration_number = models.CharField(
        "professional registration number",
        max_length=50,
        blank=True,
        help_text="GMC, NMC or other register number; required for clinicians who sign records.",
    )
    offers_online_consultations = models.BooleanField(
        "patients may book consultations with them online", default=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name

    def working_hours_on(self, day: date) -> list["WorkingHours"]:
        return [h for h in self.working_hours.all() if h.weekday == day.weekday()]


class WorkingHours(models.Model):
    staff = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "starts"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")),
                name="working_hours_end_after_start",
                violation_error_message="End of work must be after its start.",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task; /healthz reports it."""

    name = models.CharField(max_length=50, unique=True, default="worker")
    last_seen = models.DateTimeField()

    def __str__(self):
        return f"{self.name} last seen {self.last_seen.isoformat()}"


class AccessLog(models.Model):
    """One view of a patient's clinical data: who, which patient, which page, when.

    `page` is the URL name and `path` holds only opaque ids, never names (DESIGN.md). Rows are
    never edited or deleted through the app.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinical_views"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="clinical_views"
    )
    page = models.CharField(max_length=100)
    path = models.CharField(max_length=300)
    viewed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-viewed_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-viewed_at"], name="accesslog_patient_idx"),
            models.Index(fields=["user", "-viewed_at"], name="accesslog_user_idx"),
        ]

    def __str__(self):
        return f"Access {self.pk}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for the worker
    RUNNING = "running", "Running"  # the worker is writing the files
    READY = "ready", "Ready"  # every file written; may be downloaded
    FAILED = "failed", "Failed"  # stopped; `error` says why (never patient data)


class ExportJob(models.Model):
    """A bulk FHIR export of the whole clinic (in the spirit of FHIR Bulk Data): one NDJSON file
    per resource type, written by a Celery task that takes only this row's id."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    patients_total = models.PositiveIntegerField(default=0)
    patients_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"Patient": {"file": "fhir-exports/3/Patient.ndjson", "count": 10}, ...}
    files = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [("run_fhir_export", "Can export the whole clinic as FHIR (bulk data)")]

    def __str__(self):
        return f"Export {self.pk} ({self.status})"

    @property
    def file_entries(self) -> list[tuple[str, dict]]:
        """(resource type, {"file", "count"}) by type name (JSON keys come back in any order)."""
        return sorted(self.files.items())

    @property
    def percent_done(self) -> int:
        if self.status == ExportStatus.READY:
            return 100
        if not self.patients_total:
            return 0
        return min(99, self.patients_done * 100 // self.patients_total)


class SecurityEvent(models.Model):
    """The sign-in audit log: every login, failure, lockout, unlock and second-factor event.

    `username` is what was typed (a failed attempt may name nobody); rows are never edited or
    deleted through the app.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Wrong username or password"
        LOCKED_OUT = "locked_out", "Refused: locked out after repeated failures"
        UNLOCKED = "unlocked", "Unlocked by a clinic admin"
        LOGOUT = "logout", "Logged out"
        IDLE_LOGOUT = "idle_logout", "Logged out after the idle timeout"
        SECOND_FACTOR_OK = "second_factor_ok", "Second factor accepted"
        SECOND_FACTOR_FAILED = "second_factor_failed", "Wrong second-factor code"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        SECOND_FACTOR_ENROLLED = "second_factor_enrolled", "Authenticator app set up"
        RECOVERY_CODES_ISSUED = "recovery_codes_issued", "New recovery codes issued"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset by email"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    username = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="security_events",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clinic admin who acted, for unlocks.",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["username", "-at"], name="securityevent_username_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.username or '-'}"
