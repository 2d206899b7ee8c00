"""Free start times for a clinician, room and patient: what the booking pages and the course
proposal offer. A read in a few queries, whatever the size of the calendar; the booking itself
still applies every rule in scheduling.py."""

from datetime import datetime, time, timedelta

from django.db.models import Q

from clinic.models import Clinic, Room, StaffProfile
from sessions.booking.scheduling import local_date, localise
from sessions.models import ACTIVE_STATUSES, TreatmentSession

SLOT_STEP = timedelta(minutes=15)


def free_slots(
    *,
    clinic: Clinic,
    clinician: StaffProfile,
    room: Room,
    patient,
    after: datetime,
    minutes: int | None = None,
    days: int = 14,
    limit: int = 6,
    exclude_pk: int | None = None,
    preferred: time | None = None,
) -> list[datetime]:
    """Free start times for this clinician, room and patient, from `after` on (a few queries)."""
    length = timedelta(minutes=minutes or clinic.session_minutes)
    first_day = local_date(clinic=clinic, moment=after)
    until = localise(clinic=clinic, day=first_day + timedelta(days=days + 1), at=time(0))
    busy = list(
        TreatmentSession.objects.filter(
            status__in=ACTIVE_STATUSES, starts_at__lt=until, ends_at__gt=after
        )
        .filter(Q(clinician=clinician) | Q(room=room) | Q(patient=patient))
        .exclude(pk=exclude_pk)
        .values_list("starts_at", "ends_at")
    )
    opening = list(clinic.opening_hours.all())
    working = list(clinician.working_hours.all())
    found = []
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        day_slots = []
        for o in (h for h in opening if h.weekday == day.weekday()):
            for w in (h for h in working if h.weekday == day.weekday()):
                start = localise(clinic=clinic, day=day, at=max(o.opens, w.starts))
                stop = localise(clinic=clinic, day=day, at=min(o.closes, w.ends))
                while start + length <= stop:
                    end = start + length
                    if start >= after and not any(b[0] < end and b[1] > start for b in busy):
                        day_slots.append(start)
                    start += SLOT_STEP
        if preferred is not None:
            wanted = localise(clinic=clinic, day=day, at=preferred)
            day_slots.sort(key=lambda s: abs((s - wanted).total_seconds()))
        for slot in day_slots:
            if slot not in found:
                found.append(slot)
                if len(found) >= limit:
                    return found
    return found
