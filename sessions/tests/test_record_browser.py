"""A clinician records and signs a session in a real browser."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.accounts import log_in
from formulations.tests.factories import LotFactory
from patients.tests.factories import (
    ScreeningFactory,
    ScreeningRecheckFactory,
    TreatmentConsentFactory,
)
from sessions.models import SessionStatus
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_clinician_records_one_zone_and_one_lot_signs_and_reads_the_doses(
    page, patient, clinician, room, dht_version
):
    # given a patient checked in now, screened ten days ago, re-checked today, who signed the
    # consent with the off-label statement
    now = timezone.now()
    today = timezone.localdate()
    screening = ScreeningFactory(
        patient=patient, screened_on=today - timedelta(days=10), clinician=clinician.user
    )
    ScreeningRecheckFactory(screening=screening, checked_on=today, clinician=clinician.user)
    TreatmentConsentFactory(
        patient=patient,
        formulation_version=dht_version,
        witness=clinician.user,
        signed_at=now - timedelta(days=10),
    )
    plan = TreatmentPlanFactory(
        patient=patient, created_by=clinician, formulation_version=dht_version
    )
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        plan=plan,
        sequence=1,
        starts_at=now - timedelta(minutes=10),
        status=SessionStatus.CHECKED_IN,
        checked_in_at=now - timedelta(minutes=15),
    )
    LotFactory(
        version=dht_version,
        lot_number="DHT-BROWSER",
        received_on=date(2020, 1, 1),
        expires_on=today + timedelta(days=200),
    )

    log_in(page, clinician.user.username)

    # when the clinician opens the record from the session page, records and signs it
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_test_id("clinical-record-link").click()
    page.get_by_role("button", name="Start the record").click()
    expect(page.get_by_text("Record started.")).to_be_visible()

    injection = page.get_by_test_id("injection-form")
    injection.get_by_label("Zone").select_option("vertex")
    injection.get_by_label("Volume (mL)").fill("1")
    injection.get_by_label("Depth (mm)").fill("2")
    injection.get_by_label("Needle gauge (G)").fill("32")
    injection.get_by_label("Injection points").fill("30")
    injection.get_by_role("button", name="Add injection").click()
    expect(page.get_by_text("Injection recorded.")).to_be_visible()

    lot = page.get_by_test_id("lot-form")
    # Only the usable lot of this version is offered.
    expect(lot.get_by_label("Lot").locator("option")).to_have_count(2)
    lot.get_by_label("Lot").select_option(index=1)
    lot.get_by_label("Volume injected (mL)").fill("1")
    lot.get_by_role("button", name="Add lot").click()
    expect(page.get_by_text("Lot recorded.")).to_be_visible()

    page.get_by_label("I confirm this record is complete and correct").check()
    page.get_by_role("button", name="Sign record").click()

    # then the record reads as signed, with its doses and the aftercare given
    expect(page.get_by_text("Record signed. The session is completed.")).to_be_visible()
    expect(page.get_by_test_id("signed")).to_contain_text(clinician.display_name)
    expect(page.get_by_test_id("signer-registration")).to_have_text(clinician.registration_number)
    expect(page.get_by_test_id("doses")).to_contain_text("Dutasteride: 0.1 mg")
    expect(page.get_by_test_id("doses")).to_contain_text("Biotin: 0.1 mg")
    expect(page.get_by_test_id("aftercare")).to_contain_text("Do not donate blood for 6 months")
    expect(page.get_by_test_id("injection-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign record")).to_have_count(0)
