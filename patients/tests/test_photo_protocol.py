"""The photo protocol: which views each visit lacks, and which photos a comparison pairs."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from clinic.refusals import PatientRefused
from clinic.roles import Role
from patients.models import PhotoProtocolView
from patients.outcomes import photo_add, photo_void
from patients.photo_protocol import photo_caption, photo_checklist, photo_comparison
from patients.tests.factories import (
    PatientFactory,
    PhotographyConsentFactory,
    standard_photo,
)
from sessions.tests.factories import (
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN).user


@pytest.fixture
def patient(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    patient = PatientFactory()
    PhotographyConsentFactory(patient=patient)
    return patient


def _photo(patient, doctor, view, on, session=None):
    return standard_photo(patient=patient, by=doctor, view=view, on=on, session=session, now=NOW)


def test_the_default_protocol_is_the_five_practice_views(db):
    assert [v.view for v in PhotoProtocolView.objects.filter(required=True)] == [
        "vertex",
        "frontal_hairline",
        "temple_left",
        "temple_right",
        "midline_part",
    ]


def test_a_view_photo_is_filed_under_the_zone_it_shows(patient, doctor):
    photo = _photo(patient, doctor, "temple_left", date(2026, 11, 2))
    assert photo.zone == "temporal_left"


def test_a_view_and_a_zone_that_disagree_are_refused(patient, doctor):
    with pytest.raises(PatientRefused, match="another zone"):
        photo_add(
            patient=patient,
            view="vertex",
            zone="occipital",
            taken_on=date(2026, 11, 2),
            upload=None,
            by=doctor,
            now=NOW,
        )


def test_the_checklist_names_the_views_a_visit_still_lacks(patient, doctor, clinic):
    session = TreatmentSessionFactory(patient=patient, status="completed")
    _photo(patient, doctor, "vertex", date(2026, 11, 23), session=session)
    _photo(patient, doctor, "frontal_hairline", date(2026, 11, 23), session=session)
    # A photo taken on another day without a session is a visit of its own.
    _photo(patient, doctor, "vertex", date(2026, 11, 30))

    views, rows = photo_checklist(
        patient=patient, user=doctor, visits=[(date(2026, 11, 23), session)]
    )

    assert [row.day for row in rows] == [date(2026, 11, 30), date(2026, 11, 23)]
    latest, visit = rows
    assert [v.view for v in visit.missing] == ["temple_left", "temple_right", "midline_part"]
    assert [photo is not None for _, photo in visit.cells] == [True, True, False, False, False]
    assert latest.session is None and len(latest.missing) == 4


def test_a_view_switched_off_is_no_longer_missing(patient, doctor):
    PhotoProtocolView.objects.exclude(view="vertex").update(required=False)
    _photo(patient, doctor, "vertex", date(2026, 11, 2))

    _, rows = photo_checklist(patient=patient, user=doctor, visits=[])

    assert rows[0].complete


def test_a_comparison_pairs_the_baseline_with_the_latest_photo_of_the_same_view(patient, doctor):
    first = _photo(patient, doctor, "vertex", date(2026, 6, 1))
    middle = _photo(patient, doctor, "vertex", date(2026, 9, 1))
    latest = _photo(patient, doctor, "vertex", date(2026, 11, 30))
    _photo(patient, doctor, "temple_left", date(2026, 12, 1))

    comparison = photo_comparison(patient=patient, user=doctor, view="vertex")
    assert (comparison.baseline, comparison.later) == (first, latest)

    chosen = photo_comparison(patient=patient, user=doctor, view="vertex", later_id=middle.pk)
    assert chosen.later == middle


def test_a_voided_baseline_hands_over_to_the_next_photo(patient, doctor):
    first = _photo(patient, doctor, "vertex", date(2026, 6, 1))
    second = _photo(patient, doctor, "vertex", date(2026, 9, 1))
    photo_void(photo=first, by=doctor, reason="Wrong patient", now=NOW)

    comparison = photo_comparison(patient=patient, user=doctor, view="vertex")

    assert comparison.baseline == second and comparison.later is None


def test_reception_compares_nothing(patient, doctor, staff):
    _photo(patient, doctor, "vertex", date(2026, 6, 1))
    desk = staff(Role.RECEPTION).user
    assert photo_comparison(patient=patient, user=desk, view="vertex").photos == []


def test_the_caption_names_the_session_and_the_signed_version(patient, doctor):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=6)
    session = TreatmentSessionFactory(patient=patient, plan=plan, sequence=3, status="completed")
    record = SessionRecordFactory(session=session, formulation_version=plan.formulation_version)
    photo = _photo(patient, doctor, "vertex", date(2026, 11, 23), session=session)
    assert photo_caption(photo).session_label == "Session 3 of 6"
    assert photo_caption(photo).version == ""  # not signed yet

    signed_as_fixture(record, at=NOW)
    photo.session.refresh_from_db()

    assert photo_caption(photo).version == str(plan.formulation_version)
