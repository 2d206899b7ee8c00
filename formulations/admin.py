"""Django admin for the catalogue. Published, retired and used versions are view-only here and
nothing clinical can be deleted; status changes (publish, retire, recall) go through the app's
own pages, which call versioning.py and lots.py."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    INGREDIENT_IDENTITY_FIELDS,
    Formulation,
    FormulationVersion,
    Ingredient,
    IngredientLine,
    Lot,
    LotCorrection,
)


class NoDeleteAdmin(SimpleHistoryAdmin):
    def has_delete_permission(self, request, obj=None):
        # Clinical records are never hard-deleted; drafts are deleted from the app's pages.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


INGREDIENT_READ_ONLY = (
    "A published or used formulation version lists this ingredient, so its name, category and "
    "prescription flag are read-only: signed records, ingredient sheets and the allergy check "
    "by category read them. To change them, add a new ingredient."
)
LOT_READ_ONLY = (
    "A session record or an adverse event names this lot, so its number, version, supplier and "
    "expiry are read-only: the record and the recall list must keep naming the lot injected. "
    "Put a typo right with a lot correction (“Correct” on the formulation's page) and say "
    "why; corrections are listed below."
)


@admin.register(Ingredient)
class IngredientAdmin(NoDeleteAdmin):
    list_display = ["name", "category", "is_prescription_drug"]
    list_filter = ["category", "is_prescription_drug"]
    search_fields = ["name", "synonyms"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_in_use():
            return list(INGREDIENT_IDENTITY_FIELDS)
        return []

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_in_use():
            return [(None, {**fieldsets[0][1], "description": INGREDIENT_READ_ONLY})]
        return fieldsets


@admin.register(Formulation)
class FormulationAdmin(NoDeleteAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class IngredientLineInline(admin.TabularInline):
    model = IngredientLine
    extra = 0
    fields = ["ingredient", "amount", "unit", "per_volume_ml", "position"]
    autocomplete_fields = ["ingredient"]

    def _editable(self, obj) -> bool:
        return obj is None or not obj.frozen_reason()

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(FormulationVersion)
class FormulationVersionAdmin(NoDeleteAdmin):
    list_display = ["__str__", "status", "unit_volume_ml", "published_at"]
    list_filter = ["status", "formulation"]
    list_select_related = ["formulation"]
    inlines = [IngredientLineInline]
    # Status moves only through publish / retire in the app, so the rules in versioning.py hold.
    readonly_fields = ["status", "published_at", "published_by", "retired_at", "based_on"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.frozen_reason():
            return False  # shown read-only; a POST is refused with 403
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        # Numbers are given by versioning.version_create_draft; drafts start in the app.
        return False


class LotCorrectionInline(admin.TabularInline):
    """Corrections are shown here; they are made on the lot's page (lots.lot_correct)."""

    model = LotCorrection
    extra = 0
    fields = ["field", "old_value", "new_value", "reason", "corrected_by", "corrected_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lot)
class LotAdmin(NoDeleteAdmin):
    list_display = ["lot_number", "supplier", "version", "expires_on", "status"]
    list_filter = ["status"]
    search_fields = ["lot_number", "supplier"]
    list_select_related = ["version__formulation"]
    inlines = [LotCorrectionInline]
    readonly_fields = ["version", "status", "status_reason", "recalled_on", "recalled_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_named():
            return [*self.readonly_fields, "lot_number", "supplier", "expires_on"]
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_named():
            return [(None, {**fieldsets[0][1], "description": LOT_READ_ONLY})]
        return fieldsets

    def has_add_permission(self, request):
        return False  # lots are received on the version's page (lots.lot_receive)
