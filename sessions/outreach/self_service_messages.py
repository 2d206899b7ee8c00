"""What the self-service messages add to a reminder's context: the one-time code of an online
booking, and a waitlist offer's time and link. No clinical detail: the SMS lands on a lock
screen."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from clinic.models import Clinic

from ..models import Reminder, ReminderKind
from .online_booking_code import booking_code
from .waitlist import offer_token


def self_service_context(
    *, reminder: Reminder, zone: ZoneInfo, clinic: Clinic, now: datetime
) -> dict:
    context = {}
    if reminder.kind == ReminderKind.VERIFICATION_CODE and reminder.online_booking is not None:
        context["code"] = booking_code(booking=reminder.online_booking)
    offer = reminder.waitlist_offer
    if offer is not None:
        local = offer.starts_at.astimezone(zone)
        context["when"] = f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"
        context["when_short"] = f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"
        expires = offer.expires_at.astimezone(zone)
        context["offer_until"] = f"{expires:%a} {expires.day} {expires:%b} at {expires:%H:%M}"
        if reminder.kind == ReminderKind.WAITLIST_OFFER:
            path = reverse("waitlist_offer", kwargs={"token": offer_token(offer=offer)})
            context["link"] = settings.SITE_URL.rstrip("/") + path
    return context
