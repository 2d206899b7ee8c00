"""Lots (batches) of a published version: receiving, whether one may be used on a day, quarantine
and recall. An expired or recalled lot can never be recorded as injected (DOMAIN.md)."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from clinic.refusals import FormulationRefused

from .models import (
    FormulationVersion,
    Lot,
    LotCorrection,
    LotCorrectionField,
    LotStatus,
    VersionStatus,
)


def lot_receive(
    *,
    version: FormulationVersion,
    lot_number: str,
    supplier: str,
    received_on: date,
    expires_on: date,
    quantity_received: int,
) -> Lot:
    if version.status != VersionStatus.PUBLISHED:
        raise FormulationRefused(
            "lot_receive",
            f"Lots can only be received for a published version; {version} is "
            f"{version.get_status_display().lower()}.",
        )
    lot = Lot(
        version=version,
        lot_number=lot_number.strip(),
        supplier=supplier.strip(),
        received_on=received_on,
        expires_on=expires_on,
        quantity_received=quantity_received,
        quantity_remaining=quantity_received,
    )
    lot.full_clean()
    lot.save()
    return lot


# Lots that expired longer ago than this are history: pages name how many there are and show
# them on request rather than list them, so a page does not grow with the years of lots.
LOTS_SHOWN_AFTER_EXPIRY = timedelta(days=365)


def lots_history_since(on_date: date) -> date:
    """The expiry date before which a lot is history on `on_date`."""
    return on_date - LOTS_SHOWN_AFTER_EXPIRY


def lots_in_history(*, on_date: date, prefix: str = "") -> Q:
    """The lots that are history on `on_date` (`prefix`: the lookup path to them, e.g. "lots__").
    A quarantined lot never is, however old: it waits for someone's decision."""
    return Q(**{f"{prefix}expires_on__lt": lots_history_since(on_date)}) & ~Q(
        **{f"{prefix}status": LotStatus.QUARANTINED}
    )


def lot_status_on(*, lot: Lot, on_date: date) -> str:
    """The status a person should see: a stored status, or "Expired" once the date has passed."""
    if lot.status == LotStatus.AVAILABLE and lot.usable_until < on_date:
        return "Expired"
    return lot.get_status_display()


def lot_usability(
    *, lot: Lot, on_date: date, version: FormulationVersion | None = None
) -> tuple[bool, str]:
    """Whether `lot` may be injected on `on_date` (and for `version`, if given), and if not, why."""
    if lot.status == LotStatus.RECALLED:
        return False, f"Lot {lot.lot_number} was recalled and must not be used."
    if lot.status == LotStatus.QUARANTINED:
        return False, f"Lot {lot.lot_number} is quarantined until it is checked and released."
    # A lot is usable up to and including its expiry date.
    if lot.usable_until < on_date:
        return False, f"Lot {lot.lot_number} expired on {lot.usable_until:%d %b %Y}."
    if lot.received_on > on_date:
        return False, f"Lot {lot.lot_number} was not received until {lot.received_on:%d %b %Y}."
    if version is not None and lot.version_id != version.pk:
        return False, (f"Lot {lot.lot_number} is of {lot.version}, not of {version}.")
    if lot.quantity_remaining <= 0:
        return False, f"Lot {lot.lot_number} has none remaining."
    return True, ""


@transaction.atomic
def lot_recall(*, lot: Lot, reason: str, on_date: date, by) -> Lot:
    """Withdraw a lot for good; the recall page then lists every patient who received it."""
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.status == LotStatus.RECALLED:
        raise FormulationRefused(
            "lot_recall", f"Lot {lot.lot_number} was already recalled on {lot.recalled_on}."
        )
    if not reason.strip():
        raise FormulationRefused("lot_recall", "Say why the lot is recalled.", field="reason")
    lot.status = LotStatus.RECALLED
    lot.status_reason = reason.strip()
    lot.recalled_on = on_date
    lot.recalled_by = by
    lot.save(update_fields=["status", "status_reason", "recalled_on", "recalled_by"])
    return lot


@transaction.atomic
def lot_quarantine(*, lot: Lot, reason: str) -> Lot:
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.status != LotStatus.AVAILABLE:
        raise FormulationRefused(
            "lot_quarantine",
            f"Only an available lot can be quarantined; lot {lot.lot_number} is "
            f"{lot.get_status_display().lower()}.",
        )
    if not reason.strip():
        raise FormulationRefused(
            "lot_quarantine", "Say why the lot is quarantined.", field="reason"
        )
    lot.status = LotStatus.QUARANTINED
    lot.status_reason = reason.strip()
    lot.save(update_fields=["status", "status_reason"])
    return lot


@transaction.atomic
def lot_release(*, lot: Lot, reason: str) -> Lot:
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.status != LotStatus.QUARANTINED:
        raise FormulationRefused(
            "lot_release",
            f"Only a quarantined lot can be released; lot {lot.lot_number} is "
            f"{lot.get_status_display().lower()}.",
        )
    lot.status = LotStatus.AVAILABLE
    lot.status_reason = reason.strip()
    lot.save(update_fields=["status", "status_reason"])
    return lot


@transaction.atomic
def lot_correct(*, lot: Lot, field: str, new_value: str, reason: str, by, now: datetime):
    """Put a typo on a lot right without editing it: the lot stays as it was received (records
    and the recall list name it), and the correction is shown beside it with its reason.

    An expiry correction may only bring the date forward: a lot past the date it was received
    with is never made usable again by a correction."""
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if field not in LotCorrectionField.values:
        raise FormulationRefused(
            "lot_correct", "Only the lot number, supplier or expiry is corrected.", field="field"
        )
    if not reason.strip():
        raise FormulationRefused("lot_correct", "Say why the lot is corrected.", field="reason")
    new_value = new_value.strip()
    if field == LotCorrectionField.EXPIRES_ON:
        try:
            corrected = date.fromisoformat(new_value)
        except ValueError as exc:
            raise FormulationRefused(
                "lot_correct", "Give the expiry as a date (YYYY-MM-DD).", field="new_value"
            ) from exc
        if corrected > lot.usable_until:
            raise FormulationRefused(
                "lot_expiry",
                f"A correction may bring lot {lot.lot_number}'s expiry forward, never past "
                f"{lot.usable_until:%d %b %Y}: a lot past the date it was received with is "
                "never made usable again. Receive the stock as a new lot.",
                field="new_value",
            )
        new_value = corrected.isoformat()
    old_value = lot.corrected(field) or str(getattr(lot, field))
    if not new_value or new_value == old_value:
        raise FormulationRefused("lot_correct", "Give the corrected value.", field="new_value")
    return LotCorrection.objects.create(
        lot=lot,
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason.strip(),
        corrected_at=now,
        corrected_by=by,
    )
