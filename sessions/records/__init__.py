"""Records: what the clinician writes and signs, and what the clinic learns from it.

- records.py — the session record: start, fill in, sign, addenda.
- doses.py — a patient's cumulative dose per ingredient over signed records.
- adverse_events.py — harm after a session: record, update, void, acknowledge, notify admins.
- safety.py — the safety report (adverse events per version and lot).
- recall.py — who received a lot, and how much each version was used.
- forms.py, views.py, adverse_event_forms.py, adverse_event_views.py, report_views.py — the pages.

A record rule that says no raises RecordRefused(rule, message).
"""
