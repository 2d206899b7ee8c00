"""Clinic admins add consent text versions and screening rules in the Django admin. A consent
text that may have been signed is never edited, and a screening rule is changed by making its
next version: the admin saves through rules.screening_rule_revise."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied

from .models import (
    RULE_EDITABLE_FIELDS,
    ConsentText,
    PhotoProtocolView,
    RuleOutcome,
    RuleVersionError,
    ScreeningRule,
    absolute_rule_weakening,
)
from .rules import screening_rule_revise


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "version", "created_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class ScreeningRuleForm(forms.ModelForm):
    class Meta:
        model = ScreeningRule
        fields = ["code", *RULE_EDITABLE_FIELDS, "change_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # The reason belongs to the new version: start empty, not with the last one's.
            self.initial["change_reason"] = ""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            stored = ScreeningRule.objects.get(pk=self.instance.pk)
            candidate = ScreeningRule(
                **{f: cleaned.get(f, getattr(stored, f)) for f in RULE_EDITABLE_FIELDS}
            )
            why = absolute_rule_weakening(previous=stored, new=candidate)
            if why:
                raise forms.ValidationError(why)
            if all(getattr(candidate, f) == getattr(stored, f) for f in RULE_EDITABLE_FIELDS):
                raise forms.ValidationError(
                    "Nothing was changed, so no new version was made (the read-only fields "
                    "cannot be changed here)."
                )
        return cleaned


ABSOLUTE_READ_ONLY = (
    "This is an absolute contraindication. Its outcome, question, trigger, sex and “active” are "
    "read-only because an absolute rule can never be switched off, demoted or narrowed: "
    "pregnant, under-age or allergic patients would be treated. You may reword it; saving makes "
    "a new version and the old one stays for the screenings evaluated against it."
)
RULE_VERSIONED = (
    "Saving makes a new version of the rule: past screenings keep the version they were "
    "evaluated against. The outcome and trigger are read-only here (add a new rule instead)."
)
SUPERSEDED = (
    "This is an old version, kept as past screenings were evaluated against it: it is read-only."
)


@admin.register(ScreeningRule)
class ScreeningRuleAdmin(admin.ModelAdmin):
    """Every change is a new rule version (rules.screening_rule_revise), never an edit."""

    form = ScreeningRuleForm
    list_display = ["code", "version", "outcome", "trigger", "trigger_value", "is_active"]
    list_filter = ["outcome", "trigger"]

    def get_queryset(self, request):
        return super().get_queryset(request).current()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["version"]
        always = ["code", "version", "outcome", "trigger", "trigger_value"]
        if obj.outcome == RuleOutcome.ABSOLUTE:
            return [*always, "question_key", "applies_to_sex", "is_active"]
        return always

    def get_fieldsets(self, request, obj=None):
        fields = ["code", "version", *RULE_EDITABLE_FIELDS, "change_reason"]
        if obj is None:
            return [(None, {"fields": fields})]
        description = ABSOLUTE_READ_ONLY if obj.outcome == RuleOutcome.ABSOLUTE else RULE_VERSIONED
        if not self._is_current(obj):
            description = SUPERSEDED
        return [(None, {"fields": fields, "description": description})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "change_reason" in form.base_fields:
            reason = form.base_fields["change_reason"]
            reason.required = True
            reason.help_text = "Why the rule changes; kept with the new version."
        return form

    @staticmethod
    def _is_current(obj) -> bool:
        return ScreeningRule.objects.current().filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        if obj is not None and not self._is_current(obj):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.changed_by = request.user
            obj.save()
            return
        stored = ScreeningRule.objects.get(pk=obj.pk)
        changes = {f: form.cleaned_data[f] for f in RULE_EDITABLE_FIELDS if f in form.cleaned_data}
        try:
            new = screening_rule_revise(
                rule=stored,
                by=request.user,
                change_reason=form.cleaned_data.get("change_reason", ""),
                **changes,
            )
        except RuleVersionError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc
        # The admin's "saved" message and redirect then name the new version.
        obj.pk, obj.version = new.pk, new.version

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PhotoProtocolView)
class PhotoProtocolViewAdmin(admin.ModelAdmin):
    """The clinic's standard photo views; a view is switched off, never deleted, so the
    photos already taken of it keep their meaning."""

    list_display = ["view", "required", "position", "instructions"]
    list_editable = ["required", "position"]

    def has_delete_permission(self, request, obj=None):
        return False
