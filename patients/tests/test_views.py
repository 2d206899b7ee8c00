"""The patients pages as each role sees them."""

from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
import time_machine

from clinic.models import AccessLog
from clinic.roles import Role
from patients.consent import consent_digest
from patients.models import (
    Allergy,
    Assessment,
    ConsentSignature,
    Patient,
    Screening,
    ScreeningOverride,
    SexAtBirth,
)
from patients.tests.factories import (
    AllergyFactory,
    MedicationFactory,
    PatientFactory,
    ScreeningFactory,
)

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def page_text(response) -> str:
    return response.content.decode()


# list and search


@pytest.mark.parametrize("rows", [1, 50])
def test_the_patient_list_costs_the_same_queries_for_one_or_fifty_rows(
    client_as, django_assert_max_num_queries, rows
):
    PatientFactory.create_batch(rows)
    client = client_as(Role.RECEPTION)
    with django_assert_max_num_queries(12):
        response = client.get("/patients/")
    assert response.status_code == 200
    assert len(response.context["page"]) == min(rows, 25)


def test_the_list_is_paginated_and_keeps_the_search(client_as):
    PatientFactory.create_batch(30, family_name="Smith")
    response = client_as(Role.RECEPTION).get("/patients/?q=smith&page=2")
    assert len(response.context["page"]) == 5
    assert "?q=smith&amp;page=1" in page_text(response)


def test_search_finds_by_record_number(client_as):
    patient = PatientFactory(given_name="Zoe", record_number="MT000321")
    PatientFactory(given_name="Other")
    response = client_as(Role.RECEPTION).get("/patients/?q=MT000321")
    assert list(response.context["page"]) == [patient]


def test_a_search_with_no_match_says_what_to_try(client_as):
    response = client_as(Role.RECEPTION).get("/patients/?q=nobody")
    assert "No patient matches" in page_text(response)


# registration and contact edits


def test_reception_registers_a_patient_with_a_generated_record_number(client_as):
    response = client_as(Role.RECEPTION).post(
        "/patients/new/",
        {
            "given_name": "Ann",
            "family_name": "Smith",
            "date_of_birth": "1980-02-03",
            "sex_at_birth": "female",
            "email": "ann@patients.example",
            "mobile": "07911 123456",
            "preferred_channel": "sms",
            "sms_consent": "on",
        },
    )
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert patient.record_number == f"MT{patient.pk:06d}"
    assert str(patient.mobile) == "+447911123456"
    assert patient.sms_consent_at == NOW and patient.email_consent_at is None


def test_bad_registration_input_is_explained_and_nothing_is_saved(client_as):
    response = client_as(Role.RECEPTION).post(
        "/patients/new/",
        {
            "given_name": "Ann",
            "family_name": "Smith",
            "date_of_birth": "2030-01-01",
            "sex_at_birth": "female",
            "mobile": "not a number",
            "preferred_channel": "sms",
            "email_consent": "on",
        },
    )
    text = page_text(response)
    assert response.status_code == 200
    assert "cannot be in the future" in text
    assert "Enter a mobile number, like 07400 123456" in text
    assert "Consent to email reminders needs an email address" in text
    assert response.context["form"]["given_name"].value() == "Ann"
    assert not Patient.objects.exists()


def test_reception_edits_contact_data_and_consent(client_as):
    patient = PatientFactory(email_consent_at=None)
    client = client_as(Role.RECEPTION)
    response = client.post(
        f"/patients/{patient.pk}/edit/",
        {
            "given_name": patient.given_name,
            "family_name": "Newname",
            "date_of_birth": "1985-05-17",
            "sex_at_birth": "male",
            "email": "new@patients.example",
            "mobile": "+447911123456",
            "preferred_channel": "email",
            "email_consent": "on",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.family_name == "Newname" and patient.email_consent_at == NOW
    assert "Agreed 16 Nov 2026" in page_text(client.get(f"/patients/{patient.pk}/"))


class FormValues(HTMLParser):
    """What a browser would submit from the page's form, unchanged."""

    def __init__(self):
        super().__init__()
        self.data, self._select = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.data[attrs["name"]] = attrs.get("value", "on")
            else:
                self.data[attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self._select = attrs["name"]
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def test_a_patient_opened_for_editing_saves_unchanged(client_as, settings):
    settings.LANGUAGE_CODE = "en-gb"
    patient = PatientFactory(date_of_birth=date(1980, 2, 1), mobile="07700 900123")
    client = client_as(Role.RECEPTION)
    page = FormValues()
    page.feed(page_text(client.get(f"/patients/{patient.pk}/edit/")))
    assert page.data["date_of_birth"] == "1980-02-01"

    response = client.post(f"/patients/{patient.pk}/edit/", page.data)

    assert response.status_code == 302, response.context["form"].errors
    patient.refresh_from_db()
    assert patient.date_of_birth == date(1980, 2, 1)
    assert str(patient.mobile) == "+447700900123"


def test_registering_someone_already_known_asks_first(client_as):
    known = PatientFactory(given_name="Ann", family_name="Smith", date_of_birth=date(1980, 2, 3))
    client = client_as(Role.RECEPTION)
    details = {
        "given_name": "ann",
        "family_name": "SMITH",
        "date_of_birth": "1980-02-03",
        "sex_at_birth": "female",
        "mobile": "07911 654321",
        "preferred_channel": "sms",
    }
    response = client.post("/patients/new/", details)

    assert response.status_code == 200
    text = page_text(response)
    assert "This patient may already be registered" in text
    assert f'href="/patients/{known.pk}/">Use existing' in text
    assert Patient.objects.count() == 1

    response = client.post("/patients/new/", {**details, "register_anyway": "1"})
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_the_same_mobile_is_a_possible_duplicate_too(client_as):
    PatientFactory(mobile="+447911654321")
    response = client_as(Role.RECEPTION).post(
        "/patients/new/",
        {
            "given_name": "Bea",
            "family_name": "Other",
            "date_of_birth": "1990-01-01",
            "sex_at_birth": "female",
            "mobile": "07911 654321",
            "preferred_channel": "sms",
        },
    )
    assert "This patient may already be registered" in page_text(response)


def test_a_new_assessment_is_dated_today(client_as):
    patient = PatientFactory()
    response = client_as(Role.CLINICIAN).get(f"/patients/{patient.pk}/assessments/new/")
    assert response.context["form"]["assessed_on"].value() == NOW.date()


def test_patient_names_never_appear_in_urls(client_as):
    PatientFactory(given_name="Uniquename")
    response = client_as(Role.RECEPTION).get("/patients/")
    hrefs = [part.split('"')[0] for part in page_text(response).split('href="')[1:]]
    assert not any("Uniquename" in href for href in hrefs)


# reception and clinical data


def test_reception_sees_only_that_a_clinician_is_needed(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10),
        answers={"pregnant": True},
        patient__sex_at_birth=SexAtBirth.FEMALE,
    )
    text = page_text(client_as(Role.RECEPTION).get(f"/patients/{screening.patient.pk}/"))
    assert "Needs a clinician" in text
    assert "pregnan" not in text.lower()
    assert "Clinical</a>" not in text


def test_clinicians_see_which_rule_blocks_on_the_overview(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10),
        answers={"pregnant": True},
        patient__sex_at_birth=SexAtBirth.FEMALE,
    )
    text = page_text(client_as(Role.CLINICIAN).get(f"/patients/{screening.patient.pk}/"))
    assert "pregnancy" in text and "cannot be overridden" in text


def test_a_never_screened_patient_shows_screen_before_treatment(client_as):
    patient = PatientFactory()
    text = page_text(client_as(Role.RECEPTION).get(f"/patients/{patient.pk}/"))
    assert "Screen before treatment" in text


@pytest.mark.parametrize(
    "path",
    [
        "clinical/",
        "allergies/new/",
        "medications/new/",
        "assessments/new/",
        "screening/new/",
        "screening/{screening}/",
        "screening/{screening}/recheck/",
        "consent/new/",
    ],
)
def test_reception_gets_403_on_every_clinical_page(client_as, path):
    screening = ScreeningFactory()
    url = f"/patients/{screening.patient.pk}/" + path.format(screening=screening.pk)
    response = client_as(Role.RECEPTION).get(url)
    assert response.status_code == 403
    assert "does not give access" in page_text(response)
    assert not AccessLog.objects.exists()


def test_clinical_querysets_are_empty_for_reception(reception_user, clinician_user):
    allergy = AllergyFactory()
    assert list(Allergy.objects.visible_to(reception_user)) == []
    assert list(Screening.objects.visible_to(reception_user)) == []
    assert list(Allergy.objects.visible_to(clinician_user)) == [allergy]


def test_the_clinical_tab_shows_allergies_and_medicines_and_is_logged(client_as):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Lidocaine")
    MedicationFactory(patient=patient, name="Warfarin")
    client = client_as(Role.CLINICIAN)

    text = page_text(client.get(f"/patients/{patient.pk}/clinical/"))

    assert "Lidocaine" in text and "Warfarin" in text
    assert "Anticoagulant" in text  # the medication class, which the bleeding rule reads
    entry = AccessLog.objects.get()
    assert (entry.patient, entry.page, entry.path) == (
        patient,
        "patients:clinical",
        f"/patients/{patient.pk}/clinical/",
    )
    assert entry.viewed_at == NOW


def test_clinic_admins_list_the_access_log_per_patient_and_per_user(
    client, clinician_user, clinic_admin_user
):
    patient = PatientFactory(given_name="Logged")
    client.force_login(clinician_user)
    client.get(f"/patients/{patient.pk}/clinical/")
    client.force_login(clinic_admin_user)

    by_patient = client.get(f"/patients/{patient.pk}/access-log/")
    by_user = client.get(f"/patients/access-log/users/{clinician_user.pk}/")

    assert "Dr Cleo Clinician" in page_text(by_patient)
    assert patient.record_number in page_text(by_user)
    assert len(by_patient.context["page"]) == len(by_user.context["page"]) == 1


def test_clinicians_cannot_read_the_access_log(client_as):
    patient = PatientFactory()
    assert client_as(Role.CLINICIAN).get(f"/patients/{patient.pk}/access-log/").status_code == 403


# clinical records


def test_an_allergy_needs_something_to_be_allergic_to(client_as):
    patient = PatientFactory()
    response = client_as(Role.CLINICIAN).post(
        f"/patients/{patient.pk}/allergies/new/", {"severity": "mild"}
    )
    assert "Name what the patient is allergic to" in page_text(response)
    assert not Allergy.objects.exists()


@pytest.mark.parametrize(
    ("scale", "value", "error"),
    [
        ("ludwig", {"reading": "ludwig:IV"}, "Select a valid choice."),
        ("ludwig", {"reading": "norwood:IV"}, "Choose a value from the Ludwig group."),
        ("sinclair", {"reading": "sinclair:6"}, "Select a valid choice."),
        ("savin", {"reading": ""}, "Choose a value from the Savin group."),
        ("salt", {"salt_score": "101"}, "less than or equal to 100"),
        ("salt", {"salt_score": "lots"}, "Enter a number."),
        ("salt", {}, "Type the SALT score (0 to 100)."),
    ],
)
def test_an_assessment_value_must_belong_to_its_scale(client_as, scale, value, error):
    patient = PatientFactory()
    response = client_as(Role.CLINICIAN).post(
        f"/patients/{patient.pk}/assessments/new/",
        {"assessed_on": "2026-11-16", "diagnosis": "L64.9", "scale": scale, **value},
    )
    assert response.status_code == 200
    assert error in page_text(response)
    assert not Assessment.objects.exists()


def test_a_valid_assessment_is_saved_with_its_zones_and_clinician(client_as):
    patient = PatientFactory()
    client = client_as(Role.CLINICIAN)
    response = client.post(
        f"/patients/{patient.pk}/assessments/new/",
        {
            "assessed_on": "2026-11-16",
            "diagnosis": "L63.9",
            "scale": "salt",
            "salt_score": "42.5",
            "zones": ["vertex", "occipital"],
        },
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert (assessment.scale_value, assessment.zones) == ("42.5", ["vertex", "occipital"])
    assert "L63.9 Alopecia areata" in page_text(client.get(f"/patients/{patient.pk}/clinical/"))


# screening workflow


def screening_answers(patient, **yes):
    from patients.screening import questions_for

    return {f"q_{key}": "yes" if key in yes else "no" for key, _ in questions_for(patient=patient)}


def test_a_clinician_records_a_screening_and_sees_its_findings(client_as):
    patient = PatientFactory(sex_at_birth=SexAtBirth.MALE)
    client = client_as(Role.CLINICIAN)

    response = client.post(
        f"/patients/{patient.pk}/screening/new/", screening_answers(patient, keloid=True)
    )

    screening = Screening.objects.get()
    assert response["Location"] == f"/patients/{patient.pk}/screening/{screening.pk}/"
    assert screening.screened_on == date(2026, 11, 16)
    text = page_text(client.get(response["Location"]))
    assert "Keloid tendency." in text and "Override" in text
    assert "Do your scars tend to become raised or keloid? <strong>Yes</strong>" in text


def test_an_unanswered_question_is_flagged_and_nothing_is_saved(client_as):
    patient = PatientFactory()
    answers = screening_answers(patient)
    answers.pop("q_keloid")
    response = client_as(Role.CLINICIAN).post(f"/patients/{patient.pk}/screening/new/", answers)
    assert "Answer yes or no." in page_text(response)
    assert not Screening.objects.exists()


def test_an_override_from_the_page_clears_the_patient(client_as):
    screening = ScreeningFactory(screened_on=date(2026, 11, 10), answers={"keloid": True})
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/"

    response = client.post(url + "override/", {"rule_code": "keloid", "reason": "Flat scars."})

    assert response["Location"] == url
    assert ScreeningOverride.objects.get().reason == "Flat scars."
    assert "Cleared for treatment" in page_text(client.get(url))


def test_overriding_an_absolute_finding_says_why_it_is_refused(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10),
        answers={"scalp_infection": True},
    )
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/"

    response = client.post(
        url + "override/", {"rule_code": "scalp_infection", "reason": "x"}, follow=True
    )

    assert "is an absolute contraindication: it cannot be overridden" in page_text(response)
    assert not ScreeningOverride.objects.exists()


def test_an_absolute_block_is_red_named_and_offers_no_override_anywhere(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10),
        answers={"scalp_infection": True, "keloid": True, "patchy_loss": True},
    )
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/"

    text = page_text(client_as(Role.CLINICIAN).get(url))

    assert 'class="alert alert-danger"' in text.split('data-testid="clearance"')[0][-200:]
    assert "Scalp infection or dermatitis" in text and "Keloid tendency" in text
    assert "scalp_infection</" not in text and "“scalp_infection”" not in text
    assert "Override</button>" not in text
    assert "dermatologist&#x27;s clearance</button>" not in text
    assert "nothing on this screening can be overridden or cleared" in text


def test_each_override_form_on_a_screening_has_its_own_label_ids(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10), answers={"keloid": True, "cardiac": True}
    )
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/"
    text = page_text(client_as(Role.CLINICIAN).get(url))

    assert 'for="id_keloid_reason"' in text and 'id="id_keloid_reason"' in text
    assert 'for="id_cardiac_reason"' in text and 'id="id_reason"' not in text


def test_a_referral_clearance_from_the_page_lifts_the_red_flag(client_as):
    screening = ScreeningFactory(screened_on=date(2026, 11, 10), answers={"patchy_loss": True})
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/"
    assert "Refer the patient to a dermatologist" in page_text(client.get(url))

    client.post(
        url + "referral-clearance/",
        {"rule_code": "patchy_loss", "cleared_on": "2026-11-12", "cleared_by": "Dr Derm"},
    )

    assert "Cleared by Dr Derm" in page_text(client.get(url))


def test_the_recheck_asks_only_the_recheck_questions(client_as):
    screening = ScreeningFactory(
        screened_on=date(2026, 11, 10), patient__sex_at_birth=SexAtBirth.FEMALE
    )
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{screening.patient.pk}/screening/{screening.pk}/recheck/"

    form = client.get(url).context["form"]
    assert set(form.fields) == {
        "q_pregnant",
        "q_scalp_infection",
        "q_bleeding_risk",
        "new_medicines",
        "notes",
    }
    response = client.post(
        url,
        {
            "q_pregnant": "no",
            "q_scalp_infection": "yes",
            "q_bleeding_risk": "no",
            "new_medicines": "no",
        },
        follow=True,
    )
    assert "Active scalp infection" in page_text(response)


# consent


def test_consent_for_a_drug_formulation_includes_the_off_label_statement(client_as, dht_version):
    patient = PatientFactory()
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{patient.pk}/consent/new/?version={dht_version.pk}"
    document = client.get(url).context["document"]
    assert "used off-label" in document and "Dutasteride" in document

    response = client.post(
        url,
        {
            "text_digest": consent_digest(document=document),
            "typed_name": "Pat Example",
            "confirmed": "on",
        },
    )

    signature = ConsentSignature.objects.get()
    assert response.status_code == 302
    assert signature.text_signed == document
    assert signature.signed_at == NOW
    assert {t.kind for t in signature.texts.all()} == {"treatment", "off_label"}


def test_consent_for_a_drug_free_formulation_has_no_off_label_statement(client_as, vitamin_version):
    patient = PatientFactory()
    url = f"/patients/{patient.pk}/consent/new/?version={vitamin_version.pk}"
    assert "off-label" not in client_as(Role.CLINICIAN).get(url).context["document"]


def test_consent_needs_the_confirmation_tick_and_the_current_text(client_as):
    patient = PatientFactory()
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{patient.pk}/consent/new/"

    unticked = client.post(url, {"text_digest": "whatever", "typed_name": "Pat"})
    stale = client.post(
        url,
        {
            "text_digest": consent_digest(document="old text"),
            "typed_name": "Pat",
            "confirmed": "on",
        },
    )

    assert "The patient must tick to confirm." in page_text(unticked)
    assert "The consent text changed" in page_text(stale)
    assert not ConsentSignature.objects.exists()


def test_a_bad_version_parameter_is_a_400_not_a_500(client_as):
    patient = PatientFactory()
    response = client_as(Role.CLINICIAN).get(f"/patients/{patient.pk}/consent/new/?version=abc")
    assert response.status_code == 400
