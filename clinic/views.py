"""The clinic app's pages. They compose apps: /healthz reads the reminder outbox of sessions."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sessions.outreach.sweep import oldest_unsent_due_at

from .access import permission_required
from .dashboard import dashboard_for
from .health import (
    BEAT,
    HEARTBEATS,
    SWEEP,
    WORKER,
    broker_status,
    database_status,
    heartbeats_last_seen,
    stale_parts,
)
from .roles import user_role


@permission_required()
def dashboard(request):
    board = dashboard_for(
        clinic=request.clinic,
        role=user_role(request.user),
        today=timezone.localdate(),
        staff=getattr(request.user, "staff_profile", None),
        now=timezone.now(),
    )
    return render(request, "clinic/dashboard.html", {"board": board})


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Database and broker up, and worker, beat and the reminder sweep alive (each seen within
    HEALTH_STALE_AFTER_SECONDS); 503 names what is wrong. Opaque timestamps only."""
    now = timezone.now()
    database = database_status()
    broker = broker_status()
    seen = heartbeats_last_seen() if database == "ok" else dict.fromkeys(HEARTBEATS)
    stale = stale_parts(seen, now=now) if database == "ok" else []
    oldest = oldest_unsent_due_at(now=now) if database == "ok" else None
    body = {
        "database": database,
        "broker": broker,
        "worker_last_seen": _iso(seen[WORKER]),
        "beat_last_seen": _iso(seen[BEAT]),
        "sweep_last_run": _iso(seen[SWEEP]),
        "stale": stale,
        "oldest_due_reminder_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
    }
    healthy = database == "ok" and broker == "ok" and not stale
    return JsonResponse(body, status=200 if healthy else 503)


def _iso(moment):
    return moment.isoformat() if moment else None
