"""The photo comparison as a browser runs it: the slider uncovers the later photo over the
baseline and the toggle flips between them, with no inline script (a strict CSP allows it)."""

from datetime import date

import pytest
from django.utils import timezone

from clinic.roles import Role
from clinic.tests.accounts import log_in
from patients.outcomes import photo_add
from patients.tests.factories import PatientFactory, PhotographyConsentFactory, jpeg_upload


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_slider_and_the_toggle_show_baseline_and_later(page, staff, settings, tmp_path):
    # given a baseline and a later vertex photo
    settings.MEDIA_ROOT = tmp_path
    doctor = staff(Role.CLINICIAN).user
    patient = PatientFactory()
    PhotographyConsentFactory(patient=patient)
    for on, colour in ((date(2026, 6, 1), "white"), (date(2026, 11, 2), "black")):
        photo_add(
            patient=patient,
            view="vertex",
            taken_on=on,
            upload=jpeg_upload(colour),
            by=doctor,
            now=timezone.now(),
        )
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # when the clinician opens the comparison
    log_in(page, doctor.username)
    page.goto(f"/patients/{patient.pk}/photos/compare/vertex/")

    # then both photos show side by side, and the overlay (shown by the script) follows the
    # slider and the toggle
    assert page.locator('[data-testid="side-by-side"] img').count() == 2
    slider = page.locator("[data-photo-slider]")
    assert slider.is_visible()
    top = page.locator("[data-slider-top]")
    page.locator("[data-slider-range]").fill("80")
    assert top.evaluate("img => img.style.clipPath") == "inset(0px 20% 0px 0px)"
    page.locator("[data-slider-toggle]").click()
    assert top.evaluate("img => img.style.clipPath") == "inset(0px 0% 0px 0px)"
    page.locator("[data-slider-toggle]").click()
    assert top.evaluate("img => img.style.clipPath") == "inset(0px 100% 0px 0px)"
    assert errors == []
