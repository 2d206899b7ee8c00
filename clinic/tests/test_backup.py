"""A backup of the demo clinic, restored into a fresh database by a separate process, holds the
same rows, the same signed record and the same photos."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from sessions.models import SessionRecord

pytestmark = pytest.mark.django_db(transaction=True)
APPS = ["clinic", "formulations", "patients", "treatment_sessions"]
SIGNED_COLUMNS = ["id", "session_id", "formulation_version_id", "notes", "aftercare_given"]


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", verbosity=0)
    photo = Path(settings.MEDIA_ROOT) / "photos" / "2026" / "vertex.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 a photo \xff\xd9")
    return photo


@pytest.fixture
def fresh_database(tmp_path):
    """(DATABASE_URL of an empty database, a function running SQL in it)."""
    conf = connection.settings_dict
    if connection.vendor != "postgresql":
        path = tmp_path / "restored.sqlite3"

        def query(sql):
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchall()

        yield f"sqlite:///{path}", query
        return
    name = f"{conf['NAME']}_restore"
    params = {
        "host": conf.get("HOST") or None,
        "port": conf.get("PORT") or None,
        "user": conf.get("USER") or None,
        "password": conf.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')

    def query(sql):
        with psycopg.connect(dbname=name, **params) as db:
            return db.execute(sql).fetchall()

    auth = f"{conf['USER']}:{conf.get('PASSWORD') or ''}@" if conf.get("USER") else ""
    yield (
        f"postgres://{auth}{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{name}",
        query,
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore(archive, database_url, media_root, *extra):
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(media_root)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "restore", str(archive), *extra],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_demo_clinic_survives_a_backup_and_restore(demo, fresh_database, tmp_path):
    database_url, query = fresh_database
    call_command("backup", output_dir=tmp_path / "backups")
    (archive,) = (tmp_path / "backups").glob("mesotrack-backup-*.tar.gz")
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    result = restore(archive, database_url, tmp_path / "restored-media")
    assert result.returncode == 0, result.stderr

    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            table = model._meta.db_table
            (restored,) = query(f'SELECT count(*) FROM "{table}"')[0]  # noqa: S608
            assert restored == model.objects.count(), table

    signed = SessionRecord.objects.filter(signed_at__isnull=False).order_by("pk").first()
    assert signed is not None
    columns = ", ".join(SIGNED_COLUMNS)
    table = SessionRecord._meta.db_table
    (row,) = query(f'SELECT {columns} FROM "{table}" WHERE id = {signed.pk}')  # noqa: S608
    assert list(row) == [getattr(signed, c) for c in SIGNED_COLUMNS]

    photo = tmp_path / "restored-media" / demo.relative_to(settings.MEDIA_ROOT)
    assert photo.read_bytes() == demo.read_bytes()

    # a second restore would replace what is there now: it needs --force
    again = restore(archive, database_url, tmp_path / "restored-media")
    assert again.returncode != 0
    assert "add --force" in again.stderr


def test_a_missing_archive_is_refused_with_the_reason(db, tmp_path):
    with pytest.raises(CommandError, match="No backup archive"):
        call_command("restore", str(tmp_path / "nothing.tar.gz"), force=True)
