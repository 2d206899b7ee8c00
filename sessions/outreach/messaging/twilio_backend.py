"""SMS through Twilio's Messages API with the official `twilio` package.

Configured from TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (a system check
refuses to start without them when SMS_BACKEND=twilio). TWILIO_API_BASE_URL, for tests only,
sends the API calls to a local fake instead of https://api.twilio.com.

Twilio's Messages API takes no idempotency key, so the reminder id travels in an
`Idempotency-Key` header for the record (and for a proxy that honours it); what actually keeps a
text from going twice is the outbox: a row left in `sending` becomes `unknown`, never resent.
"""

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .backend import DeliveryFailed, SmsBackend

TWILIO_API = "https://api.twilio.com"
# Seconds: a sweep must not hang on a slow provider (Celery's soft limit is 60 s).
TIMEOUT = 10


class _HttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, pointed at another base URL and carrying one extra header."""

    def __init__(self, *, base_url: str, idempotency_key: str):
        super().__init__(timeout=TIMEOUT)
        self.base_url = base_url.rstrip("/")
        self.idempotency_key = idempotency_key

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        headers = dict(headers or {})
        headers["Idempotency-Key"] = self.idempotency_key
        return super().request(method, url, params=params, data=data, headers=headers, **kwargs)


class TwilioSmsBackend(SmsBackend):
    def __init__(self):
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        self.base_url = settings.TWILIO_API_BASE_URL

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        client = Client(
            self.account_sid,
            self.auth_token,
            http_client=_HttpClient(base_url=self.base_url, idempotency_key=idempotency_key),
        )
        try:
            message = client.messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            # exc.msg may quote the phone number: keep only the status and Twilio's error code.
            raise DeliveryFailed(
                f"Twilio refused the message (HTTP {exc.status}, error {exc.code or 'none'})."
            ) from exc
        except (requests.RequestException, TwilioException) as exc:
            raise DeliveryFailed(f"Twilio could not be reached ({type(exc).__name__}).") from exc
        return message.sid
