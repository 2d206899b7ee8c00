from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .access import permission_required
from .dashboard import dashboard_for
from .health import broker_status, database_status, worker_last_seen
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
    database = database_status()
    broker = broker_status()
    last_seen = worker_last_seen() if database == "ok" else None
    body = {
        "database": database,
        "broker": broker,
        "worker_last_seen": last_seen.isoformat() if last_seen else None,
    }
    healthy = database == "ok" and broker == "ok"
    return JsonResponse(body, status=200 if healthy else 503)
