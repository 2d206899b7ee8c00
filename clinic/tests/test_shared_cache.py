"""The public pages' rate limits count in a cache every web process shares: Redis when the broker
is Redis, files under var/ on the embedded default, never a per-process memory cache."""

from pathlib import Path

from django.conf import settings

from clinic.tests.test_settings import run_manage
from sessions.outreach.throttle import throttle_hit

PRINT_BACKEND = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
# Another process (as another gunicorn worker would) counts two uses of one key.
TWO_HITS = (
    "from sessions.outreach.throttle import throttle_hit; "
    "[throttle_hit(scope='shared-test', key='203.0.113.9', limit=2, window_seconds=60) "
    "for _ in range(2)]"
)


def test_a_redis_broker_gives_a_redis_cache():
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_BACKEND,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/4",
        CACHE_URL="",
    )
    assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache", result.stderr


def test_the_embedded_default_caches_in_files_under_var():
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_BACKEND + "; print(settings.CACHES['default']['LOCATION'])",
        CELERY_BROKER_URL="filesystem://",
        CACHE_URL="",
    )
    backend, location = result.stdout.split()
    assert backend == "django.core.cache.backends.filebased.FileBasedCache"
    # var/cache/, or var/test/gwN/cache/ in a parallel test process (clinic/settings.py)
    assert location == str(settings.SHARED_DIR / "cache")
    assert Path(location).is_relative_to(settings.VAR_DIR)


def test_no_configuration_gives_a_per_process_cache():
    assert "locmem" not in settings.CACHES["default"]["BACKEND"]


def test_a_count_made_in_another_process_is_seen_here():
    # given another process used the key twice (the limit)
    result = run_manage("shell", "--no-imports", "-c", TWO_HITS)
    assert result.returncode == 0, result.stderr

    # when this process uses it once more, then it is over the limit
    assert not throttle_hit(scope="shared-test", key="203.0.113.9", limit=2, window_seconds=60)


def test_a_parallel_test_process_gives_celery_and_the_cache_its_own_broker_database():
    # given a fourth parallel test process (gw3) on Redis database 2
    # when its settings and Celery app load (in a process of their own, whatever this one is)
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; from clinic.celery import app; "
        "print(settings.CACHES['default']['LOCATION'], app.conf.broker_url)",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/2",
        CACHE_URL="",
        PYTEST_XDIST_WORKER="gw3",
        MESOTRACK_BROKER_OF="",
    )
    # then the cache and Celery (which reads CELERY_BROKER_URL before the settings) both use
    # database 5, so two processes' workers never take each other's tasks
    assert result.stdout.split() == ["redis://127.0.0.1:6379/5"] * 2, result.stderr
