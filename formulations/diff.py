"""What changed between two versions: lines added, removed, strength changed. Also the field
diffs of a formulation's audit timeline."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone

from .models import Formulation, FormulationVersion, IngredientLine, Lot
from .units import strength_in_words


@dataclass
class LineChange:
    ingredient: str
    before: str = ""
    after: str = ""


@dataclass
class VersionDiff:
    added: list[LineChange] = field(default_factory=list)
    removed: list[LineChange] = field(default_factory=list)
    changed: list[LineChange] = field(default_factory=list)
    unchanged: list[LineChange] = field(default_factory=list)
    fields: list[tuple[str, str, str]] = field(default_factory=list)


def _words(line: IngredientLine) -> str:
    return strength_in_words(amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml)


VERSION_FIELDS = [
    ("unit_volume_ml", "Unit volume (mL)"),
    ("vehicle", "Vehicle"),
    ("instructions", "Instructions"),
]


def versions_compare(*, old: FormulationVersion, new: FormulationVersion) -> VersionDiff:
    """Compare by ingredient; a strength counts as changed when the canonical concentration does."""
    before = {line.ingredient_id: line for line in old.lines.select_related("ingredient")}
    after = {line.ingredient_id: line for line in new.lines.select_related("ingredient")}
    diff = VersionDiff()
    for ingredient_id, line in after.items():
        if ingredient_id not in before:
            diff.added.append(LineChange(line.ingredient.name, after=_words(line)))
            continue
        was = before[ingredient_id]
        change = LineChange(line.ingredient.name, before=_words(was), after=_words(line))
        same = (was.concentration, was.concentration_unit) == (
            line.concentration,
            line.concentration_unit,
        )
        (diff.unchanged if same else diff.changed).append(change)
    for ingredient_id, line in before.items():
        if ingredient_id not in after:
            diff.removed.append(LineChange(line.ingredient.name, before=_words(line)))
    for name, label in VERSION_FIELDS:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            diff.fields.append((label, str(a), str(b)))
    return diff


@dataclass
class TimelineEntry:
    when: object
    who: str
    what: str  # e.g. "Version 2", "Line Biotin in v2", "Lot L001"
    action: str  # Created / Changed / Deleted
    changes: list[tuple[str, str, str]]


ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}
HIDDEN_FIELDS = {"id", "history_id", "history_date", "history_user", "history_type"}


def _who(record) -> str:
    user = record.history_user
    if user is None:
        return "System"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def _label(record, name: str) -> str:
    try:
        label = str(record.instance_type._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field since removed from the model keeps its raw name
        return name
    return label[:1].upper() + label[1:]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d %b %Y %H:%M")
    return str(value)


def _line_summary(record) -> list[tuple[str, str, str]]:
    words = strength_in_words(
        amount=record.amount, unit=record.unit, per_volume_ml=record.per_volume_ml
    )
    return [("Strength", "", words)]


def _lot_summary(record) -> list[tuple[str, str, str]]:
    return [
        ("Supplier", "", record.supplier),
        ("Expires", "", str(record.expires_on)),
        ("Quantity received", "", str(record.quantity_received)),
    ]


def _entries(records, describe, summary=None) -> list[TimelineEntry]:
    """Turn historical records (oldest first per object) into entries with field diffs."""
    entries = []
    previous = {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        prior = previous.get(record.id)
        changes = []
        if prior is not None and record.history_type == "~":
            delta = record.diff_against(prior)
            changes = [
                (_label(record, c.field), _text(c.old), _text(c.new))
                for c in delta.changes
                if c.field not in HIDDEN_FIELDS
            ]
        elif record.history_type == "+" and summary is not None:
            changes = summary(record)
        previous[record.id] = record
        entries.append(
            TimelineEntry(
                when=record.history_date,
                who=_who(record),
                what=describe(record),
                action=ACTIONS.get(record.history_type, record.history_type),
                changes=changes,
            )
        )
    return entries


def formulation_timeline(*, formulation: Formulation) -> list[TimelineEntry]:
    """Every recorded change to the formulation, its versions, lines and lots, newest first."""
    version_numbers = dict(
        FormulationVersion.history.filter(formulation_id=formulation.pk).values_list("id", "number")
    )
    version_ids = list(version_numbers)
    formulation_records = formulation.history.select_related("history_user__staff_profile")
    version_records = FormulationVersion.history.filter(
        formulation_id=formulation.pk
    ).select_related("history_user__staff_profile")
    line_records = (
        IngredientLine.history.filter(version_id__in=version_ids)
        .select_related("history_user__staff_profile")
        .select_related("ingredient")
    )
    lot_records = Lot.history.filter(version_id__in=version_ids).select_related(
        "history_user__staff_profile"
    )
    entries = [
        *_entries(formulation_records, lambda r: "Formulation"),
        *_entries(version_records, lambda r: f"Version {r.number}"),
        *_entries(
            line_records,
            lambda r: f"{r.ingredient.name} in version {version_numbers.get(r.version_id, '?')}",
            _line_summary,
        ),
        *_entries(
            lot_records,
            lambda r: f"Lot {r.lot_number} of version {version_numbers.get(r.version_id, '?')}",
            _lot_summary,
        ),
    ]
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
