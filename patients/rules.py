"""Screening rule versions: a rule is changed by making its next version, never edited in place.

Past screenings name the rule version they were evaluated against, so the old version stays as
it was. An absolute rule keeps its outcome, trigger and "active" in every version: it can be
reworded, never switched off, demoted or narrowed (models.absolute_rule_weakening says why; the
model, queryset and a PostgreSQL trigger refuse the same).
"""

from __future__ import annotations

from django.db import transaction

from .models import RULE_EDITABLE_FIELDS, RuleVersionError, ScreeningRule


@transaction.atomic
def screening_rule_revise(
    *, rule: ScreeningRule, by, change_reason: str, **changes
) -> ScreeningRule:
    """The next version of `rule` with `changes` (fields of RULE_EDITABLE_FIELDS)."""
    unknown = set(changes) - set(RULE_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"screening_rule_revise() does not set {sorted(unknown)}")
    if not change_reason.strip():
        raise RuleVersionError("Say why the rule is changed: the reason is kept with the version.")
    # Lock the rule's versions so two admins changing it at once make versions n+1 and n+2.
    versions = list(
        ScreeningRule.objects.select_for_update().filter(code=rule.code).order_by("version")
    )
    latest = versions[-1]
    if latest.pk != rule.pk:
        raise RuleVersionError(
            f"“{rule.code}” has changed since you opened it (version {latest.version} is now in "
            "force). Open it again and make the change there."
        )
    values = {f: getattr(latest, f) for f in RULE_EDITABLE_FIELDS} | changes
    if values == {f: getattr(latest, f) for f in RULE_EDITABLE_FIELDS}:
        raise RuleVersionError("Nothing was changed, so no new version was made.")
    new = ScreeningRule(
        code=latest.code,
        version=latest.version + 1,
        replaces=latest,
        change_reason=change_reason.strip(),
        changed_by=by,
        **values,
    )
    new.full_clean()
    new.save()
    return new
