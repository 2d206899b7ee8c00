"""Backup and restore of the whole installation: the database and the media files (photos).

An archive is one .tar.gz holding `manifest.json`, the database (`database.dump` from pg_dump on
PostgreSQL, `database.sqlite3` from SQLite's online backup API) and `media/`. The database is
dumped first and the photos after it: a photo's file is written before its row and never
deleted, so every photo the dump names is in the archive.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_DUMP = "database.sqlite3"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with the reason for the operator."""


def _is_postgresql(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def _pg_env(alias: str) -> tuple[list[str], dict]:
    """pg_dump/pg_restore connection arguments; the password travels in the environment."""
    conf = connections[alias].settings_dict
    args = ["--dbname", conf["NAME"]]
    if conf.get("HOST"):
        args += ["--host", str(conf["HOST"])]
    if conf.get("PORT"):
        args += ["--port", str(conf["PORT"])]
    if conf.get("USER"):
        args += ["--username", conf["USER"]]
    env = {**os.environ}
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = conf["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install postgresql-client).")
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")


def _dump_database(folder: Path, *, alias: str) -> str:
    if _is_postgresql(alias):
        args, env = _pg_env(alias)
        target = folder / PG_DUMP
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *args], env)
        return PG_DUMP
    connection = connections[alias]
    connection.ensure_connection()
    target = sqlite3.connect(folder / SQLITE_DUMP)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    return SQLITE_DUMP


def backup_create(*, output_dir: Path, now: datetime, alias: str = "default") -> Path:
    """Write a backup archive into `output_dir` and return its path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / f"mesotrack-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        database_file = _dump_database(folder, alias=alias)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "engine": connections[alias].vendor,
            "database": database_file,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder / MANIFEST, arcname=MANIFEST)
            tar.add(folder / database_file, arcname=database_file)
            if media_root.is_dir():
                tar.add(media_root, arcname="media")
    archive.chmod(0o600)  # patient data: readable by the operator only
    return archive


def _has_data(alias: str) -> bool:
    return "django_migrations" in connections[alias].introspection.table_names()


def backup_restore(*, archive: Path, force: bool = False, alias: str = "default") -> dict:
    """Replace the database and add the media files from `archive`; returns its manifest."""
    if not archive.is_file():
        raise BackupError(f"No backup archive at {archive}.")
    if _has_data(alias) and not force:
        raise BackupError(
            "This database already holds Mesotrack data, and a restore replaces all of it. "
            "Restore into an empty database, or add --force to overwrite this one."
        )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, filter="data")
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise BackupError("This archive was written by another version of Mesotrack.")
        engine = connections[alias].vendor
        if manifest["engine"] != engine:
            raise BackupError(
                f"The archive holds a {manifest['engine']} database; this installation uses "
                f"{engine}."
            )
        if engine == "postgresql":
            connections[alias].close()
            args, env = _pg_env(alias)
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    *args,
                    str(folder / PG_DUMP),
                ],
                env,
            )
        else:
            connection = connections[alias]
            connection.ensure_connection()
            source = sqlite3.connect(folder / SQLITE_DUMP)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
        media = folder / "media"
        if media.is_dir():
            shutil.copytree(media, Path(settings.MEDIA_ROOT), dirs_exist_ok=True)
    return manifest
