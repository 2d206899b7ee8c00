"""Consent texts, the signatures with the exact text shown, and withdrawals."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .patient import Patient


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


class SignatureMethod(models.TextChoices):
    IN_CLINIC = "in_clinic", "Signed in the clinic, witnessed"
    REMOTE = "remote", "Signed remotely through the patient's link"


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
    method = models.CharField(
        max_length=10, choices=SignatureMethod.choices, default=SignatureMethod.IN_CLINIC
    )
    # In the clinic a clinician witnesses; remotely nobody does, and the row says how the patient
    # was reached instead: the channel that proved their contact and the link they signed through
    # (an opaque id: the link lives in the sessions app, above this one).
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    remote_channel = models.CharField(
        max_length=5, blank=True, choices=[("email", "Email"), ("sms", "SMS")]
    )
    remote_link_id = models.PositiveBigIntegerField(null=True, blank=True)

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
            models.CheckConstraint(
                condition=(
                    Q(method="in_clinic", witness__isnull=False)
                    | Q(
                        method="remote",
                        witness__isnull=True,
                        remote_channel__in=["email", "sms"],
                        remote_link_id__isnull=False,
                    )
                ),
                name="consent_witnessed_or_remote",
                violation_error_message="A consent signed in the clinic needs a clinician as "
                "witness; one signed remotely names the link and channel it came through.",
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
    def is_remote(self) -> bool:
        return self.method == SignatureMethod.REMOTE

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
