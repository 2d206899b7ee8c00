"""The clinician's session record pages: parse, check permission, call records.py, render.

Clinicians write records; clinic admins may read them (they audit who received what) but not
write them; reception never reaches them (DESIGN.md, decision 2). Every view of a record is
written to the patient's access log, like the patient's clinical pages.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from patients import audit
from sessions.models import Injection, RecordLot, SessionRecord, TreatmentSession
from sessions.records import records
from sessions.records.adverse_event_views import session_adverse_events_context
from sessions.records.forms import (
    AddendumForm,
    InjectionForm,
    RecordDetailsForm,
    RecordLotForm,
    RecordStartForm,
)
from sessions.records.records import RecordRefused

VIEW = "treatment_sessions.view_sessionrecord"
START = "treatment_sessions.add_sessionrecord"
CHANGE = "treatment_sessions.change_sessionrecord"
SIGN = "treatment_sessions.sign_sessionrecord"
ADDENDUM = "treatment_sessions.add_recordaddendum"


def _session(pk: int) -> TreatmentSession:
    # The record (if any) comes in the same query: every record page needs both.
    return get_object_or_404(
        TreatmentSession.objects.select_related(
            "patient",
            "clinician",
            "room",
            "plan__formulation_version__formulation",
            "record__clinician",
            "record__signed_by",
            "record__formulation_version__formulation",
            "record__clearance_snapshot",
        ),
        pk=pk,
    )


def _record(session: TreatmentSession) -> SessionRecord | None:
    try:
        return session.record
    except SessionRecord.DoesNotExist:
        return None


def _record_or_404(session: TreatmentSession) -> SessionRecord:
    record = _record(session)
    if record is None:
        raise Http404("This session has no record yet: start it from the record page.")
    return record


def _profile(request):
    profile = getattr(request.user, "staff_profile", None)
    if profile is None:
        raise PermissionDenied("Only a member of staff with a profile can write a session record.")
    return profile


def _today(request):
    zone = request.clinic.zone if request.clinic else None
    return timezone.now().astimezone(zone).date()


def _back(session: TreatmentSession):
    return redirect("treatment_sessions:record", pk=session.pk)


def _signed_refusal(request, record: SessionRecord):
    """None for an unsigned record; for a signed one, back to it with the rule that refuses."""
    if record.signed_at is None:
        return None
    messages.error(
        request,
        "This record is signed, so it can never be changed. Add a signed addendum instead.",
    )
    return _back(record.session)


def _refusal_to_form(form, refusal: RecordRefused) -> None:
    form.add_error(None, refusal.message)


def _page(request, session, record, *, status=200, **forms):
    """The record page: the gate or the start button, the record being written, or the signed
    record read-only with its addenda."""
    audit.access_log_request(request, patient=session.patient)
    context = {
        "session": session,
        "record": record,
        **session_adverse_events_context(request, session),
    }
    if record is None:
        gate = records.record_gate(
            session=session, on_date=_today(request), formulation_version=None
        )
        context.update(
            gate=gate,
            start_form=forms.get("start_form")
            or (RecordStartForm() if session.plan_id is None else None),
            can_start=request.user.has_perm(START),
        )
        return render(request, "sessions/record.html", context, status=status)
    # Prefetched: the dose panel (records.record_doses) reads the same injections.
    prefetch_related_objects([record], "injections")
    injections = list(record.injections.all())
    uses = list(record.lots_used.select_related("lot").prefetch_related("lot__corrections"))
    can_edit = record.signed_at is None and request.user.has_perm(CHANGE)
    addenda = list(record.addenda.select_related("signed_by")) if record.signed_at else []
    for addendum in addenda:
        addendum.signer_registration = records.signer_registration_number(
            signer=addendum.signed_by, at=addendum.signed_at
        )
    total_volume, lot_volume = records.record_volumes(injections=injections, uses=uses)
    context.update(
        signer_registration=records.signer_registration_number(
            signer=record.signed_by, at=record.signed_at
        )
        if record.signed_at
        else "",
        injections=injections,
        uses=uses,
        total_volume=total_volume,
        lot_volume=lot_volume,
        doses=records.record_doses(record=record),
        addenda=addenda,
        can_edit=can_edit,
        can_sign=can_edit and request.user.has_perm(SIGN),
        # Said before the clinician fills in the record, not only when the signature is refused.
        registration_missing=not getattr(
            getattr(request.user, "staff_profile", None), "registration_number", ""
        ).strip(),
        can_add_addendum=record.signed_at is not None and request.user.has_perm(ADDENDUM),
        sign_blockers=records.record_sign_blockers(record=record) if can_edit else (),
        snapshot=getattr(record, "clearance_snapshot", None) if record.signed_at else None,
    )
    if can_edit:
        day = records.session_local_date(session=session)
        context.update(
            details_form=forms.get("details_form") or RecordDetailsForm(instance=record),
            injection_form=forms.get("injection_form")
            or InjectionForm(
                initial={
                    "technique": session.plan.technique if session.plan else "",
                    "device": session.plan.device if session.plan else "",
                    "depth_mm": session.plan.target_depth_mm if session.plan else None,
                }
            ),
            lot_form=forms.get("lot_form") or RecordLotForm(record=record, on_date=day),
        )
    return render(request, "sessions/record.html", context, status=status)


@permission_required(VIEW)
def record(request, pk: int):
    session = _session(pk)
    record = _record(session)
    if request.method == "POST":
        if not request.user.has_perm(START):
            raise PermissionDenied("Your role may read session records but not write them.")
        form = RecordStartForm(request.POST) if session.plan_id is None else None
        if form is not None and not form.is_valid():
            return _page(request, session, record, start_form=form)
        try:
            records.record_start(
                session=session,
                clinician=_profile(request),
                now=timezone.now(),
                formulation_version=form.cleaned_data["formulation_version"] if form else None,
            )
        except RecordRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, "Record started.")
        return _back(session)
    return _page(request, session, record)


@permission_required(CHANGE)
@require_POST
def record_details(request, pk: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    form = RecordDetailsForm(request.POST, instance=SessionRecord.objects.get(pk=record.pk))
    if form.is_valid():
        try:
            records.record_update(
                record=record, **{f: form.cleaned_data[f] for f in records.RECORD_FIELDS}
            )
        except RecordRefused as refusal:
            _refusal_to_form(form, refusal)
        else:
            messages.success(request, "Record saved.")
            return _back(session)
    return _page(request, session, _record(session), details_form=form)


@permission_required(CHANGE)
@require_POST
def record_injection_add(request, pk: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    form = InjectionForm(request.POST)
    if form.is_valid():
        try:
            records.injection_add(record=record, **form.cleaned_data)
        except RecordRefused as refusal:
            _refusal_to_form(form, refusal)
        else:
            messages.success(request, "Injection recorded.")
            return _back(session)
    return _page(request, session, record, injection_form=form)


@permission_required(CHANGE)
def record_injection_edit(request, pk: int, injection_id: int):
    """Correct one zone's entry on an unsigned record (a mistyped volume, the wrong gauge)."""
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    injection = get_object_or_404(Injection, pk=injection_id, record=record)
    form = InjectionForm(request.POST or None, instance=injection)
    if request.method == "POST" and form.is_valid():
        try:
            records.injection_change(
                injection=injection,
                **{name: form.cleaned_data[name] for name in form.Meta.fields},
            )
        except RecordRefused as refusal:
            _refusal_to_form(form, refusal)
        else:
            messages.success(request, f"{injection.get_zone_display()}: injection corrected.")
            return _back(session)
    return render(
        request,
        "sessions/record_injection_edit.html",
        {"session": session, "record": record, "injection": injection, "form": form},
        status=400 if form.errors else 200,
    )


@permission_required(CHANGE)
@require_POST
def record_injection_remove(request, pk: int, injection_id: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    injection = get_object_or_404(Injection, pk=injection_id, record=record)
    try:
        records.injection_remove(injection=injection)
    except RecordRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Injection removed.")
    return _back(session)


@permission_required(CHANGE)
@require_POST
def record_lot_add(request, pk: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    day = records.session_local_date(session=session)
    form = RecordLotForm(request.POST, record=record, on_date=day)
    if form.is_valid():
        try:
            records.record_lot_add(
                record=record,
                lot=form.cleaned_data["lot"],
                volume_ml=form.cleaned_data["volume_ml"],
                units_used=form.cleaned_data["units_used"],
            )
        except RecordRefused as refusal:
            _refusal_to_form(form, refusal)
        else:
            messages.success(request, "Lot recorded.")
            return _back(session)
    return _page(request, session, record, lot_form=form)


@permission_required(CHANGE)
@require_POST
def record_lot_remove(request, pk: int, record_lot_id: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    use = get_object_or_404(RecordLot, pk=record_lot_id, record=record)
    try:
        records.record_lot_remove(record_lot=use)
    except RecordRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Lot removed from the record.")
    return _back(session)


@permission_required(SIGN)
@require_POST
def record_sign(request, pk: int):
    session = _session(pk)
    record = _record_or_404(session)
    if (refused := _signed_refusal(request, record)) is not None:
        return refused
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            "Tick “I confirm this record is complete and correct” to sign: a signed record "
            "can never be changed.",
        )
        return _back(session)
    try:
        records.record_sign(record=record, by=request.user, now=timezone.now())
    except RecordRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Record signed. The session is completed.")
    return _back(session)


@permission_required(ADDENDUM)
def record_addendum(request, pk: int):
    session = _session(pk)
    record = _record_or_404(session)
    form = AddendumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            records.addendum_add(
                record=record,
                text=form.cleaned_data["text"],
                by=request.user,
                now=timezone.now(),
            )
        except RecordRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, "Addendum signed and added.")
            return _back(session)
    return render(
        request,
        "sessions/record_addendum.html",
        {"session": session, "record": record, "form": form},
    )
