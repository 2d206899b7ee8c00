"""`manage.py restore ARCHIVE [--force]`: put a backup's database and photos back."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore the database and media files from an archive made by `manage.py backup`."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--force",
            action="store_true",
            help="Overwrite a database that already holds data (everything in it is replaced).",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *, archive, force, database, **options):
        try:
            manifest = backup_restore(archive=archive, force=force, alias=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored the backup of {manifest['created_at']} from {archive}")
