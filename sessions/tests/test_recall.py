import csv
import io
import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from clinic.roles import Role
from formulations import views as formulation_views
from formulations.tests.factories import LotFactory
from patients.tests.factories import PatientFactory
from sessions.records.recall import lot_recipients, lot_recipients_csv, version_usage
from sessions.tests.factories import (
    RecordLotFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def _use(
    lot,
    *,
    patient=None,
    starts_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    volume="1",
    signed=True,
):
    session = TreatmentSessionFactory(
        starts_at=starts_at, **({"patient": patient} if patient else {})
    )
    record = SessionRecordFactory(session=session, formulation_version=lot.version)
    use = RecordLotFactory(record=record, lot=lot, volume_ml=Decimal(volume))
    if signed:
        # Signed as record_sign would, without its clearance and stock rules (tested elsewhere).
        signed_as_fixture(record, at=session.ends_at)
    return use


def test_the_recall_list_is_empty_for_an_unused_lot():
    assert list(lot_recipients(lot=LotFactory())) == []


def test_the_recall_list_names_every_patient_who_received_the_lot():
    lot = LotFactory()
    first = _use(lot, volume="1.5")
    second = _use(lot, starts_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    _use(LotFactory(version=lot.version))  # another lot of the same version: not listed
    assert list(lot_recipients(lot=lot)) == [first, second]


def test_the_csv_export_holds_only_what_a_recall_needs():
    lot = LotFactory()
    patient = PatientFactory(given_name="Ann", family_name="Lee", record_number="MT000042")
    use = _use(lot, patient=patient, starts_at=datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    rows = list(csv.reader(io.StringIO("".join(lot_recipients_csv(lot=lot, zone=LONDON)))))
    assert rows == [
        ["record number", "patient", "session date", "clinician", "volume (mL)", "record"],
        ["MT000042", "Ann Lee", "2026-11-23", use.record.clinician.display_name, "1.00", "signed"],
    ]
    assert patient.email not in str(rows)
    assert str(patient.date_of_birth) not in str(rows)


@pytest.mark.parametrize("uses", [1, 50])
def test_the_recall_page_runs_a_bounded_number_of_queries(
    client_as, django_assert_max_num_queries, uses
):
    lot = LotFactory()
    for _ in range(uses):
        _use(lot)
    client = client_as(Role.CLINIC_ADMIN)
    url = reverse("formulations:lot_recall", kwargs={"pk": lot.pk})
    # 12, and the paginator's count of the uses.
    with django_assert_max_num_queries(13):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("<tr><td>") == uses
    with django_assert_max_num_queries(12):
        response = client.get(url + "?format=csv")
        body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == uses + 1


def test_the_recall_page_shows_the_uses_a_page_at_a_time_and_the_csv_has_them_all(
    client_as, monkeypatch
):
    monkeypatch.setattr(formulation_views, "RECALL_PAGE_SIZE", 2)
    lot = LotFactory()
    for day in (1, 2, 3):
        _use(lot, starts_at=datetime(2026, 9, day, 10, tzinfo=UTC))
    client = client_as(Role.CLINIC_ADMIN)
    url = reverse("formulations:lot_recall", kwargs={"pk": lot.pk})

    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()
    csv_body = b"".join(client.get(url + "?format=csv").streaming_content).decode()

    assert first.count("<tr><td>") == 2 and "3 uses" in first and "Page 1 of 2" in first
    assert second.count("<tr><td>") == 1 and "3 Sep 2026" in second
    assert csv_body.count("\n") == 4  # the header and every use


def test_the_csv_export_is_a_download_kept_out_of_caches(client_as):
    lot = LotFactory()
    response = client_as(Role.CLINIC_ADMIN).get(
        reverse("formulations:lot_recall", kwargs={"pk": lot.pk}) + "?format=csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="recall-lot-{lot.pk}.csv"'
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.CLINICIAN])
def test_only_clinic_admins_see_or_export_a_recall_list(client_as, role):
    lot = LotFactory()
    url = reverse("formulations:lot_recall", kwargs={"pk": lot.pk})
    assert client_as(role).get(url + "?format=csv").status_code == 403


def test_an_admin_recalls_a_lot_from_the_recall_page(client_as):
    lot = LotFactory()
    url = reverse("formulations:lot_recall", kwargs={"pk": lot.pk})
    response = client_as(Role.CLINIC_ADMIN).post(
        url, {"reason": "Supplier notice 12", "recalled_on": "2026-11-22"}, follow=True
    )
    assert "Recalled on 22 Nov 2026" in response.content.decode()
    lot.refresh_from_db()
    assert lot.status == "recalled"


def test_a_recall_without_a_reason_is_refused_on_the_form(client_as):
    lot = LotFactory()
    url = reverse("formulations:lot_recall", kwargs={"pk": lot.pk})
    response = client_as(Role.CLINIC_ADMIN).post(url, {"reason": "", "recalled_on": "2026-11-22"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    lot.refresh_from_db()
    assert lot.status == "available"


def test_usage_counts_sessions_patients_and_first_and_last_use():
    lot = LotFactory()
    patient = PatientFactory()
    _use(lot, patient=patient, starts_at=datetime(2026, 9, 1, 10, tzinfo=UTC))
    _use(lot, patient=patient, starts_at=datetime(2026, 10, 1, 10, tzinfo=UTC))
    _use(lot, starts_at=datetime(2026, 11, 1, 10, tzinfo=UTC))
    row = version_usage().get(pk=lot.version.pk)
    assert (row.session_count, row.patient_count) == (3, 2)
    assert row.first_use == datetime(2026, 9, 1, 10, tzinfo=UTC)
    assert row.last_use == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_a_record_not_yet_signed_is_not_counted_as_a_use():
    lot = LotFactory()
    _use(lot, starts_at=datetime(2026, 9, 1, 10, tzinfo=UTC))
    _use(lot, starts_at=datetime(2026, 11, 1, 10, tzinfo=UTC), signed=False)
    _use(lot, starts_at=datetime(2026, 12, 1, 10, tzinfo=UTC), signed=False)
    row = version_usage().get(pk=lot.version.pk)
    assert (row.session_count, row.patient_count) == (1, 1)
    assert row.last_use == datetime(2026, 9, 1, 10, tzinfo=UTC)


def test_a_version_used_only_by_unsigned_records_shows_no_use_on_the_report(client_as):
    lot = LotFactory()
    _use(lot, signed=False)
    page = client_as(Role.CLINIC_ADMIN).get(reverse("formulations:usage")).content.decode()
    row = page.split(f"<td>v{lot.version.number}</td>")[1].split("</tr>")[0]
    assert "<td>0</td><td>0</td>" in row.replace("\n", "").replace(" ", "")


def test_the_recall_list_keeps_unsigned_records_and_labels_them(client_as):
    lot = LotFactory()
    _use(lot, patient=PatientFactory(given_name="Sig", family_name="Ned"))
    _use(lot, patient=PatientFactory(given_name="Un", family_name="Signed"), signed=False)

    page = client_as(Role.CLINIC_ADMIN).get(
        reverse("formulations:lot_recall", kwargs={"pk": lot.pk})
    )
    rows = page.content.decode().split("<tbody>")[1].split("</tr>")
    csv_rows = list(csv.reader(io.StringIO("".join(lot_recipients_csv(lot=lot, zone=LONDON)))))

    assert "Sig Ned" in rows[0] and "unsigned" not in rows[0]
    assert "Un Signed" in rows[1] and ">unsigned<" in rows[1]
    assert [(r[1], r[-1]) for r in csv_rows[1:]] == [
        ("Sig Ned", "signed"),
        ("Un Signed", "unsigned"),
    ]


@pytest.mark.parametrize("versions", [1, 50])
def test_the_usage_report_runs_a_bounded_number_of_queries(
    client_as, django_assert_max_num_queries, versions
):
    for _ in range(versions):
        _use(LotFactory())
    client = client_as(Role.CLINIC_ADMIN)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("formulations:usage"))
    assert response.content.decode().count("<td>v") == versions


def test_the_csv_export_defuses_spreadsheet_formulas_in_names():
    lot = LotFactory()
    _use(lot, patient=PatientFactory(given_name="=HYPERLINK(1)", family_name="X"))
    rows = list(csv.reader(io.StringIO("".join(lot_recipients_csv(lot=lot, zone=LONDON)))))
    assert rows[1][1] == "'=HYPERLINK(1) X"


def test_recalling_a_recalled_lot_again_says_so(client_as, clinic_admin_user):
    from formulations.lots import lot_recall

    lot = lot_recall(
        lot=LotFactory(), reason="First", on_date=date(2026, 11, 1), by=clinic_admin_user
    )
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:lot_recall", kwargs={"pk": lot.pk}),
        {"reason": "Second", "recalled_on": "2026-11-22"},
        follow=True,
    )
    assert "was already recalled on 2026-11-01" in response.content.decode()
    lot.refresh_from_db()
    assert lot.status_reason == "First"
