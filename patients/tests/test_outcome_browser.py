"""The progress chart as a browser draws it: every date label inside the picture."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic.roles import Role
from clinic.tests.accounts import log_in
from patients.outcomes import outcome_record
from patients.tests.factories import PatientFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_last_date_of_the_progress_chart_is_not_cut_off(page, staff):
    # given vertex densities measured over two months, the last on 17 July
    doctor = staff(Role.CLINICIAN).user
    patient = PatientFactory()
    for on, density in (
        (date(2026, 5, 28), 112),
        (date(2026, 6, 17), 119),
        (date(2026, 7, 17), 127),
    ):
        outcome_record(
            patient=patient,
            by=doctor,
            zone="vertex",
            measured_on=on,
            now=timezone.now(),
            density_per_cm2=Decimal(density),
        )

    # when the clinician opens the outcomes page
    log_in(page, doctor.username)
    page.goto(f"/patients/{patient.pk}/outcomes/")

    # then each label of the chart lies wholly inside the SVG's drawing area
    boxes = page.locator('[data-testid="progress-chart"] svg[role="img"]').evaluate(
        """svg => [...svg.querySelectorAll('text')].map(t => {
             const b = t.getBBox();
             return {text: t.textContent, left: b.x, right: b.x + b.width};
           })"""
    )
    width = float(
        page.locator('[data-testid="progress-chart"] svg[role="img"]').evaluate(
            "svg => svg.viewBox.baseVal.width"
        )
    )
    assert "17 Jul 26" in [box["text"] for box in boxes]
    for box in boxes:
        assert box["left"] >= 0 and box["right"] <= width, box
