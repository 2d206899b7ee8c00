"""The one-time code of an online booking, derived from the secret key and the booking's nonce:
never stored, so only the message carrying it shows it."""

from django.utils.crypto import salted_hmac

from ..models import OnlineBooking


def booking_code(*, booking: OnlineBooking) -> str:
    digest = salted_hmac(
        "mesotrack.online-booking-code", f"{booking.public_id}:{booking.code_nonce}"
    )
    return f"{int(digest.hexdigest(), 16) % 1_000_000:06d}"
