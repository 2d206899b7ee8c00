import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.seed_scale import SeedScaleError, seed_scale


class Command(BaseCommand):
    help = (
        "Build a generated clinic of N patients with years of history, for benchmarks "
        "(make bench). Reproducible by --seed; a second run with the same size does nothing. "
        "Refused when DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True, help="how many patients")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="build even with DEBUG off (the patients are invented: never in a real clinic)",
        )

    def handle(self, *args, patients, seed, force=False, **options):
        if patients < 1:
            raise CommandError("--patients must be at least 1.")
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_scale fills the database with invented patients, so it is refused when "
                "DEBUG is off. Use --force on a database made for benchmarks."
            )
        started = time.monotonic()
        try:
            made = seed_scale(
                patients=patients, seed=seed, today=timezone.localdate(), now=timezone.now()
            )
        except SeedScaleError as exc:
            raise CommandError(str(exc)) from exc
        if not made:
            self.stdout.write(f"A generated clinic of {patients} patients is already here.")
            return
        for label, count in made.items():
            self.stdout.write(f"  {label}: {count}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"Generated clinic of {patients} patients in {elapsed:.1f} s")
        )
