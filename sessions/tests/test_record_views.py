"""The record pages: who may open them, what they show, and what each refusal says."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from clinic.models import AccessLog
from clinic.roles import Role
from formulations.tests.factories import FormulationVersionFactory, LotFactory
from patients.models import ConsentWithdrawal
from patients.tests.factories import ScreeningRecheckFactory
from sessions.models import SessionRecord, SessionStatus
from sessions.records import records
from sessions.tests.factories import AdverseEventFactory, TreatmentSessionFactory
from sessions.tests.records_fixtures import DURING_SESSION, SESSION_START

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def during_session(time_machine):
    time_machine.move_to(DURING_SESSION, tick=False)


@pytest.fixture
def as_clinician(client, clinician):
    client.force_login(clinician.user)
    return client


def _url(name, session, *args):
    return reverse(f"treatment_sessions:{name}", args=[session.pk, *args])


INJECTION = {
    "zone": "vertex",
    "volume_ml": "1.00",
    "depth_mm": "2.0",
    "technique": "nappage",
    "device": "syringe",
    "needle_gauge": "32",
    "injection_points": "30",
}


def _signed(session, clinician, lot):
    record = records.record_start(session=session, clinician=clinician, now=DURING_SESSION)
    records.injection_add(
        record=record,
        zone="vertex",
        volume_ml=D("1"),
        depth_mm=D("2"),
        technique="nappage",
        device="syringe",
        needle_gauge=32,
        injection_points=30,
    )
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))
    records.record_update(record=record, notes="Secret clinical note")
    return records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)


def test_the_clinician_starts_records_and_signs_through_the_page(as_clinician, checked_in, lot):
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    assert "Start the record" in page

    response = as_clinician.post(_url("record", checked_in), follow=True)
    assert "Record started." in response.content.decode()
    as_clinician.post(_url("record_injection_add", checked_in), INJECTION)
    as_clinician.post(
        _url("record_lot_add", checked_in), {"lot": lot.pk, "volume_ml": "1", "units_used": "1"}
    )
    as_clinician.post(
        _url("record_details", checked_in), {"pain_score": "3", "prp_given": "on", "notes": "ok"}
    )
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    # 1 mL × 0.01 % w/v dutasteride = 0.1 mg; 1 mL × 0.1 mg/mL biotin = 0.1 mg.
    assert "Dutasteride: 0.1 mg" in page and "Biotin: 0.1 mg" in page

    response = as_clinician.post(_url("record_sign", checked_in), {"confirm": "yes"}, follow=True)

    page = response.content.decode()
    assert "Record signed. The session is completed." in page
    assert "Do not donate blood for 6 months" in page
    assert 'data-testid="sign-form"' not in page and 'data-testid="injection-form"' not in page
    checked_in.refresh_from_db()
    assert checked_in.status == SessionStatus.COMPLETED
    record = SessionRecord.objects.get()
    assert (record.pain_score, record.prp_given) == (3, True)


def test_the_page_says_why_a_record_cannot_start_and_links_to_the_fix(
    as_clinician, checked_in, cleared_patient
):
    cleared_patient.screenings.get().rechecks.all().delete()
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    assert "The record cannot be started yet." in page
    assert "re-check" in page
    assert "Record today&#x27;s re-check" in page
    assert "Start the record" not in page
    response = as_clinician.post(_url("record", checked_in), follow=True)
    assert "re-check" in response.content.decode()
    assert not SessionRecord.objects.exists()


def test_a_depth_over_4_mm_is_shown_on_the_form(as_clinician, checked_in, clinician):
    records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    response = as_clinician.post(
        _url("record_injection_add", checked_in), {**INJECTION, "depth_mm": "4.5"}
    )
    assert response.status_code == 200
    assert "less than or equal to 4" in response.content.decode()
    assert not SessionRecord.objects.get().injections.exists()


def test_an_unusable_lot_is_refused_with_the_reason(as_clinician, checked_in, clinician):
    records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    other = LotFactory(version=FormulationVersionFactory(), lot_number="OTHER-9")
    response = as_clinician.post(
        _url("record_lot_add", checked_in), {"lot": other.pk, "volume_ml": "1", "units_used": "1"}
    )
    page = response.content.decode()
    assert "Lot OTHER-9 is of" in page
    assert not SessionRecord.objects.get().lots_used.exists()


def test_signing_an_incomplete_record_says_what_is_missing(as_clinician, checked_in, clinician):
    records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    response = as_clinician.post(_url("record_sign", checked_in), {"confirm": "yes"}, follow=True)
    assert "Record at least one injection" in response.content.decode()
    response = as_clinician.post(_url("record_sign", checked_in), {}, follow=True)
    assert "Tick “I confirm" in response.content.decode()
    assert SessionRecord.objects.get().signed_at is None


def test_every_write_to_a_signed_record_through_the_pages_is_refused(
    as_clinician, checked_in, clinician, lot
):
    record = _signed(checked_in, clinician, lot)
    injection, use = record.injections.get(), record.lots_used.get()
    posts = [
        (_url("record_details", checked_in), {"notes": "changed"}),
        (_url("record_injection_add", checked_in), {**INJECTION, "zone": "frontal"}),
        (_url("record_injection_remove", checked_in, injection.pk), {}),
        (_url("record_lot_add", checked_in), {"lot": lot.pk, "volume_ml": "1", "units_used": "1"}),
        (_url("record_lot_remove", checked_in, use.pk), {}),
        (_url("record_sign", checked_in), {"confirm": "yes"}),
    ]
    for url, data in posts:
        response = as_clinician.post(url, data, follow=True)
        assert "is signed" in response.content.decode(), url
    record.refresh_from_db()
    assert record.notes == "Secret clinical note"
    assert record.injections.count() == 1 and record.lots_used.count() == 1


def test_a_clinician_adds_an_addendum_to_a_signed_record(as_clinician, checked_in, clinician, lot):
    _signed(checked_in, clinician, lot)
    response = as_clinician.post(
        _url("record_addendum", checked_in), {"text": "Patient called: fine."}, follow=True
    )
    page = response.content.decode()
    assert "Addendum signed and added." in page
    assert "Patient called: fine." in page
    assert f"Signed by {clinician.display_name}" in page


def test_an_admin_reads_a_record_but_cannot_write_it(client_as, checked_in, clinician, lot):
    _signed(checked_in, clinician, lot)
    client = client_as(Role.CLINIC_ADMIN)
    page = client.get(_url("record", checked_in)).content.decode()
    assert "Secret clinical note" in page
    assert "Add an addendum" not in page
    assert client.post(_url("record", checked_in)).status_code == 403
    assert client.post(_url("record_details", checked_in), {"notes": "x"}).status_code == 403
    assert client.post(_url("record_addendum", checked_in), {"text": "x"}).status_code == 403


def test_reception_gets_403_on_every_record_url_and_never_sees_record_content(
    client_as, checked_in, clinician, lot
):
    record = _signed(checked_in, clinician, lot)
    client = client_as(Role.RECEPTION)
    urls = [
        _url("record", checked_in),
        _url("record_details", checked_in),
        _url("record_injection_add", checked_in),
        _url("record_injection_remove", checked_in, record.injections.get().pk),
        _url("record_lot_add", checked_in),
        _url("record_lot_remove", checked_in, record.lots_used.get().pk),
        _url("record_sign", checked_in),
        _url("record_addendum", checked_in),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"notes": "x", "text": "x"}).status_code == 403, url
    session_page = client.get(_url("session_detail", checked_in)).content.decode()
    assert "Clinical record" not in session_page
    assert "Secret clinical note" not in session_page
    calendar = client.get(
        reverse("treatment_sessions:calendar") + "?date=2026-11-23&clinician=all"
    ).content.decode()
    assert "Secret clinical note" not in calendar and "DHT-7001" not in calendar


def test_the_session_page_links_clinicians_to_the_record(as_clinician, checked_in):
    page = as_clinician.get(_url("session_detail", checked_in)).content.decode()
    assert _url("record", checked_in) in page


def test_opening_a_record_is_written_to_the_access_log(as_clinician, checked_in, clinician):
    as_clinician.get(_url("record", checked_in))
    entry = AccessLog.objects.get()
    assert (entry.user, entry.patient) == (clinician.user, checked_in.patient)
    assert entry.page == "treatment_sessions:record"


def test_the_dashboard_flags_a_clinicians_records_unsigned_after_24_hours(
    as_clinician, checked_in, clinician, time_machine, staff
):
    records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)

    time_machine.move_to(DURING_SESSION + timedelta(hours=23), tick=False)
    as_clinician.force_login(clinician.user)  # a day without activity ends a staff session
    panel = as_clinician.get("/").content.decode()
    assert "Every record you started is signed." in panel

    time_machine.move_to(DURING_SESSION + timedelta(hours=25), tick=False)
    as_clinician.force_login(clinician.user)  # two idle hours ended the earlier session
    panel = as_clinician.get("/").content.decode()
    assert _url("record", checked_in) in panel
    assert checked_in.patient.full_name in panel

    other = staff(Role.CLINICIAN, display_name="Dr Other")
    as_clinician.force_login(other.user)
    assert _url("record", checked_in) not in as_clinician.get("/").content.decode()


# Consent and the signer's registration number ----------------------------------------------------


def test_the_page_sends_a_patient_without_consent_to_the_consent_form(
    as_clinician, screened_patient, clinician, room, course, dht_version
):
    checked_in = TreatmentSessionFactory(
        patient=screened_patient,
        clinician=clinician,
        room=room,
        plan=course,
        sequence=1,
        starts_at=SESSION_START,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=SESSION_START,
    )
    cleared_patient = screened_patient

    page = as_clinician.get(_url("record", checked_in)).content.decode()

    assert "The record cannot be started yet." in page
    assert "The patient has not signed the treatment consent and the off-label statement" in page
    consent_url = reverse("patients:consent_new", args=[cleared_patient.pk])
    assert f'href="{consent_url}?version={dht_version.pk}"' in page
    assert "Take the patient&#x27;s consent" in page
    assert "Start the record" not in page


def test_signing_without_a_registration_number_says_to_ask_an_admin(
    as_clinician, checked_in, clinician, lot
):
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    as_clinician.post(_url("record_injection_add", checked_in), INJECTION)
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    assert 'data-testid="sign-form"' in page and 'data-testid="registration-missing"' not in page
    clinician.registration_number = ""
    clinician.save()
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    assert 'data-testid="registration-missing"' in page

    response = as_clinician.post(_url("record_sign", checked_in), {"confirm": "yes"}, follow=True)

    assert (
        "Add your professional registration number to your staff profile before signing "
        "(ask a clinic admin)." in response.content.decode()
    )
    assert SessionRecord.objects.get().signed_at is None


def test_the_signed_record_shows_the_signers_registration_number(
    as_clinician, checked_in, clinician, lot
):
    _signed(checked_in, clinician, lot)
    as_clinician.post(_url("record_addendum", checked_in), {"text": "Patient called: fine."})

    page = as_clinician.get(_url("record", checked_in)).content.decode()

    signature = f"Signed by {clinician.display_name} (registration "
    assert page.count(signature) == 2  # the record and its addendum
    assert f'<span data-testid="signer-registration">{clinician.registration_number}</span>' in page


# Adverse events from the session ----------------------------------------------------------------


def test_a_clinician_reaches_the_adverse_event_form_and_the_events_from_session_and_record(
    as_clinician, checked_in, clinician
):
    AdverseEventFactory(session=checked_in, event_type="erythema")
    records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    new_event = reverse("treatment_sessions:adverse_event_new", args=[checked_in.pk])

    for url in (_url("session_detail", checked_in), _url("record", checked_in)):
        page = as_clinician.get(url).content.decode()
        assert "Record an adverse event" in page, url
        assert f'href="{new_event}"' in page, url
        assert "Erythema (redness)" in page, url


def test_no_adverse_event_button_before_the_patient_has_attended(as_clinician, checked_in):
    checked_in.status = SessionStatus.CONFIRMED
    checked_in.save()
    page = as_clinician.get(_url("session_detail", checked_in)).content.decode()
    assert "Record an adverse event" not in page
    assert "No adverse event recorded." in page


def test_reception_sees_neither_the_adverse_events_nor_the_button_on_the_session_page(
    client_as, checked_in
):
    AdverseEventFactory(session=checked_in, event_type="erythema")

    page = client_as(Role.RECEPTION).get(_url("session_detail", checked_in)).content.decode()

    assert "Record an adverse event" not in page
    assert "Erythema" not in page and "Adverse events" not in page
    assert not AccessLog.objects.exists()


def test_an_admin_reads_the_sessions_adverse_events_but_records_none(client_as, checked_in):
    AdverseEventFactory(session=checked_in, event_type="erythema")

    page = client_as(Role.CLINIC_ADMIN).get(_url("session_detail", checked_in)).content.decode()

    assert "Erythema (redness)" in page
    assert "Record an adverse event" not in page
    assert AccessLog.objects.get().page == "treatment_sessions:session_detail"


# Correcting an entry before signing ---------------------------------------------------------


def test_a_clinician_corrects_a_mistyped_volume_before_signing(as_clinician, checked_in, clinician):
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    as_clinician.post(_url("record_injection_add", checked_in), INJECTION)
    injection = record.injections.get()

    form = as_clinician.get(_url("record_injection_edit", checked_in, injection.pk))
    response = as_clinician.post(
        _url("record_injection_edit", checked_in, injection.pk), {**INJECTION, "volume_ml": "1.50"}
    )

    assert 'value="1.00"' in form.content.decode()
    assert response.status_code == 302
    injection.refresh_from_db()
    assert injection.volume_ml == Decimal("1.50")


def test_a_correction_deeper_than_4_mm_is_refused_on_the_form(as_clinician, checked_in, clinician):
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    as_clinician.post(_url("record_injection_add", checked_in), INJECTION)
    injection = record.injections.get()

    response = as_clinician.post(
        _url("record_injection_edit", checked_in, injection.pk), {**INJECTION, "depth_mm": "4.5"}
    )

    assert response.status_code == 400
    assert "less than or equal to 4" in response.content.decode()
    injection.refresh_from_db()
    assert injection.depth_mm == Decimal("2.0")


def test_a_signed_record_offers_no_correction(as_clinician, checked_in, clinician, lot):
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    as_clinician.post(_url("record_injection_add", checked_in), INJECTION)
    records.record_lot_add(record=record, lot=lot, volume_ml=Decimal("1"))
    records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    injection = record.injections.get()

    response = as_clinician.post(
        _url("record_injection_edit", checked_in, injection.pk), {**INJECTION, "volume_ml": "3"}
    )

    assert response.status_code == 302
    injection.refresh_from_db()
    assert injection.volume_ml == Decimal("1.00")
    page = as_clinician.get(_url("record", checked_in)).content.decode()
    assert "never be changed" in page


def test_a_patient_found_pregnant_since_the_start_blocks_the_signature_and_the_page_says_why(
    as_clinician, checked_in, clinician, lot
):
    # given: a record started and filled in; then today's re-check finds her pregnant, and she
    # withdrew her consent as well
    checked_in.patient.sex_at_birth = "female"
    checked_in.patient.save(update_fields=["sex_at_birth"])
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    records.injection_add(record=record, **{**INJECTION, "volume_ml": D("1")})
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))
    screening = checked_in.patient.screenings.get()
    ScreeningRecheckFactory(
        screening=screening, checked_on=DURING_SESSION.date(), answers={"pregnant": True}
    )
    for consent in checked_in.patient.consents.all():
        ConsentWithdrawal.objects.create(
            signature=consent,
            withdrawn_at=DURING_SESSION,
            reason="By phone",
            recorded_by=clinician.user,
        )

    # when
    page = as_clinician.get(_url("record", checked_in)).content.decode()

    # then: every unmet prerequisite at once, each with its fix
    blockers = page.split('data-testid="sign-blockers"')[1].split("</div>")[0]
    assert "Blocked by screening rule “Pregnancy” (absolute contraindication)" in blockers
    assert "has not signed the treatment consent" in blockers
    assert f'href="/patients/{checked_in.patient_id}/screening/{screening.pk}/"' in blockers
    assert "Take the patient&#x27;s consent" in blockers
    response = as_clinician.post(_url("record_sign", checked_in), {"confirm": "yes"}, follow=True)
    assert "The record cannot be signed. Blocked by screening rule “Pregnancy”" in (
        response.content.decode()
    )
    record.refresh_from_db()
    assert record.signed_at is None


def test_the_signed_record_shows_what_its_clearance_was_judged_on(
    as_clinician, checked_in, clinician, lot
):
    record = records.record_start(session=checked_in, clinician=clinician, now=DURING_SESSION)
    records.injection_add(record=record, **{**INJECTION, "volume_ml": D("1")})
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))
    records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)

    page = as_clinician.get(_url("record", checked_in)).content.decode()

    snapshot = page.split('data-testid="clearance-snapshot"')[1].split("</div>")[0]
    assert "Cleared" in snapshot and "for treatment on 2026-11-23" in snapshot
    assert "Screening of 2026-11-02" in snapshot and "re-checked 2026-11-23" in snapshot
    assert "DHT-7001" in snapshot and "available" in snapshot
