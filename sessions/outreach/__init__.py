"""Outreach: what the clinic says to patients, and what patients do back (DESIGN.md decision 1).

- preferences.py — channel, consent, opt-out, time zone and quiet hours of a patient.
- rows.py — outbox rows created, moved or cancelled by booking changes.
- prompts.py — periodic prompts (maintenance, re-screening).
- messages.py — rendering a reminder: text, HTML, SMS and .ics.
- sweep.py — claiming and sending due reminders.
- links.py — signed patient links; link_actions.py — confirm or cancel through one.
- optout.py — STOP/START and per-channel opt-outs.
- reminder_actions.py — staff's reminder lists and retries.
- messaging/ — the SMS and email backends.
- *_views.py — the pages: parse, check permission, call one rule function, render.
"""
