from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from formulations import lots
from formulations.models import LotStatus, VersionStatus
from formulations.tests.factories import FormulationVersionFactory, LotFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)


def test_an_available_lot_in_date_may_be_used():
    lot = LotFactory(received_on=date(2026, 10, 1), expires_on=date(2027, 10, 1))
    assert lots.lot_usability(lot=lot, on_date=TODAY) == (True, "")


def test_a_lot_may_be_used_on_its_expiry_date_but_not_the_day_after():
    lot = LotFactory(expires_on=TODAY)
    assert lots.lot_usability(lot=lot, on_date=TODAY)[0] is True
    usable, reason = lots.lot_usability(lot=lot, on_date=date(2026, 11, 23))
    assert not usable
    assert reason == f"Lot {lot.lot_number} expired on 22 Nov 2026."


def test_a_recalled_lot_may_not_be_used(clinic_admin_user):
    lot = lots.lot_recall(
        lot=LotFactory(), reason="Sterility failure", on_date=TODAY, by=clinic_admin_user
    )
    usable, reason = lots.lot_usability(lot=lot, on_date=TODAY)
    assert not usable
    assert "recalled" in reason


def test_a_quarantined_lot_may_not_be_used_until_released():
    lot = lots.lot_quarantine(lot=LotFactory(), reason="Certificate awaited")
    usable, reason = lots.lot_usability(lot=lot, on_date=TODAY)
    assert not usable
    assert "quarantined" in reason
    lot = lots.lot_release(lot=lot, reason="Certificate received")
    assert lots.lot_usability(lot=lot, on_date=TODAY) == (True, "")


def test_a_lot_of_another_version_may_not_be_used():
    lot = LotFactory()
    other = FormulationVersionFactory()
    usable, reason = lots.lot_usability(lot=lot, on_date=TODAY, version=other)
    assert not usable
    assert f"is of {lot.version}, not of {other}" in reason
    assert lots.lot_usability(lot=lot, on_date=TODAY, version=lot.version)[0] is True


def test_an_empty_lot_may_not_be_used():
    lot = LotFactory(quantity_remaining=0)
    assert lots.lot_usability(lot=lot, on_date=TODAY) == (
        False,
        f"Lot {lot.lot_number} has none remaining.",
    )


def test_a_lot_cannot_be_used_before_it_was_received():
    lot = LotFactory(received_on=date(2026, 12, 1), expires_on=date(2027, 12, 1))
    assert lots.lot_usability(lot=lot, on_date=TODAY)[0] is False


def test_the_shown_status_says_expired_once_the_date_has_passed():
    lot = LotFactory(expires_on=date(2026, 11, 1))
    assert lots.lot_status_on(lot=lot, on_date=TODAY) == "Expired"
    assert lots.lot_status_on(lot=lot, on_date=date(2026, 10, 15)) == "Available"


def test_lots_are_received_only_for_published_versions():
    draft = FormulationVersionFactory(status=VersionStatus.DRAFT)
    with pytest.raises(ValidationError, match="only be received for a published version"):
        lots.lot_receive(
            version=draft,
            lot_number="A1",
            supplier="Acme",
            received_on=TODAY,
            expires_on=date(2027, 1, 1),
            quantity_received=10,
        )


def test_a_received_lot_starts_full(published_version):
    lot = lots.lot_receive(
        version=published_version,
        lot_number=" A1 ",
        supplier="Acme",
        received_on=TODAY,
        expires_on=date(2027, 1, 1),
        quantity_received=10,
    )
    assert (lot.lot_number, lot.quantity_remaining, lot.status) == ("A1", 10, "available")


def test_a_lot_number_is_unique_per_supplier(published_version):
    LotFactory(lot_number="A1", supplier="Acme")
    with pytest.raises(ValidationError, match="already has a lot with that number"):
        lots.lot_receive(
            version=published_version,
            lot_number="A1",
            supplier="Acme",
            received_on=TODAY,
            expires_on=date(2027, 1, 1),
            quantity_received=10,
        )


def test_recall_records_reason_date_and_who_with_history(clinic_admin_user):
    lot = LotFactory()
    lots.lot_recall(lot=lot, reason="Particles seen", on_date=TODAY, by=clinic_admin_user)
    lot.refresh_from_db()
    assert lot.status == LotStatus.RECALLED
    assert (lot.status_reason, lot.recalled_on, lot.recalled_by) == (
        "Particles seen",
        TODAY,
        clinic_admin_user,
    )
    latest = lot.history.first()
    assert latest.status == LotStatus.RECALLED
    assert latest.prev_record.status == LotStatus.AVAILABLE


def test_a_lot_is_recalled_only_once(clinic_admin_user):
    lot = lots.lot_recall(lot=LotFactory(), reason="x", on_date=TODAY, by=clinic_admin_user)
    with pytest.raises(ValidationError, match="already recalled"):
        lots.lot_recall(lot=lot, reason="again", on_date=TODAY, by=clinic_admin_user)


def test_a_recall_needs_a_reason(clinic_admin_user):
    with pytest.raises(ValidationError, match="Say why"):
        lots.lot_recall(lot=LotFactory(), reason="  ", on_date=TODAY, by=clinic_admin_user)


# Corrections ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_a_correction_is_shown_beside_the_lot_as_received(clinic_admin_user):
    lot = LotFactory(lot_number="AB123")

    lots.lot_correct(
        lot=lot,
        field="lot_number",
        new_value="AB132",
        reason="Digits swapped on entry",
        by=clinic_admin_user,
        now=NOW,
    )

    lot.refresh_from_db()
    assert (lot.lot_number, lot.corrected("lot_number")) == ("AB123", "AB132")


def test_an_expiry_correction_brings_the_date_forward_and_stops_use(clinic_admin_user):
    lot = LotFactory(expires_on=date(2027, 10, 1))

    lots.lot_correct(
        lot=lot,
        field="expires_on",
        new_value="2026-11-01",
        reason="Label says November 2026",
        by=clinic_admin_user,
        now=NOW,
    )

    assert lots.lot_usability(lot=lot, on_date=TODAY) == (
        False,
        f"Lot {lot.lot_number} expired on 01 Nov 2026.",
    )


def test_an_expiry_correction_never_makes_an_expired_lot_usable_again(clinic_admin_user):
    lot = LotFactory(expires_on=date(2026, 11, 1))

    with pytest.raises(ValidationError, match="never past 01 Nov 2026"):
        lots.lot_correct(
            lot=lot,
            field="expires_on",
            new_value="2027-11-01",
            reason="Typo",
            by=clinic_admin_user,
            now=NOW,
        )


def test_a_correction_needs_a_reason(clinic_admin_user):
    with pytest.raises(ValidationError, match="Say why"):
        lots.lot_correct(
            lot=LotFactory(),
            field="supplier",
            new_value="X",
            reason="",
            by=clinic_admin_user,
            now=NOW,
        )
