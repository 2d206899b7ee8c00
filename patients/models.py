"""Patients: demographics and contact data (reception) and, in later models, clinical data."""

from datetime import date, time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from simple_history.models import HistoricalRecords

from clinic.fields import MobileNumberField, TimeZoneField
from formulations.models import IngredientCategory


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Not recorded"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Patient(models.Model):
    """A patient. Never deleted: a patient who leaves is archived (archived_at)."""

    record_number = models.CharField(max_length=20, unique=True, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    pronouns = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    mobile = MobileNumberField(blank=True)
    preferred_channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.EMAIL
    )
    # When the patient agreed to reminders on each channel; empty means no consent.
    email_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    time_zone = TimeZoneField(
        blank=True,
        help_text="Leave empty to use the clinic's time zone.",
    )
    # An opt-out (an SMS "STOP", an unsubscribe) beats consent until the patient consents again.
    email_opt_out_at = models.DateTimeField(null=True, blank=True)
    sms_opt_out_at = models.DateTimeField(null=True, blank=True)
    # No reminder goes out between these local times (practice default 20:00–08:00).
    quiet_hours_start = models.TimeField(default=time(20, 0))
    quiet_hours_end = models.TimeField(default=time(8, 0))
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Data rights (GDPR Art. 17/18; sessions/exchange/data_rights.py): an erasure request restricts
    # processing at once (no reminders, no marketing); after the retention period the patient is
    # anonymised: identity and contact gone, signed clinical content kept under a study id.
    processing_restricted_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    study_id = models.CharField(max_length=20, blank=True, editable=False)
    # Created by an online booking from what the person typed: reception confirms the record or
    # merges it into the patient it turns out to be (patients/intake.py).
    is_provisional = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        permissions = [
            ("view_clinical", "Can view a patient's clinical data"),
            ("manage_data_rights", "Can record erasure requests and anonymise patients"),
        ]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["study_id"], condition=~Q(study_id=""), name="patient_study_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(anonymised_at__isnull=True) | ~Q(study_id=""),
                name="patient_anonymised_has_study_id",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.record_number})"

    @property
    def full_name(self) -> str:
        if self.anonymised_at is not None:
            return f"Anonymised patient {self.study_id}"
        return f"{self.given_name} {self.family_name}"

    @property
    def sort_name(self) -> str:
        """ "Family, Given" for lists; an anonymised patient shows only the study id."""
        if self.anonymised_at is not None:
            return self.full_name
        return f"{self.family_name}, {self.given_name}"

    @property
    def is_restricted(self) -> bool:
        return self.processing_restricted_at is not None


# Clinical data below: clinicians and clinic admins only (permission patients.view_clinical).
# Nothing clinical is hard-deleted: rows are voided with a reason (voided_at, void_reason).


class ClinicalQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ClinicalQuerySet":
        """Rows of clinical data that `user` may read: none at all without the clinical permission.

        Views check the permission too; this makes a forgotten check fail closed.
        """
        if user is None or not user.has_perm("patients.view_clinical"):
            return self.none()
        return self

    def current(self) -> "ClinicalQuerySet":
        return self.filter(voided_at__isnull=True)


class Voidable(models.Model):
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    objects = ClinicalQuerySet.as_manager()

    class Meta:
        abstract = True


class Severity(models.TextChoices):
    # As FHIR AllergyIntolerance.reaction.severity.
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    UNKNOWN = "unknown", "Not known"


class Allergy(Voidable):
    """An allergy or hypersensitivity: to one ingredient, a whole ingredient category, or free text
    (matched against every ingredient's name and synonyms)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    ingredient = models.ForeignKey(
        "formulations.Ingredient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.CharField(
        "ingredient category",
        max_length=20,
        choices=IngredientCategory.choices,
        blank=True,
    )
    substance = models.CharField(
        max_length=200,
        blank=True,
        help_text="Free text when the substance is not in the catalogue.",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    reaction = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "allergies"
        constraints = [
            models.CheckConstraint(
                condition=Q(ingredient__isnull=False) | ~Q(category="") | ~Q(substance=""),
                name="allergy_names_a_substance",
                violation_error_message=(
                    "Name the ingredient, the ingredient category or the substance."
                ),
            ),
        ]

    def __str__(self):
        return f"Allergy {self.pk}"

    @property
    def label(self) -> str:
        if self.ingredient_id:
            return self.ingredient.name
        if self.category:
            return f"any {self.get_category_display().lower()}"
        return self.substance


class MedicationClass(models.TextChoices):
    ANTICOAGULANT = "anticoagulant", "Anticoagulant"
    ANTIPLATELET = "antiplatelet", "Antiplatelet"
    FIVE_ARI = "5ari", "5-alpha-reductase inhibitor"
    SYSTEMIC_STEROID = "systemic_steroid", "Systemic steroid"
    ISOTRETINOIN = "isotretinoin", "Isotretinoin"
    OTHER = "other", "Other"


class Medication(Voidable):
    """A medicine the patient takes; current while stopped_on is empty."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    medication_class = models.CharField(
        "class", max_length=20, choices=MedicationClass.choices, default=MedicationClass.OTHER
    )
    dose = models.CharField(max_length=100, blank=True)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(stopped_on__gte=F("started_on")),
                name="medication_stops_after_start",
                violation_error_message="A medicine cannot stop before it started.",
            ),
        ]

    def __str__(self):
        return f"Medication {self.pk}"

    def is_taken_on(self, day: date) -> bool:
        started = self.started_on is None or self.started_on <= day
        return started and (self.stopped_on is None or self.stopped_on >= day)


class Diagnosis(models.TextChoices):
    # ICD-10, DOMAIN.md "Diagnoses".
    L64_0 = "L64.0", "L64.0 Drug-induced androgenic alopecia"
    L64_8 = "L64.8", "L64.8 Other androgenic alopecia"
    L64_9 = "L64.9", "L64.9 Androgenic alopecia, unspecified"
    L65_0 = "L65.0", "L65.0 Telogen effluvium (incl. postpartum)"
    L65_1 = "L65.1", "L65.1 Anagen effluvium"
    L65_8 = "L65.8", "L65.8 Other non-scarring hair loss"
    L65_9 = "L65.9", "L65.9 Non-scarring hair loss, unspecified (diffuse thinning)"
    L63_0 = "L63.0", "L63.0 Alopecia (capitis) totalis"
    L63_1 = "L63.1", "L63.1 Alopecia universalis"
    L63_2 = "L63.2", "L63.2 Ophiasis"
    L63_8 = "L63.8", "L63.8 Other alopecia areata"
    L63_9 = "L63.9", "L63.9 Alopecia areata, unspecified"
    L66_0 = "L66.0", "L66.0 Pseudopelade"
    L66_1 = "L66.1", "L66.1 Lichen planopilaris"
    L66_2 = "L66.2", "L66.2 Folliculitis decalvans"
    L66_3 = "L66.3", "L66.3 Perifolliculitis capitis abscedens"
    L66_4 = "L66.4", "L66.4 Folliculitis ulerythematosa reticulata"
    L66_8 = "L66.8", "L66.8 Other cicatricial alopecia"
    L66_9 = "L66.9", "L66.9 Cicatricial alopecia, unspecified"


class Scale(models.TextChoices):
    NORWOOD = "norwood", "Norwood–Hamilton"
    LUDWIG = "ludwig", "Ludwig"
    SINCLAIR = "sinclair", "Sinclair"
    SAVIN = "savin", "Savin"
    SALT = "salt", "SALT (% loss)"


# DOMAIN.md "Severity scales". SALT is a number 0–100 and is checked separately.
SCALE_VALUES: dict[str, list[str]] = {
    Scale.NORWOOD: [
        "I",
        "II",
        "IIa",
        "III",
        "IIIa",
        "III-vertex",
        "IV",
        "IVa",
        "V",
        "Va",
        "VI",
        "VII",
    ],
    Scale.LUDWIG: ["I", "II", "III"],
    Scale.SINCLAIR: ["1", "2", "3", "4", "5"],
    Scale.SAVIN: ["I-1", "I-2", "I-3", "I-4", "II-1", "II-2", "III", "advanced", "frontal"],
}


class ScalpZone(models.TextChoices):
    FRONTAL_HAIRLINE = "frontal_hairline", "Frontal hairline"
    FRONTAL = "frontal", "Frontal"
    MID_SCALP = "mid_scalp", "Mid-scalp"
    VERTEX = "vertex", "Vertex"
    TEMPORAL_LEFT = "temporal_left", "Temporal left"
    TEMPORAL_RIGHT = "temporal_right", "Temporal right"
    PARIETAL_LEFT = "parietal_left", "Parietal left"
    PARIETAL_RIGHT = "parietal_right", "Parietal right"
    OCCIPITAL = "occipital", "Occipital"


def scale_value_error(*, scale: str, value: str) -> str | None:
    """Why `value` is not a reading of `scale`, or None when it is."""
    if scale == Scale.SALT:
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            return "A SALT score is a number from 0 to 100 (% of scalp hair lost)."
        if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
            return "A SALT score is a number from 0 to 100 (% of scalp hair lost)."
        return None
    allowed = SCALE_VALUES.get(scale)
    if allowed is None:
        return "Choose a scale."
    if value not in allowed:
        label = Scale(scale).label
        return f"{label} values are: {', '.join(allowed)}."
    return None


class Assessment(Voidable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    assessed_on = models.DateField()
    diagnosis = models.CharField("ICD-10 diagnosis", max_length=6, choices=Diagnosis.choices)
    scale = models.CharField(max_length=10, choices=Scale.choices)
    scale_value = models.CharField(max_length=20)
    zones = models.JSONField("affected zones", default=list, blank=True)
    notes = models.TextField(blank=True)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_on", "-pk"]

    def __str__(self):
        return f"Assessment {self.pk}"

    def clean(self):
        error = scale_value_error(scale=self.scale, value=self.scale_value)
        if error:
            raise ValidationError({"scale_value": error})
        unknown = set(self.zones or []) - set(ScalpZone.values)
        if unknown:
            raise ValidationError({"zones": "Unknown scalp zone."})

    @property
    def zone_labels(self) -> list[str]:
        return [ScalpZone(z).label for z in self.zones if z in ScalpZone.values]


class RuleOutcome(models.TextChoices):
    ABSOLUTE = "absolute", "Absolute"  # never treat; no override
    RELATIVE = "relative", "Relative"  # treat only with a clinician's override and reason
    REFERRAL = "referral", "Referral"  # red flag: a dermatologist must clear the patient first


class RuleTrigger(models.TextChoices):
    ANSWER = "answer", "A yes answer"
    ANSWER_AND_CATEGORY = "answer+category", "A yes answer, for a formulation with the category"
    MEDICATION = "medication", "A yes answer or a current medicine of the classes"
    DIAGNOSIS = "diagnosis", "A yes answer or an assessment with the diagnosis"
    AGE_UNDER = "age_under", "The patient's age is under"
    ALLERGY = "allergy", "A recorded allergy to an ingredient of the formulation"


class RuleVersionError(ValidationError):
    """A change to a screening rule that would weaken it, or edit a version in place."""


# What makes a rule fire; an absolute rule keeps these in every version (a new version may only
# reword it), so it can never be switched off, demoted or narrowed.
RULE_TRIGGER_FIELDS = ("outcome", "question_key", "trigger", "trigger_value", "applies_to_sex")
# What a new version may set (the rest is given by rules.screening_rule_revise).
RULE_EDITABLE_FIELDS = (
    "question",
    *RULE_TRIGGER_FIELDS,
    "reason",
    "in_recheck",
    "position",
    "is_active",
)
RULE_IN_PLACE_MESSAGE = (
    "A screening rule version is never edited: what past screenings were evaluated against must "
    "stay readable. Change the rule to make a new version."
)


def absolute_rule_weakening(*, previous: "ScreeningRule", new: "ScreeningRule") -> str:
    """Why `new` would weaken the absolute rule `previous`, or "" when it does not."""
    if previous.outcome != RuleOutcome.ABSOLUTE:
        return ""
    if new.outcome != RuleOutcome.ABSOLUTE:
        return (
            f"“{previous.code}” is an absolute contraindication: it can never be demoted to "
            f"{RuleOutcome(new.outcome).label.lower()}."
        )
    if not new.is_active:
        return f"“{previous.code}” is an absolute contraindication: it can never be switched off."
    changed = [f for f in RULE_TRIGGER_FIELDS[1:] if getattr(new, f) != getattr(previous, f)]
    if changed:
        return (
            f"“{previous.code}” is an absolute contraindication: what makes it fire "
            f"({', '.join(f.replace('_', ' ') for f in changed)}) can never change. "
            "Add a new rule instead."
        )
    if previous.in_recheck and not new.in_recheck:
        return (
            f"“{previous.code}” is an absolute contraindication asked at every re-check: it "
            "cannot be dropped from the re-check."
        )
    return ""


# What staff read instead of a rule's code (DOMAIN.md "Contraindication screening"). Kept in
# code, not on the row: a rule version never changes, and a better name is no reason for a new one.
RULE_NAMES = {
    "pregnancy": "Pregnancy",
    "pregnancy_5ari": "Pregnancy with a 5-ARI",
    "allergy_ingredient": "Allergy to an ingredient",
    "scalp_infection": "Scalp infection or dermatitis",
    "scarring_alopecia": "Scarring alopecia",
    "under_18": "Under 18",
    "breastfeeding": "Breastfeeding",
    "childbearing_5ari": "Childbearing potential with a 5-ARI",
    "conception_5ari": "Planning conception with a 5-ARI",
    "anticoagulant": "Blood thinners or bleeding disorder",
    "autoimmune": "Autoimmune or connective-tissue disease",
    "diabetes_insulin": "Insulin-treated diabetes",
    "immunodeficiency": "Immunodeficiency or cancer treatment",
    "keloid": "Keloid tendency",
    "systemic_steroids": "Systemic steroids",
    "cardiac": "Uncontrolled hypertension or heart disease",
    "patchy_loss": "Patchy hair loss",
    "scalp_inflammation": "Scalp inflammation",
    "broken_hairs": "Broken hairs or rapid loss",
    "systemic_signs": "Hair loss with body-wide signs",
    "medication_onset": "Hair loss after a new medicine",
    "child_hair_loss": "Hair loss in a child",
}


class ScreeningRuleQuerySet(models.QuerySet):
    def current(self):
        """The version of each rule in force: its latest (older ones stay for past screenings)."""
        newer = ScreeningRule.objects.filter(code=OuterRef("code"), version__gt=OuterRef("version"))
        return self.filter(~Exists(newer))

    def update(self, **kwargs):
        raise RuleVersionError(RULE_IN_PLACE_MESSAGE)

    def delete(self):
        raise RuleVersionError(RULE_IN_PLACE_MESSAGE)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.refuse_weakening()
        return super().bulk_create(objs, *args, **kwargs)

    update.queryset_only = True
    delete.queryset_only = True


class ScreeningRule(models.Model):
    """One version of a contraindication rule (DOMAIN.md "Contraindication screening"), loaded by
    a data migration. Rules sharing a question_key share one question on the form.

    A version never changes: a change makes the next version (rules.py), which supersedes this
    one; this one stays for the screenings evaluated against it. An absolute rule keeps its outcome,
    trigger and "active" in every version."""

    code = models.SlugField(max_length=40)
    version = models.PositiveSmallIntegerField(default=1, editable=False)
    question_key = models.SlugField(
        max_length=40, blank=True, help_text="Empty when the rule asks nothing (age, allergies)."
    )
    question = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=RuleOutcome.choices)
    trigger = models.CharField(max_length=20, choices=RuleTrigger.choices, default="answer")
    # Category code, medication classes (comma-separated), ICD-10 prefix or age, per trigger.
    trigger_value = models.CharField(max_length=100, blank=True)
    applies_to_sex = models.CharField(
        max_length=10,
        choices=SexAtBirth.choices,
        blank=True,
        help_text="Ask only patients of this sex at birth (unrecorded: always asked).",
    )
    reason = models.CharField(max_length=300, help_text="Plain words shown when the rule fires.")
    in_recheck = models.BooleanField(
        default=False, help_text="Asked again in the short re-check before every session."
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    change_reason = models.TextField(
        blank=True, help_text="Why this version was made (required for every change)."
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # When and by whom each version was made: its history row (simple_history).

    objects = ScreeningRuleQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code", "version"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger__in=["age_under", "allergy"]) | ~Q(question_key=""),
                name="screening_rule_asks_a_question",
                violation_error_message="A rule triggered by an answer needs a question.",
            ),
            models.UniqueConstraint(
                fields=["code", "version"],
                name="screening_rule_version_unique",
                violation_error_message="This rule already has a version with that number.",
            ),
        ]

    def __str__(self):
        return self.code if self.version == 1 else f"{self.code} (version {self.version})"

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise RuleVersionError(RULE_IN_PLACE_MESSAGE)
        self.refuse_weakening()
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuleVersionError(RULE_IN_PLACE_MESSAGE)

    @property
    def name(self) -> str:
        """What staff read, e.g. “Pregnancy with a 5-ARI”; a rule added later without a name
        reads as its code."""
        return RULE_NAMES.get(self.code) or self.code.replace("_", " ").capitalize()

    def refuse_weakening(self) -> None:
        """For a new version: the latest version of the code must not be weakened by it."""
        previous = (
            type(self).objects.filter(code=self.code).exclude(pk=self.pk).order_by("-version")
        ).first()
        if previous is None:
            return
        why = absolute_rule_weakening(previous=previous, new=self)
        if why:
            raise RuleVersionError(why)


class Screening(Voidable):
    """A clinician's contraindication screening: the answers given, and the findings as evaluated
    that day (a snapshot; clearance re-evaluates the answers against the chosen formulation)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    screened_on = models.DateField()
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    formulation_version = models.ForeignKey(
        "formulations.FormulationVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The formulation planned at screening, if known.",
    )
    answers = models.JSONField(default=dict)
    findings = models.JSONField(default=list)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-screened_on", "-pk"]

    def __str__(self):
        return f"Screening {self.pk}"


class ScreeningRecheck(models.Model):
    """The short pre-session re-check ("anything changed since your last visit?")."""

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="rechecks")
    checked_on = models.DateField()
    answers = models.JSONField(default=dict)
    new_medicines = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-checked_on", "-pk"]

    def __str__(self):
        return f"Re-check {self.pk}"


class ScreeningOverride(models.Model):
    """A clinician's decision to proceed despite a relative finding, with the reason."""

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="overrides")
    rule = models.ForeignKey(ScreeningRule, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "rule"],
                name="override_once_per_rule",
                violation_error_message="This finding is already overridden.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="override_has_reason",
                violation_error_message="Write the reason for the override.",
            ),
        ]

    def __str__(self):
        return f"Override {self.pk}"


class ReferralClearance(models.Model):
    """A dermatologist cleared the patient after a red-flag (referral) finding."""

    screening = models.ForeignKey(
        Screening, on_delete=models.PROTECT, related_name="referral_clearances"
    )
    rule = models.ForeignKey(ScreeningRule, on_delete=models.PROTECT, related_name="+")
    cleared_on = models.DateField()
    cleared_by = models.CharField("dermatologist", max_length=200)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "rule"],
                name="referral_cleared_once_per_rule",
                violation_error_message="This referral is already cleared.",
            ),
        ]

    def __str__(self):
        return f"Referral clearance {self.pk}"


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment consent"
    OFF_LABEL = "off_label", "Off-label statement (prescription drug)"
    PHOTOGRAPHY = "photography", "Clinical photography"


class ConsentText(models.Model):
    """A version of a consent text. Published texts are never edited: a change is a new version."""

    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "version"],
                name="consent_text_version_unique",
                violation_error_message="This consent text already has that version.",
            ),
        ]

    def __str__(self):
        return f"{self.title} v{self.version}"


class SignedConsentError(ValidationError):
    """A change to a signed consent was refused."""


SIGNED_CONSENT_MESSAGE = (
    "A signed consent is part of the clinical record and can never be changed or deleted."
)


class ConsentSignatureQuerySet(models.QuerySet):
    # Bulk paths skip save() and delete(): they refuse too.
    def update(self, **kwargs):
        raise SignedConsentError(SIGNED_CONSENT_MESSAGE)

    def delete(self):
        raise SignedConsentError(SIGNED_CONSENT_MESSAGE)

    update.queryset_only = True
    delete.queryset_only = True


class ConsentSignature(models.Model):
    """A patient's signed consent: the exact text shown is stored with the signature. Once
    signed it never changes (the texts are attached in the same transaction as the signing)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    formulation_version = models.ForeignKey(
        "formulations.FormulationVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    texts = models.ManyToManyField(ConsentText, related_name="+")
    text_signed = models.TextField()
    typed_name = models.CharField(max_length=200)
    confirmed = models.BooleanField()
    signed_at = models.DateTimeField()
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentSignatureQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[texts])

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confirmed=True),
                name="consent_confirmed",
                violation_error_message="The patient must confirm they have read and agree.",
            ),
        ]

    def __str__(self):
        return f"Consent {self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise SignedConsentError(SIGNED_CONSENT_MESSAGE)
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise SignedConsentError(SIGNED_CONSENT_MESSAGE)

    @property
    def signed_name(self) -> str:
        """The name the patient typed, unless they were anonymised since: the signature row
        never changes (it is signed), so the name is withheld wherever it is shown."""
        if self.patient.anonymised_at is not None:
            return "name withheld: patient anonymised"
        return self.typed_name


class ConsentWithdrawal(models.Model):
    """The patient withdrew a signed consent. The signature stays exactly as signed (it records
    what they agreed to, and when); from `withdrawn_at` on it no longer counts."""

    signature = models.OneToOneField(
        ConsentSignature, on_delete=models.PROTECT, related_name="withdrawal"
    )
    withdrawn_at = models.DateTimeField()
    reason = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-withdrawn_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="consent_withdrawal_has_reason",
                violation_error_message="Say how the patient withdrew their consent.",
            ),
        ]

    def __str__(self):
        return f"Withdrawal of consent {self.signature_id}"


# Outcomes (DOMAIN.md "Outcome measures"): progress is the change from the baseline measured at
# the same zone. Clinical data: clinicians and clinic admins only.


class OutcomeMeasurement(Voidable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcomes")
    measured_on = models.DateField()
    zone = models.CharField(max_length=20, choices=ScalpZone.choices)
    session = models.ForeignKey(
        "treatment_sessions.TreatmentSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcomes",
    )
    density_per_cm2 = models.DecimalField(
        "density (hairs/cm²)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    shaft_diameter_um = models.DecimalField(
        "shaft diameter (µm)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    terminal_vellus_ratio = models.DecimalField(
        "terminal:vellus ratio", max_digits=5, decimal_places=2, null=True, blank=True
    )
    anagen_percent = models.DecimalField(
        "anagen (%)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    # Hairs out of about 50 pulled; positive above 10 % (DOMAIN.md).
    pull_test_hairs = models.PositiveSmallIntegerField(
        "pull test (hairs out of ~50)", null=True, blank=True
    )
    # −3 very much worse … +3 very much better.
    global_assessment = models.SmallIntegerField(
        "global photographic assessment (−3..+3)", null=True, blank=True
    )
    self_assessment = models.SmallIntegerField(
        "patient self-assessment (−3..+3)", null=True, blank=True
    )
    is_baseline = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["measured_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(global_assessment__isnull=True)
                | (Q(global_assessment__gte=-3) & Q(global_assessment__lte=3)),
                name="outcome_global_assessment_range",
                violation_error_message="The global assessment runs from −3 to +3.",
            ),
            models.CheckConstraint(
                condition=Q(self_assessment__isnull=True)
                | (Q(self_assessment__gte=-3) & Q(self_assessment__lte=3)),
                name="outcome_self_assessment_range",
                violation_error_message="The self-assessment runs from −3 to +3.",
            ),
            models.CheckConstraint(
                condition=Q(anagen_percent__isnull=True)
                | (Q(anagen_percent__gte=0) & Q(anagen_percent__lte=100)),
                name="outcome_anagen_percent_range",
                violation_error_message="Anagen is a percentage from 0 to 100.",
            ),
            models.UniqueConstraint(
                fields=["patient", "zone"],
                condition=Q(is_baseline=True, voided_at__isnull=True),
                name="outcome_one_baseline_per_zone",
                violation_error_message="This zone already has a baseline measurement.",
            ),
        ]

    def __str__(self):
        return f"Outcome {self.pk}"


class PhotoView(models.TextChoices):
    # DOMAIN.md "Standard photos": the practice default protocol takes the first five.
    VERTEX = "vertex", "Vertex"
    FRONTAL_HAIRLINE = "frontal_hairline", "Frontal hairline"
    TEMPLE_LEFT = "temple_left", "Left temple"
    TEMPLE_RIGHT = "temple_right", "Right temple"
    MIDLINE_PART = "midline_part", "Midline part"
    OCCIPITAL = "occipital", "Occipital (reference)"


# The scalp zone each standard view shows, so a photo sits beside the measurements of its zone.
VIEW_ZONES: dict[str, str] = {
    PhotoView.VERTEX: ScalpZone.VERTEX,
    PhotoView.FRONTAL_HAIRLINE: ScalpZone.FRONTAL_HAIRLINE,
    PhotoView.TEMPLE_LEFT: ScalpZone.TEMPORAL_LEFT,
    PhotoView.TEMPLE_RIGHT: ScalpZone.TEMPORAL_RIGHT,
    PhotoView.MIDLINE_PART: ScalpZone.MID_SCALP,
    PhotoView.OCCIPITAL: ScalpZone.OCCIPITAL,
}


class PhotoProtocolView(models.Model):
    """One view of the clinic's photo protocol: taken at every visit while it is required, at
    the same distance, lighting and hair preparation (written in `instructions`). Loaded with
    the practice default by a data migration; the clinic edits it in its settings."""

    view = models.CharField(max_length=20, choices=PhotoView.choices, unique=True)
    required = models.BooleanField(default=True, help_text="Shown as missing when not taken.")
    instructions = models.CharField(
        max_length=300, blank=True, help_text="Distance, lighting, hair preparation."
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "view"]
        verbose_name = "photo protocol view"

    def __str__(self):
        return self.get_view_display()


def clinical_photo_path(instance, filename: str) -> str:
    # Opaque names: no patient name or original file name reaches the disk or a URL.
    import uuid

    return f"clinical-photos/{instance.patient_id}/{uuid.uuid4().hex}.jpg"


class ClinicalPhoto(Voidable):
    """A standardised photo of one zone, stored privately (never under a public URL), served only
    to clinical roles, with EXIF stripped on upload. Needs the patient's photography consent."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    zone = models.CharField(max_length=20, choices=ScalpZone.choices)
    # The standard view; empty only on photos stored before the protocol existed.
    view = models.CharField(max_length=20, choices=PhotoView.choices, blank=True)
    taken_on = models.DateField()
    session = models.ForeignKey(
        "treatment_sessions.TreatmentSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="photos",
    )
    image = models.ImageField(upload_to=clinical_photo_path)
    consent = models.ForeignKey(
        ConsentSignature,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The photography consent in force when the photo was taken.",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["taken_on", "zone", "pk"]
        indexes = [models.Index(fields=["patient", "view", "taken_on"], name="photo_view_idx")]

    def __str__(self):
        return f"Photo {self.pk}"


# Data rights: erasure requests and the patient's own copy (GDPR Art. 15, 17, 18). The rules live
# in sessions/exchange/ (they read every app); these rows are what was asked, decided and done.


class ErasureStatus(models.TextChoices):
    RESTRICTED = "restricted", "Processing restricted"  # inside retention: record kept, no use
    AWAITING_CONFIRMATION = "awaiting", "Anonymisation awaiting a second admin"
    ANONYMISED = "anonymised", "Anonymised"  # identity and contact removed; clinical record kept


class ErasureRequest(models.Model):
    """A patient asked for their data to be erased. The medical record is kept for the clinic's
    retention period (GDPR Art. 17(3)(c)); processing is restricted at once, and after the period
    two clinic admins anonymise the patient."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="erasure_requests")
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    how_received = models.CharField(max_length=200, help_text="e.g. letter of 3 March, email.")
    retention_ends_on = models.DateField(help_text="As computed when the request was recorded.")
    why_kept = models.TextField(help_text="Why the record is kept, as told to the patient.")
    status = models.CharField(
        max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.RESTRICTED
    )
    anonymise_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    anonymise_requested_at = models.DateTimeField(null=True, blank=True)
    anonymise_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # Two-person rule: whoever confirms the anonymisation is not who proposed it.
            models.CheckConstraint(
                condition=Q(anonymise_confirmed_by__isnull=True)
                | ~Q(anonymise_confirmed_by=F("anonymise_requested_by")),
                name="erasure_two_person_confirmation",
                violation_error_message="A second clinic admin must confirm the anonymisation.",
            ),
            models.CheckConstraint(condition=~Q(why_kept=""), name="erasure_says_why_kept"),
        ]

    def __str__(self):
        return f"Erasure request {self.pk}"


class CopyChannel(models.TextChoices):
    LINK = "link", "Patient's link"
    STAFF_DOWNLOAD = "staff", "Staff download"


class PatientCopy(models.Model):
    """A patient's own copy of their record (subject access), produced on request: the readable
    record as HTML and PDF and the FHIR Bundle, frozen when made. The files live in private
    storage and go when the link expires; the row stays as the log of the request."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    nonce = models.CharField(max_length=64, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="copies")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    how_requested = models.CharField(max_length=200)
    html_file = models.CharField(max_length=200, blank=True)
    pdf_file = models.CharField(max_length=200, blank=True)
    fhir_file = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    files_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name_plural = "patient copies"

    def __str__(self):
        return f"Patient copy {self.pk}"


class PatientCopyDelivery(models.Model):
    """One delivery of a copy: which file, how (the patient's link or a staff download), when."""

    patient_copy = models.ForeignKey(
        PatientCopy, on_delete=models.PROTECT, related_name="deliveries"
    )
    channel = models.CharField(max_length=5, choices=CopyChannel.choices)
    file_format = models.CharField(max_length=5)  # html, pdf or fhir
    delivered_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-delivered_at", "-pk"]
        verbose_name_plural = "patient copy deliveries"

    def __str__(self):
        return f"Delivery {self.pk} of copy {self.patient_copy_id}"


class PatientReport(models.Model):
    """What the patient told us at home before a visit (intake): information for the clinician,
    never a screening or a clearance. The clinician confirms it at the consultation.

    `findings` keeps the rule table's verdict on the reported answers so an absolute
    contraindication or red flag reaches the clinician before the visit; the patient never sees
    it. Rows are never edited: a second intake is a new row."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reports")
    submitted_at = models.DateTimeField()
    answers = models.JSONField(default=dict)  # {question_key: bool}, the rule table's questions
    # Contact details as the patient typed them; reception applies them after checking.
    contact = models.JSONField(default=dict)
    medical_history = models.TextField(blank=True)
    allergies = models.TextField(blank=True)
    medications = models.TextField(blank=True)
    consents_read = models.JSONField(default=list)  # ConsentText ids the patient said they read
    findings = models.JSONField(default=list)
    needs_attention = models.BooleanField(default=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-pk"]

    def __str__(self):
        return f"Patient report {self.pk}"

    @property
    def yes_questions(self) -> list[str]:
        """The questions the patient answered "yes" to, as the rule table words them."""
        keys = [key for key, said_yes in self.answers.items() if said_yes]
        questions = dict(
            ScreeningRule.objects.filter(question_key__in=keys).values_list(
                "question_key", "question"
            )
        )
        return [questions.get(key, key) for key in keys]
