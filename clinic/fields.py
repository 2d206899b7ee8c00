import zoneinfo
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.db import models


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return sorted((name, name.replace("_", " ")) for name in zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a time zone name; use one like Europe/London.",
            params={"value": value},
        )


class TimeZoneField(models.CharField):
    """An IANA time zone name. The list of zones comes from the installed tzdata at run time, so
    it is kept out of migrations (a tzdata update must not need a migration)."""

    default_validators = [validate_time_zone]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        choices = time_zone_choices()
        if self.blank:
            choices = [("", "---------"), *choices]
        return forms.ChoiceField(
            choices=choices,
            required=not self.blank,
            label=kwargs.get("label") or self.verbose_name.capitalize(),
            help_text=self.help_text,
            initial=self.get_default() if self.has_default() else None,
        )
