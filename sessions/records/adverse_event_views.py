"""Adverse-event pages: clinicians record and update events, clinic admins read them and
acknowledge serious ones. Reception never opens them (clinical data). Each page that shows an
event is written to the access log, as the patient's clinical pages are."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from patients import audit
from sessions.models import AdverseEvent, TreatmentSession
from sessions.records import adverse_events, records
from sessions.records.adverse_event_forms import AdverseEventForm, VoidForm
from sessions.records.adverse_events import ACKNOWLEDGE, ADD, CHANGE, VIEW


def session_adverse_events_context(request, session: TreatmentSession) -> dict:
    """What the session and record pages show of the session's adverse events: the list and the
    "Record an adverse event" button for clinicians, the list alone for clinic admins, nothing
    for reception. The caller writes the access log (the pages show other clinical data too)."""
    if not adverse_events.may_read_adverse_events(user=request.user):
        return {"adverse_events": None, "can_record_adverse_event": False}
    return {
        "adverse_events": list(adverse_events.adverse_events_after(session=session)),
        "can_record_adverse_event": adverse_events.may_record_adverse_event(
            user=request.user, session=session
        ),
    }


def _event(event_id: int) -> AdverseEvent:
    return get_object_or_404(
        AdverseEvent.objects.select_related(
            "patient",
            "lot",
            "session__room__clinic",
            "session__plan",
            "reported_by__staff_profile",
            "acknowledged_by__staff_profile",
        ),
        pk=event_id,
    )


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@permission_required(ADD, CHANGE, "patients.view_clinical")
def adverse_event_new(request, pk: int):
    session = get_object_or_404(
        TreatmentSession.objects.select_related("patient", "room__clinic", "plan"), pk=pk
    )
    audit.access_log_request(request, patient=session.patient)
    lots = adverse_events.adverse_event_lots(session=session)
    form = AdverseEventForm(
        request.POST or None,
        lots=lots,
        initial={"onset_on": records.session_local_date(session=session)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = adverse_events.adverse_event_record(
                session=session, by=request.user, now=timezone.now(), **form.event_fields()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            note = " The clinic admins are notified." if event.serious else ""
            messages.success(request, f"Adverse event recorded.{note}")
            return redirect("treatment_sessions:adverse_event_detail", event_id=event.pk)
    return render(request, "sessions/adverse_event_form.html", {"form": form, "session": session})


def _detail(request, event: AdverseEvent, *, form=None, void_form=None, status=200):
    can_change = request.user.has_perms([ADD, CHANGE]) and event.voided_at is None
    if form is None and can_change:
        form = AdverseEventForm(
            instance=event, lots=adverse_events.adverse_event_lots(session=event.session)
        )
    context = {
        "event": event,
        "form": form if can_change else None,
        "void_form": (void_form or VoidForm()) if can_change else None,
        "can_acknowledge": request.user.has_perm(ACKNOWLEDGE)
        and event.serious
        and event.acknowledged_at is None
        and event.voided_at is None,
        "history": event.history.select_related("history_user").order_by("-history_date"),
    }
    return render(request, "sessions/adverse_event_detail.html", context, status=status)


@permission_required(VIEW, "patients.view_clinical")
def adverse_event_detail(request, event_id: int):
    event = _event(event_id)
    audit.access_log_request(request, patient=event.patient)
    return _detail(request, event)


@permission_required(ADD, CHANGE, "patients.view_clinical")
@require_POST
def adverse_event_update(request, event_id: int):
    event = _event(event_id)
    audit.access_log_request(request, patient=event.patient)
    if event.voided_at is not None:
        messages.error(request, "This adverse event was voided, so it can no longer change.")
        return redirect("treatment_sessions:adverse_event_detail", event_id=event.pk)
    form = AdverseEventForm(
        request.POST,
        instance=event,
        lots=adverse_events.adverse_event_lots(session=event.session),
    )
    if form.is_valid():
        try:
            adverse_events.adverse_event_update(
                event=event, by=request.user, now=timezone.now(), **form.event_fields()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, "Adverse event updated; the earlier version stays in its history."
            )
            return redirect("treatment_sessions:adverse_event_detail", event_id=event.pk)
    return _detail(request, _event(event_id), form=form, status=400)


@permission_required(ADD, CHANGE, "patients.view_clinical")
@require_POST
def adverse_event_void(request, event_id: int):
    event = _event(event_id)
    audit.access_log_request(request, patient=event.patient)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            adverse_events.adverse_event_void(
                event=event, by=request.user, reason=form.cleaned_data["reason"], now=timezone.now()
            )
        except ValidationError as exc:
            messages.error(request, "Not voided: " + " ".join(exc.messages))
        else:
            messages.success(request, "Adverse event voided; it stays in the record.")
    else:
        messages.error(request, "Not voided: write why the adverse event is voided.")
    return redirect("treatment_sessions:adverse_event_detail", event_id=event.pk)


@permission_required(VIEW, ACKNOWLEDGE)
@require_POST
def adverse_event_acknowledge(request, event_id: int):
    event = _event(event_id)
    try:
        adverse_events.adverse_event_acknowledge(event=event, by=request.user, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Serious adverse event acknowledged.")
    next_url = request.POST.get("next")
    if next_url == "detail":
        return redirect("treatment_sessions:adverse_event_detail", event_id=event.pk)
    return redirect("dashboard")
