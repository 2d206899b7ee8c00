from django.db import DatabaseError
from django.utils import timezone

from .models import Clinic


class ClinicTimezoneMiddleware:
    """Render every page in the clinic's own time zone, whatever the server's zone is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.clinic = Clinic.current()
        except DatabaseError:
            # Let /healthz answer 503 with the reason instead of failing here.
            request.clinic = None
        if request.clinic:
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
