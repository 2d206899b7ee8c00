"""`manage.py seed_demo`: the demo clinic. Composes every app's demo seeding (idempotent)."""

import importlib

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinic.demo import DEMO_PASSWORD, DEMO_USERS, seed_clinic
from patients.demo_outcomes import seed as seed_outcomes
from sessions.demo_cohort import seed_cohort
from sessions.outreach.rows import reminders_backfill


class Command(BaseCommand):
    help = (
        "Create the demo clinic, its staff logins and each app's demo data. Idempotent. "
        "Refused when DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even with DEBUG off (the demo logins have a published password)",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates logins whose password is published in the README, so it is "
                "refused when DEBUG is off. Use --force if this really is a demo installation."
            )
        with transaction.atomic():
            clinic = seed_clinic()
            # Each app that has demo data keeps it in <app>/demo.py as seed(clinic=...).
            for app_config in apps.get_app_configs():
                if app_config.name == "clinic":
                    continue
                try:
                    module = importlib.import_module(f"{app_config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app_config.name}.demo":
                        raise
                    continue
                module.seed(clinic=clinic)
            # The cohort of past courses comes after the calendar, which picks its patients
            # among all patients; outcomes and adverse events need the signed sessions of both.
            seed_cohort(clinic=clinic)
            seed_outcomes(clinic=clinic)
            # The demo calendar is written directly rather than booked: give its upcoming
            # sessions the reminders a booking creates, so the worker has something to send.

            reminders_backfill(now=timezone.now(), clinic=clinic)
        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready: {clinic.name}"))
        logins = ", ".join(username for username, *_ in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins} (password {DEMO_PASSWORD})")
