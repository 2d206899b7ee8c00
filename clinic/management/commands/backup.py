"""`manage.py backup [--output-dir DIR]`: the database and the photos in one archive."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and the media files (photos) into one .tar.gz archive."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "backups",
            help="Folder for the archive (default var/backups/). Keep copies off this machine.",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *, output_dir, database, **options):
        try:
            archive = backup_create(output_dir=output_dir, now=timezone.now(), alias=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backup written to {archive}")
