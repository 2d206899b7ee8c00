"""What a patient reports about themselves before a visit (intake at home): information for the
clinician, never a clearance."""

from django.conf import settings
from django.db import models

from .patient import Patient
from .screening import ScreeningRule


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
