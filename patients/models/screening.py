"""Contraindication screening as data: versioned rules, screenings, pre-session re-checks,
overrides of relative findings and dermatologists' clearances of red flags."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from simple_history.models import HistoricalRecords

from .clinical import Voidable
from .patient import Patient, SexAtBirth


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
