"""Running totals of signed records per formulation version, for the usage report.

A signed record never changes (and PostgreSQL triggers guard it), so the totals live on rows of
their own, updated in the signing transaction (sessions/records/usage.py): the report reads one
row per version instead of every signed record the clinic ever made. `manage.py usage_recount`
recounts them from the records (and says whether they had drifted)."""

from django.db import models


class VersionUsage(models.Model):
    """Signed records naming this version: how many, for how many patients, first and last."""

    version = models.OneToOneField(
        "formulations.FormulationVersion",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="usage",
    )
    sessions = models.PositiveIntegerField(default=0)
    patients = models.PositiveIntegerField(default=0)
    first_use = models.DateTimeField(null=True, blank=True)
    last_use = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.version_id}: {self.sessions} sessions, {self.patients} patients"


class VersionPatient(models.Model):
    """A patient has had this version (at least one signed record): the distinct patients."""

    version = models.ForeignKey(
        "formulations.FormulationVersion", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "patient"], name="version_patient_once")
        ]

    def __str__(self):
        return f"{self.version_id}/{self.patient_id}"


class VersionDay(models.Model):
    """Signed records naming this version on one day of the clinic's calendar (the session's
    day in the clinic's zone): the safety report's sessions per version over any period, read
    from at most a row per version and day instead of every record of the period."""

    version = models.ForeignKey(
        "formulations.FormulationVersion", on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    sessions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "day"], name="version_day_once")]

    def __str__(self):
        return f"{self.version_id} on {self.day}: {self.sessions} sessions"
