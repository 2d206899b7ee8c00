"""The lot correction page: a typo on a lot is put right by a recorded correction with a reason,
never by editing the lot (records and the recall list name the lot as received)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from clinic.access import permission_required

from .forms import LotCorrectionForm
from .lots import lot_correct
from .models import Lot


@permission_required("formulations.change_lot")
def lot_correction_new(request, pk):
    lot = get_object_or_404(
        Lot.objects.select_related("version__formulation").prefetch_related("corrections"), pk=pk
    )
    form = LotCorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lot_correct(lot=lot, by=request.user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, f"Correction of lot {lot.lot_number} recorded.")
            return redirect("formulations:detail", pk=lot.version.formulation_id)
    return render(request, "formulations/lot_correct.html", {"lot": lot, "form": form})
