"""Booking: what reception schedules.

- plans.py — treatment plans: written from a template, course dates proposed and booked, stopped,
  completed.
- scheduling.py — every state change of a TreatmentSession (book, move, confirm, check in, cancel,
  no-show) and the booking rules they apply; free slots.
- calendar.py — the calendar's day list, the patient's appointments and reception's panels (reads
  only).
- grid.py — the calendar as a time grid, free time linked to booking (reads only).
- maintenance.py — the maintenance recall list and its contact attempts.
- forms.py / views.py — the pages: parse, check permission, call one rule function, render.

Vocabulary of the whole sessions app: state changes are `<noun>_<verb>` (`session_book`,
`record_sign`); `by` is always the acting User (None when the patient acted through a link);
`clinician` is always a StaffProfile. A booking rule that says no raises BookingRefused(rule,
message).
"""
