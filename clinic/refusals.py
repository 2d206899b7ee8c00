"""How a rule says no, in every app (STYLE.md rules 4 and 11).

Each domain raises its own subclass — BookingRefused, RecordRefused, OutreachRefused,
ExchangeRefused (sessions), PatientRefused (patients), FormulationRefused (formulations) — so a
caller can tell whose rule it was, and every one carries the same three things: `rule` (a short
name a test or a log can match), `message` (why, in words the person at the desk understands) and
optionally `field` (the form field it is about). It is a ValidationError, so a form or the Django
admin shows the message where it belongs without a translation step in every view.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class Refused(ValidationError):
    def __init__(self, rule: str, message: str | dict[str, str], *, field: str | None = None):
        # A dict is several fields refused at once (a form with more than one wrong value).
        by_field = message if isinstance(message, dict) else {field or NON_FIELD_ERRORS: message}
        super().__init__({name: [text] for name, text in by_field.items()})
        self.rule = rule
        self.message = " ".join(by_field.values())
        self.field = field if not isinstance(message, dict) else None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rule!r}, {self.message!r})"


class FormulationRefused(Refused):
    """A formulation, version or lot rule (formulations/)."""


class PatientRefused(Refused):
    """A rule of the patient's clinical file: screening, consent, outcomes, photos, voiding
    (patients/)."""


class BookingRefused(Refused):
    """A plan or scheduling rule (sessions/booking/)."""


class RecordRefused(Refused):
    """A session record or adverse-event rule (sessions/records/)."""


class OutreachRefused(Refused):
    """A reminder, patient-link or opt-out rule (sessions/outreach/)."""


class ExchangeRefused(Refused):
    """A FHIR export, patient-copy or data-rights rule (sessions/exchange/)."""
