import io
from datetime import UTC, date, datetime

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from patients.models import (
    Allergy,
    Assessment,
    ConsentKind,
    ConsentSignature,
    ConsentText,
    Diagnosis,
    Medication,
    MedicationClass,
    OutcomeMeasurement,
    Patient,
    Scale,
    Screening,
    ScreeningRecheck,
    Severity,
    SexAtBirth,
)
from patients.outcomes import photo_add


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    record_number = factory.Sequence(lambda n: f"MT{n + 1:06d}")
    given_name = factory.Sequence(lambda n: f"Pat{n + 1}")
    family_name = "Example"
    date_of_birth = date(1985, 5, 17)
    sex_at_birth = SexAtBirth.MALE
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}@patients.example")
    mobile = "+447700900123"


class UserFactory(factory.django.DjangoModelFactory):
    """A plain user; give it a role with clinic.tests.factories.StaffProfileFactory when needed."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"patients-user{n}")


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    patient = factory.SubFactory(PatientFactory)
    substance = "Latex"
    severity = Severity.MODERATE
    recorded_by = factory.SubFactory(UserFactory)


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    patient = factory.SubFactory(PatientFactory)
    name = "Apixaban"
    medication_class = MedicationClass.ANTICOAGULANT
    recorded_by = factory.SubFactory(UserFactory)


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    patient = factory.SubFactory(PatientFactory)
    assessed_on = date(2026, 11, 2)
    diagnosis = Diagnosis.L64_9
    scale = Scale.NORWOOD
    scale_value = "III"
    zones = factory.LazyFunction(lambda: ["vertex"])
    clinician = factory.SubFactory(UserFactory)


class ScreeningFactory(factory.django.DjangoModelFactory):
    """A screening with every answer "no" unless `answers` is given."""

    class Meta:
        model = Screening

    patient = factory.SubFactory(PatientFactory)
    screened_on = date(2026, 11, 2)
    clinician = factory.SubFactory(UserFactory)
    answers = factory.LazyFunction(dict)
    findings = factory.LazyFunction(list)


class ScreeningRecheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreeningRecheck

    screening = factory.SubFactory(ScreeningFactory)
    checked_on = date(2026, 11, 16)
    answers = factory.LazyFunction(dict)
    clinician = factory.SubFactory(UserFactory)


class OutcomeMeasurementFactory(factory.django.DjangoModelFactory):
    """A vertex density reading; mark the zone's first one is_baseline=True yourself, or record
    through patients.outcomes.outcome_record(), which does."""

    class Meta:
        model = OutcomeMeasurement

    patient = factory.SubFactory(PatientFactory)
    measured_on = date(2026, 11, 2)
    zone = "vertex"
    density_per_cm2 = 120
    recorded_by = factory.SubFactory(UserFactory)


class PhotographyConsentFactory(factory.django.DjangoModelFactory):
    """A signed clinical photography consent (the text comes from patients' migration 0005)."""

    class Meta:
        model = ConsentSignature
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    text_signed = "Clinical photography (version 1)"
    typed_name = factory.LazyAttribute(lambda c: c.patient.full_name)
    confirmed = True
    signed_at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    witness = factory.SubFactory(UserFactory)

    @factory.post_generation
    def photography_text(self, create, extracted, **kwargs):
        if create:
            self.texts.add(
                ConsentText.objects.filter(kind=ConsentKind.PHOTOGRAPHY).order_by("-version")[0]
            )


class TreatmentConsentFactory(factory.django.DjangoModelFactory):
    """A signed treatment consent; given a formulation version with a prescription drug, it also
    carries the off-label statement for that version, as the consent form signs them together
    (the texts come from patients' migration 0003)."""

    class Meta:
        model = ConsentSignature
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    formulation_version = None
    text_signed = factory.LazyAttribute(lambda c: _consent_document(c.formulation_version))
    typed_name = factory.LazyAttribute(lambda c: c.patient.full_name)
    confirmed = True
    signed_at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    witness = factory.SubFactory(UserFactory)

    @factory.post_generation
    def consent_texts(self, create, extracted, **kwargs):
        if create:
            from patients.consent import consent_texts_for

            self.texts.set(consent_texts_for(formulation_version=self.formulation_version))


def _consent_document(version) -> str:
    from patients.consent import consent_document, consent_texts_for

    return consent_document(
        texts=consent_texts_for(formulation_version=version), formulation_version=version
    )


class ScreenedPatientFactory(PatientFactory):
    """Screened on 1 October 2026 with nothing found (valid to the end of December), so
    treatment may be booked (a patient never screened may not be)."""

    screening = factory.RelatedFactory(
        ScreeningFactory, factory_related_name="patient", screened_on=date(2026, 10, 1)
    )


def jpeg_upload(colour: str = "white") -> "SimpleUploadedFile":
    """A tiny JPEG as a browser uploads it."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="JPEG")
    return SimpleUploadedFile("p.jpg", out.getvalue(), content_type="image/jpeg")


def standard_photo(*, patient, by, view: str, on: date, session=None, now=None):
    """A photo of one protocol view stored through photo_add (the patient needs the
    photography consent)."""
    return photo_add(
        patient=patient,
        view=view,
        taken_on=on,
        session=session,
        upload=jpeg_upload(),
        by=by,
        now=now or datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )
