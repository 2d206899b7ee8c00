"""A small fixed-window rate limiter on Django's cache, for the public pages (/book/, the
patient's link). Keys are hashed, so no address or IP sits in the cache in clear.

The cache is one for every web process (clinic/settings.py: Redis beside the broker, or files
under var/), so gunicorn's workers share each count."""

import hashlib

from django.core.cache import cache


def throttle_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one use of `scope` by `key`; False once `limit` uses fell in the current window."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    name = f"throttle:{scope}:{digest}"
    if cache.add(name, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window_seconds)
        return True
    return count <= limit


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")
