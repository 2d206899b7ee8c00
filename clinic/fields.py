import zoneinfo
from functools import cache

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from phonenumber_field.formfields import PhoneNumberField as PhoneNumberFormField
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber, to_python
from phonenumbers import PhoneNumberType


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
        choices = time_zone_choices_grouped()
        if self.blank:
            choices = [("", "---------"), *choices]
        return forms.ChoiceField(
            choices=choices,
            required=not self.blank,
            label=kwargs.get("label") or self.verbose_name.capitalize(),
            help_text=self.help_text,
            initial=self.get_default() if self.has_default() else None,
        )


class ISODateInput(forms.DateInput):
    """The one date widget of every form: a native date picker, always rendered ISO (YYYY-MM-DD).

    A browser's <input type=date> reads only ISO; under LANGUAGE_CODE en-gb Django would render
    "01/02/1980", which the browser drops, so an edit form came back with the date empty.
    """

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs=attrs, format=format)


@cache
def time_zone_choices_grouped() -> list[tuple[str, list[tuple[str, str]]]]:
    """The zones under their region (Europe, America, ...) for an <optgroup> picker; zones without
    a region (UTC, legacy aliases such as "GB") go under "Other"."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, label in time_zone_choices():
        region, _, place = name.partition("/")
        if not place or region in {"Etc", "SystemV", "US", "Canada", "Brazil", "Mexico", "Chile"}:
            groups.setdefault("Other", []).append((name, label))
        else:
            groups.setdefault(region, []).append((name, place.replace("_", " ")))
    other = groups.pop("Other", [])
    return [*sorted(groups.items()), ("Other", other)]


def mobile_example(region: str) -> str:
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def mobile_number_error(number: phonenumbers.PhoneNumber, region: str) -> str | None:
    """Why `number` cannot take an SMS, or None when it can.

    libphonenumber's "valid" means "in a range allocated today": it refuses the Ofcom drama range
    (07700 900xxx) and ranges allocated after the installed metadata, so a real new mobile would be
    turned away. A number is accepted when it is a known mobile, or when it has a mobile's length
    and starts like the region's mobiles (07 in the UK) in a range the metadata does not know yet.
    """
    kind = phonenumbers.number_type(number)
    if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    example = mobile_example(region)
    if kind == PhoneNumberType.UNKNOWN and phonenumbers.is_possible_number_for_type(
        number, PhoneNumberType.MOBILE
    ):
        home = phonenumbers.region_code_for_number(number) or region
        sample = phonenumbers.example_number_for_type(home, PhoneNumberType.MOBILE)
        if sample is None or str(number.national_number)[:1] == str(sample.national_number)[:1]:
            return None
    if kind != PhoneNumberType.UNKNOWN:
        return (
            f"This is not a mobile number, so it cannot receive SMS; a mobile looks like {example}."
        )
    return invalid_mobile_message(region)


def invalid_mobile_message(region: str) -> str:
    code = phonenumbers.country_code_for_region(region)
    return (
        f"Enter a mobile number, like {mobile_example(region)}, "
        f"or with the country code (+{code} …)."
    )


def validate_mobile_number(value) -> None:
    number = to_python(value)
    if isinstance(number, PhoneNumber):
        error = mobile_number_error(number, settings.PHONENUMBER_DEFAULT_REGION)
        if error:
            raise ValidationError(error, code="invalid")


class MobileNumberFormField(PhoneNumberFormField):
    default_validators = [validate_mobile_number]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        example = mobile_example(settings.PHONENUMBER_DEFAULT_REGION)
        self.error_messages["invalid"] = invalid_mobile_message(settings.PHONENUMBER_DEFAULT_REGION)
        self.widget.attrs.setdefault("placeholder", example)
        self.widget.attrs.setdefault("autocomplete", "tel")


class MobileNumberField(PhoneNumberField):
    """A mobile phone number, typed in the clinic region's national format (07700 900123 in the
    UK) or with a country code; stored E.164. Accepts what a phone can be texted on, see
    mobile_number_error."""

    default_validators = [validate_mobile_number]

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", MobileNumberFormField)
        return super().formfield(**kwargs)

    def get_prep_value(self, value):
        # The parent stores a number outside libphonenumber's allocated ranges as typed
        # ("07700 900123"), which no SMS gateway takes; an accepted mobile is always stored E.164.
        number = to_python(value, region=self.region)
        if (
            isinstance(number, PhoneNumber)
            and phonenumbers.is_possible_number(number)
            and not number.is_valid()
            and mobile_number_error(number, settings.PHONENUMBER_DEFAULT_REGION) is None
        ):
            return number.format_as(phonenumbers.PhoneNumberFormat.E164)
        return super().get_prep_value(value)


def phone_number_error(number: phonenumbers.PhoneNumber, region: str) -> str | None:
    """Why `number` cannot be called, or None when it can: any allocated number (a landline, a
    GP practice) or what mobile_number_error accepts (the drama range, ranges newer than the
    installed metadata)."""
    if number.is_valid() or mobile_number_error(number, region) is None:
        return None
    return invalid_phone_message(region)


def invalid_phone_message(region: str) -> str:
    code = phonenumbers.country_code_for_region(region)
    return (
        f"Enter a phone number, like {mobile_example(region)}, "
        f"or with the country code (+{code} …)."
    )


def validate_phone_number(value) -> None:
    number = to_python(value)
    if isinstance(number, PhoneNumber):
        error = phone_number_error(number, settings.PHONENUMBER_DEFAULT_REGION)
        if error:
            raise ValidationError(error, code="invalid")


class PhoneNumberAnyFormField(PhoneNumberFormField):
    default_validators = [validate_phone_number]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages["invalid"] = invalid_phone_message(settings.PHONENUMBER_DEFAULT_REGION)
        self.widget.attrs.setdefault("autocomplete", "off")


class PhoneNumberAnyField(MobileNumberField):
    """A phone number that need not take an SMS (a GP practice, an emergency contact), typed in
    the same national format as the mobile and stored E.164."""

    default_validators = [validate_phone_number]

    def formfield(self, **kwargs):
        kwargs["form_class"] = PhoneNumberAnyFormField
        return super().formfield(**kwargs)
