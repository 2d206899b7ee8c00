"""The SMS backend interface and its one failure: what every backend module builds on."""


class DeliveryFailed(Exception):
    """The provider did not accept the message. `reason` is safe to store and show to staff."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SmsBackend:
    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        raise NotImplementedError
