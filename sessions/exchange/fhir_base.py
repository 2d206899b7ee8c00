"""What every FHIR mapping module shares: stable ids, references, meta.lastUpdated, and building a
resource through the library so a mapping that breaks the R4 structure fails where it is made.

Resources are built with fhir.resources' R4B models (pydantic: every element is type-checked when
the resource is built) and handed on as plain JSON dicts. The elements used here are the same in R4
and R4B; the tests validate the output against the official R4 JSON schema as well.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from fhir.resources.R4B import get_fhir_model_class

from .codes import UCUM


def fhir_id(prefix: str, pk: int) -> str:
    """A stable logical id: the same row always exports under the same id."""
    return f"{prefix}-{pk}"


def reference(resource_type: str, prefix: str, pk: int, display: str = "") -> dict:
    ref = {"reference": f"{resource_type}/{fhir_id(prefix, pk)}"}
    if display:
        ref["display"] = display
    return ref


def instant(value: datetime) -> str:
    return value.isoformat()


def day(value: date) -> str:
    return value.isoformat()


def decimal(value: Decimal) -> Decimal:
    """A Decimal without trailing zeros or exponent noise (0.100000 -> 0.1)."""
    return Decimal(format(Decimal(value).normalize(), "f"))


def quantity(value: Decimal | int, *, unit: str, code: str | None = None) -> dict:
    return {
        "value": decimal(value) if isinstance(value, Decimal) else value,
        "unit": unit,
        "system": UCUM,
        "code": code or unit,
    }


def with_last_change(queryset: QuerySet) -> QuerySet:
    """Annotate `last_change`: when the row's change history last moved (django-simple-history),
    which is what meta.lastUpdated means. One subquery, not one query per row."""
    history = queryset.model.history.model
    latest = history.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return queryset.annotate(last_change=Subquery(latest.values("history_date")[:1]))


def meta(obj, *fallbacks: datetime | None) -> dict:
    """meta.lastUpdated from the row's history, else the newest of the given timestamps."""
    when = getattr(obj, "last_change", None)
    candidates = [t for t in (when, *fallbacks) if t is not None]
    return {"lastUpdated": instant(max(candidates))} if candidates else {}


def build(resource_type: str, data: dict) -> dict:
    """Validate `data` as the R4B model of `resource_type` and return its JSON form.

    Raises pydantic.ValidationError when the mapping produced an element FHIR does not allow."""
    model = get_fhir_model_class(resource_type)
    return model.model_validate({"resourceType": resource_type, **data}).model_dump(mode="json")


def drop_empty(data: dict) -> dict:
    """FHIR forbids empty strings, lists and objects: leave such elements out."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}
