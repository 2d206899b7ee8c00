"""Formulation, version, lot and report pages: parse, check permission, call, render.

Views compose: the lot recall list and the usage report read session records from the sessions
app (sessions/records/recall.py).
"""

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.db.models.functions import Coalesce
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from sessions.records.recall import lot_recipients, lot_recipients_csv, version_usage

from . import lots as lot_rules
from . import versioning
from .diff import formulation_timeline, versions_compare
from .forms import (
    CompareForm,
    FormulationForm,
    LineForm,
    LotForm,
    ReasonForm,
    RecallForm,
    VersionForm,
)
from .models import Formulation, FormulationVersion, Ingredient, IngredientLine, Lot
from .sheets import ingredient_sheet_context
from .units import strength_in_words

RECALL_PAGE_SIZE = 100


def _refusal(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Catalogue ---------------------------------------------------------------------------------------


@permission_required("formulations.view_formulation")
def formulation_list(request):
    formulations = Formulation.objects.annotate(version_count=Count("versions")).prefetch_related(
        Prefetch(
            "versions",
            queryset=FormulationVersion.objects.exclude(status="draft").order_by("-number"),
            to_attr="released_versions",
        )
    )
    return render(request, "formulations/list.html", {"formulations": formulations})


@permission_required("formulations.add_formulation")
def formulation_create(request):
    form = FormulationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        formulation = versioning.formulation_create(**form.cleaned_data)
        messages.success(request, f"{formulation} created. Add its first version.")
        return redirect("formulations:detail", pk=formulation.pk)
    return render(request, "formulations/form.html", {"form": form, "title": "New formulation"})


@permission_required("formulations.change_formulation")
def formulation_edit(request, pk):
    formulation = get_object_or_404(Formulation, pk=pk)
    form = FormulationForm(request.POST or None, instance=formulation)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"{formulation} saved.")
        return redirect("formulations:detail", pk=formulation.pk)
    return render(request, "formulations/form.html", {"form": form, "title": f"Edit {formulation}"})


@permission_required("formulations.view_formulation", "formulations.view_formulationversion")
def formulation_detail(request, pk):
    formulation = get_object_or_404(Formulation, pk=pk)
    today = timezone.localdate()
    all_lots = request.GET.get("lots") == "all"
    lots = Lot.objects.all()
    if not all_lots:  # ?lots=all shows the lots in history too
        lots = lots.exclude(lot_rules.lots_in_history(on_date=today))
    versions = (
        formulation.versions.prefetch_related(
            Prefetch("lines", queryset=IngredientLine.objects.select_related("ingredient")),
            Prefetch("lots", queryset=lots.prefetch_related("corrections")),
        )
        # The signed records naming each version, as counted at each signature (the usage
        # report's totals): one row per version, not a count over every record.
        .annotate(
            session_count=Coalesce("usage__sessions", 0),
            older_lots=Count(
                "lots", filter=lot_rules.lots_in_history(on_date=today, prefix="lots__")
            ),
        )
        .order_by("-number")
    )
    for version in versions:
        for line in version.lines.all():
            line.words = strength_in_words(
                amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml
            )
        for lot in version.lots.all():
            lot.shown_status = lot_rules.lot_status_on(lot=lot, on_date=today)
    return render(
        request,
        "formulations/detail.html",
        {
            "formulation": formulation,
            "versions": versions,
            "compare_form": CompareForm(),
            "all_lots": all_lots,
            "older_than": lot_rules.lots_history_since(today),
        },
    )


@permission_required("formulations.view_ingredient")
def ingredient_list(request):
    return render(
        request, "formulations/ingredients.html", {"ingredients": Ingredient.objects.all()}
    )


# Versions ----------------------------------------------------------------------------------------


@permission_required("formulations.add_formulationversion")
def version_create(request, pk):
    formulation = get_object_or_404(Formulation, pk=pk)
    form = VersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = versioning.version_create_draft(formulation=formulation, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Draft {version} created. Add its ingredients.")
            return redirect("formulations:version_edit", pk=version.pk)
    return render(
        request,
        "formulations/form.html",
        {"form": form, "title": f"New draft version of {formulation}"},
    )


@permission_required("formulations.change_formulationversion")
def version_edit(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    if not version.is_draft:
        messages.error(
            request,
            f"{version} is {version.get_status_display().lower()}: only a draft can be edited. "
            'Use "New version from this one" to make a changed copy.',
        )
        return redirect("formulations:detail", pk=version.formulation_id)
    form = VersionForm.for_version(version, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            versioning.version_update_draft(version=version, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{version} saved.")
            return redirect("formulations:version_edit", pk=version.pk)
    lines = version.lines.select_related("ingredient")
    for line in lines:
        line.words = strength_in_words(
            amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml
        )
    return render(
        request,
        "formulations/version_edit.html",
        {"version": version, "form": form, "lines": lines, "line_form": LineForm()},
    )


@permission_required("formulations.add_ingredientline")
def line_add(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    form = LineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            versioning.line_add(version=version, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['ingredient']} added to {version}.")
            return redirect("formulations:version_edit", pk=version.pk)
    return render(
        request,
        "formulations/form.html",
        {"form": form, "title": f"Add an ingredient to {version}"},
    )


@permission_required("formulations.change_ingredientline")
def line_edit(request, pk):
    line = get_object_or_404(IngredientLine.objects.select_related("version__formulation"), pk=pk)
    reason = line.version.frozen_reason()
    if request.method == "GET" and reason:
        messages.error(request, f"{line.version} is {reason}: only a draft can be edited.")
        return redirect("formulations:detail", pk=line.version.formulation_id)
    initial = {
        "ingredient": line.ingredient_id,
        "amount": line.amount,
        "unit": line.unit,
        "per_volume_ml": line.per_volume_ml,
    }
    form = LineForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            versioning.line_change(line=line, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{line.ingredient} changed in {line.version}.")
            return redirect("formulations:version_edit", pk=line.version_id)
    return render(
        request,
        "formulations/form.html",
        {"form": form, "title": f"Change {line.ingredient} in {line.version}"},
    )


@permission_required("formulations.delete_ingredientline")
@require_POST
def line_remove(request, pk):
    line = get_object_or_404(IngredientLine.objects.select_related("version__formulation"), pk=pk)
    try:
        versioning.line_remove(line=line)
    except ValidationError as exc:
        _refusal(request, exc)
        return redirect("formulations:detail", pk=line.version.formulation_id)
    messages.success(request, f"{line.ingredient} removed from {line.version}.")
    return redirect("formulations:version_edit", pk=line.version_id)


@permission_required("formulations.change_formulationversion")
@require_POST
def version_publish(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    try:
        versioning.version_publish(version=version, by=request.user)
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"{version} published: it can no longer be changed.")
    return redirect("formulations:detail", pk=version.formulation_id)


@permission_required("formulations.change_formulationversion")
@require_POST
def version_retire(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    try:
        versioning.version_retire(version=version)
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"{version} retired: it is no longer offered for new sessions.")
    return redirect("formulations:detail", pk=version.formulation_id)


@permission_required("formulations.add_formulationversion")
@require_POST
def version_new_from(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    draft = versioning.version_new_from(version=version)
    messages.success(request, f"Draft {draft} copied from {version}. Change it, then publish.")
    return redirect("formulations:version_edit", pk=draft.pk)


@permission_required("formulations.delete_formulationversion")
@require_POST
def version_delete(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    try:
        versioning.version_delete_draft(version=version)
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"Draft {version} deleted.")
    return redirect("formulations:detail", pk=version.formulation_id)


@permission_required("formulations.view_ingredient_sheet")
def ingredient_sheet(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    return render(request, "formulations/sheet.html", ingredient_sheet_context(version=version))


@permission_required("formulations.compare_formulationversion")
def version_compare(request):
    form = CompareForm(request.GET or None)
    diff = None
    if form.is_valid():
        diff = versions_compare(old=form.cleaned_data["a"], new=form.cleaned_data["b"])
    return render(request, "formulations/compare.html", {"form": form, "diff": diff})


@permission_required("formulations.view_formulation_history")
def formulation_history(request, pk):
    formulation = get_object_or_404(Formulation, pk=pk)
    return render(
        request,
        "formulations/history.html",
        {"formulation": formulation, "entries": formulation_timeline(formulation=formulation)},
    )


@permission_required("formulations.view_usage_report")
def usage_report(request):
    return render(request, "formulations/usage.html", {"versions": version_usage()})


# Lots --------------------------------------------------------------------------------------------


@permission_required("formulations.add_lot")
def lot_receive(request, pk):
    version = get_object_or_404(FormulationVersion.objects.select_related("formulation"), pk=pk)
    form = LotForm(request.POST or None, initial={"received_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            lot = lot_rules.lot_receive(version=version, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Lot {lot.lot_number} received for {version}.")
            return redirect("formulations:detail", pk=version.formulation_id)
    return render(
        request, "formulations/form.html", {"form": form, "title": f"Receive a lot of {version}"}
    )


@permission_required("formulations.change_lot")
@require_POST
def lot_hold(request, pk, action):
    lot = get_object_or_404(Lot.objects.select_related("version"), pk=pk)
    form = ReasonForm(request.POST)
    rule = {"quarantine": lot_rules.lot_quarantine, "release": lot_rules.lot_release}.get(action)
    if rule is None:
        return HttpResponse("Unknown lot action.", status=404)
    if not form.is_valid():
        messages.error(request, "Give a reason for the change of the lot's status.")
    else:
        try:
            rule(lot=lot, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, f"Lot {lot.lot_number}: {action} recorded.")
    return redirect("formulations:detail", pk=lot.version.formulation_id)


@permission_required("formulations.recall_lot")
def lot_recall(request, pk):
    lot = get_object_or_404(Lot.objects.select_related("version__formulation"), pk=pk)
    if request.GET.get("format") == "csv":
        # Streamed: every use of the lot, however many, without holding them all in memory.
        rows = lot_recipients_csv(lot=lot, zone=timezone.get_current_timezone())
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="recall-lot-{lot.pk}.csv"'
        response["Cache-Control"] = "no-store"
        return response
    form = RecallForm(request.POST or None, initial={"recalled_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            lot_rules.lot_recall(
                lot=lot,
                reason=form.cleaned_data["reason"],
                on_date=form.cleaned_data["recalled_on"],
                by=request.user,
            )
        except ValidationError as exc:
            if set(getattr(exc, "error_dict", {NON_FIELD_ERRORS: ()})) == {NON_FIELD_ERRORS}:
                # e.g. already recalled: no field to show it on, the form is gone
                _refusal(request, exc)
                return redirect("formulations:lot_recall", pk=lot.pk)
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Lot {lot.lot_number} recalled.")
            return redirect("formulations:lot_recall", pk=lot.pk)
    return render(
        request,
        "formulations/recall.html",
        {
            "lot": lot,
            # The page shows RECALL_PAGE_SIZE uses at a time; the CSV has them all.
            "recipients": Paginator(lot_recipients(lot=lot), RECALL_PAGE_SIZE).get_page(
                request.GET.get("page")
            ),
            "form": form,
        },
    )
