"""`manage.py usage_recount`: rebuild the usage report's totals from the signed records, or
(--check) only say whether they have drifted."""

from django.core.management.base import BaseCommand, CommandError

from sessions.records.usage import usage_drift, usage_recount


class Command(BaseCommand):
    help = (
        "Recount the usage report's totals per formulation version from the signed records. "
        "--check only compares, and fails if any total has drifted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only; change nothing")

    def handle(self, *args, check=False, **options):
        if check:
            drifted = usage_drift()
            if drifted:
                raise CommandError(f"Usage totals differ from the records for versions {drifted}.")
            self.stdout.write("Usage totals match the signed records.")
            return
        drifted = usage_recount()
        self.stdout.write(
            f"Recounted; {len(drifted)} version(s) had drifted: {drifted}"
            if drifted
            else "Recounted; every total matched."
        )
