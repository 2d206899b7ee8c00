import json
from pathlib import Path

from django.core.management.base import BaseCommand

from clinic.management.commands._benchmark import measure, write_json


class Command(BaseCommand):
    help = (
        "Measure the generated clinic in this database (pages, sweep, optionally HTTP) and "
        "write the figures as JSON. `make bench` runs it once per size."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", required=True, help="where to write the figures")
        parser.add_argument("--http", action="store_true", help="also time HTTP under gunicorn")
        parser.add_argument(
            "--only",
            choices=("pages", "sweep"),
            help="measure only this part (pages: no sweep, no HTTP; sweep: no pages, no HTTP)",
        )

    def handle(self, *args, http=False, only=None, **options):
        result = measure(http=http and not only, only=only)
        write_json(Path(options["json"]), json.dumps(result, indent=2))
