"""Calendar, session page and plans: parse, check permission, call, render.

Reception never reads clinical notes: no view here shows SessionRecord content.
"""

from datetime import date, datetime, time
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from clinic.roles import Role, user_role
from patients import audit, intake
from patients.models import Patient
from sessions.booking import plans, reflow, scheduling, slots
from sessions.booking.calendar import calendar_build, session_flags
from sessions.booking.forms import (
    BookingForm,
    CancelForm,
    CourseDatesForm,
    CourseForm,
    MoveForm,
    PlanForm,
    SlotSearchForm,
    StopPlanForm,
)
from sessions.booking.grid import calendar_grid
from sessions.booking.grid_html import grid_body_html
from sessions.booking.plans import plan_complete, plan_course, plan_create, plan_progress, plan_stop
from sessions.booking.scheduling import BookingRefused
from sessions.models import TreatmentPlan, TreatmentSession
from sessions.records.adverse_event_views import session_adverse_events_context

VIEW = "treatment_sessions.view_treatmentsession"
BOOK = "treatment_sessions.add_treatmentsession"
CHANGE = "treatment_sessions.change_treatmentsession"


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _clinic_or_400(request):
    if request.clinic is None:
        return HttpResponseBadRequest("No clinic is set up yet: a clinic admin must create it.")
    return None


# Calendar -------------------------------------------------------------------------------------


@permission_required(VIEW)
def calendar(request):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    clinician_id = _int(request.GET.get("clinician"))
    # A clinician's calendar opens on their own sessions; "clinician=all" shows everyone's.
    if clinician_id is None and request.GET.get("clinician") != "all":
        profile = getattr(request.user, "staff_profile", None)
        if profile is not None and user_role(request.user) == Role.CLINICIAN:
            clinician_id = profile.pk
    anchor = _date(request.GET.get("date"), timezone.localdate())
    view = request.GET.get("view", "day")
    if request.GET.get("layout") != "list":
        board = calendar_grid(
            clinic=request.clinic,
            anchor=anchor,
            view=view,
            by=request.GET.get("by", "clinician"),
            clinician_id=clinician_id,
            now=timezone.now(),
            patient_query=request.GET.get("patient", "")[:100],
        )
        body = grid_body_html(board, can_book=request.user.has_perm(BOOK))
        return render(request, "sessions/calendar_grid.html", {"grid": board, "grid_body": body})
    board = calendar_build(
        clinic=request.clinic,
        anchor=anchor,
        view=view,
        clinician_id=clinician_id,
        room_id=_int(request.GET.get("room")),
    )
    return render(request, "sessions/calendar.html", {"calendar": board})


# Booking --------------------------------------------------------------------------------------


def _suggestions(
    request, *, patient, clinician, room, around: datetime | None, exclude_pk=None
) -> list[datetime]:
    now = timezone.now()
    after = max(around, now) if around else now
    return slots.free_slots(
        clinic=request.clinic,
        clinician=clinician,
        room=room,
        patient=patient,
        after=after,
        exclude_pk=exclude_pk,
        preferred=around.astimezone(request.clinic.zone).time() if around else None,
    )


@permission_required(BOOK)
def session_new(request):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    clinic = request.clinic
    suggestions = []
    if request.method == "POST":
        form = BookingForm(request.POST, clinic=clinic)
        if form.is_valid():
            data = form.cleaned_data
            try:
                session = scheduling.session_book(
                    clinic=clinic,
                    patient=data["patient"],
                    clinician=data["clinician"],
                    room=data["room"],
                    starts_at=data["starts_at"],
                    plan=data["plan"],
                    kind=data["kind"],
                    override_reason=data["override_reason"],
                    by=request.user,
                    now=timezone.now(),
                )
            except BookingRefused as refusal:
                form.add_error(None, refusal.message)
                suggestions = _suggestions(
                    request,
                    patient=data["patient"],
                    clinician=data["clinician"],
                    room=data["room"],
                    around=data["starts_at"],
                )
            else:
                messages.success(request, "Session booked.")
                return redirect("treatment_sessions:session_detail", pk=session.pk)
    else:
        initial = {
            key: request.GET[key]
            for key in ("patient", "plan", "clinician", "room", "date", "time", "kind")
            if request.GET.get(key)
        }
        form = BookingForm(initial=initial, clinic=clinic)
        search = SlotSearchForm(request.GET)
        if search.is_valid():
            wanted = search.cleaned_data
            day = wanted["date"] or timezone.localdate()
            suggestions = _suggestions(
                request,
                patient=wanted["patient"],
                clinician=wanted["clinician"],
                room=wanted["room"],
                around=scheduling.localise(clinic=clinic, day=day, at=time(0)),
            )
    query = {k: v for k, v in request.GET.items() if k not in ("date", "time")}
    if request.method == "POST" and form.is_bound:
        query = {
            k: request.POST.get(k, "") for k in ("patient", "plan", "clinician", "room", "kind")
        }
    return render(
        request,
        "sessions/session_form.html",
        {
            "form": form,
            "suggestions": [
                (
                    s,
                    urlencode(
                        {
                            **query,
                            "date": f"{s.astimezone(clinic.zone):%Y-%m-%d}",
                            "time": f"{s.astimezone(clinic.zone):%H:%M}",
                        }
                    ),
                )
                for s in suggestions
            ],
        },
    )


# Session page ---------------------------------------------------------------------------------


def _session(pk: int) -> TreatmentSession:
    return get_object_or_404(
        TreatmentSession.objects.select_related(
            "patient", "clinician", "room", "plan__formulation_version", "online_booking"
        ),
        pk=pk,
    )


@permission_required(VIEW)
def session_detail(request, pk: int):
    session = _session(pk)
    gate = None
    if request.clinic is not None and session.kind == "treatment":
        gate = scheduling.session_clearance(
            patient=session.patient,
            formulation_version=session.plan.formulation_version if session.plan else None,
            on_date=scheduling.local_date(clinic=request.clinic, moment=session.starts_at),
        )
    harm = session_adverse_events_context(request, session)
    if harm["adverse_events"] is not None:
        # The session's adverse events are clinical data: who saw them goes to the access log.
        audit.access_log_request(request, patient=session.patient)
    return render(
        request,
        "sessions/session_detail.html",
        {
            **harm,
            "session": session,
            "flags": session_flags(session),
            "gate": gate,
            "cancel_form": CancelForm(),
            "history": session.history.select_related("history_user").order_by("-history_date")[
                :20
            ],
            "actions": scheduling.session_allowed_actions(session=session, now=timezone.now()),
            # What the patient reported at home, for clinical roles only (issue 16).
            "patient_report": intake.intake_latest(patient=session.patient)
            if request.user.has_perm("patients.view_clinical")
            else None,
        },
    )


def _act(request, pk: int, action, done: str):
    session = _session(pk)
    if request.clinic is None:
        return HttpResponseBadRequest("No clinic is set up yet.")
    try:
        action(session=session, clinic=request.clinic, by=request.user, now=timezone.now())
    except BookingRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done)
    # The dashboard's check-in and confirm buttons come back to the dashboard.
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("treatment_sessions:session_detail", pk=session.pk)


@permission_required(CHANGE)
@require_POST
def session_confirm(request, pk: int):
    return _act(
        request,
        pk,
        lambda clinic, **kw: scheduling.session_confirm(**kw),
        "Session confirmed.",
    )


@permission_required(CHANGE)
@require_POST
def session_check_in(request, pk: int):
    return _act(request, pk, scheduling.session_check_in, "Patient checked in.")


@permission_required(CHANGE)
@require_POST
def session_no_show(request, pk: int):
    return _act(request, pk, scheduling.session_no_show, "Recorded as a no-show.")


@permission_required(CHANGE)
def session_cancel(request, pk: int):
    session = _session(pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and request.clinic is not None:
        try:
            scheduling.session_cancel(
                clinic=request.clinic,
                session=session,
                by_patient=form.cleaned_data["cancelled_by"] == "patient",
                reason=form.cleaned_data["reason"],
                by=request.user,
                now=timezone.now(),
            )
        except BookingRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, "Session cancelled.")
            return redirect("treatment_sessions:session_detail", pk=session.pk)
    return render(request, "sessions/session_cancel.html", {"session": session, "form": form})


@permission_required(CHANGE)
def session_move(request, pk: int):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    clinic = request.clinic
    session = _session(pk)
    wall = session.starts_at.astimezone(clinic.zone)
    initial = {
        "date": request.GET.get("date") or wall.date(),
        "time": request.GET.get("time") or wall.time(),
        "clinician": session.clinician_id,
        "room": session.room_id,
    }
    probe = MoveForm(request.POST or {**initial}, clinic=clinic)
    target = probe.cleaned_data.get("starts_at") if probe.is_valid() else session.starts_at
    later = reflow.reflow_proposal(clinic=clinic, session=session, new_starts_at=target)
    if request.method == "POST":
        form = MoveForm(request.POST, clinic=clinic, later=later)
        # The proposed later dates follow the new time; show them, not what was posted before.
        if form.is_valid():
            data = form.cleaned_data
            try:
                reflow.session_move_with_reflow(
                    clinic=clinic,
                    session=session,
                    starts_at=data["starts_at"],
                    later=data["later"],
                    clinician=data["clinician"],
                    room=data["room"],
                    override_reason=data["override_reason"],
                    by=request.user,
                    now=timezone.now(),
                )
            except BookingRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, "Session moved. It needs confirming again.")
                return redirect("treatment_sessions:session_detail", pk=session.pk)
    else:
        form = MoveForm(initial=initial, clinic=clinic, later=later)
    suggestions = []
    if probe.is_valid():
        probe.patient = session.patient
        suggestions = slots.free_slots(
            clinic=clinic,
            clinician=probe.cleaned_data["clinician"],
            room=probe.cleaned_data["room"],
            patient=session.patient,
            after=max(target, timezone.now()),
            exclude_pk=session.pk,
            preferred=target.astimezone(clinic.zone).time(),
        )
    return render(
        request,
        "sessions/session_move.html",
        {
            "session": session,
            "form": form,
            "later": later,
            "suggestions": [
                (
                    s,
                    urlencode(
                        {
                            "date": f"{s.astimezone(clinic.zone):%Y-%m-%d}",
                            "time": f"{s.astimezone(clinic.zone):%H:%M}",
                        }
                    ),
                )
                for s in suggestions
            ],
        },
    )


# Plans ----------------------------------------------------------------------------------------


@permission_required("treatment_sessions.add_treatmentplan")
def plan_new(request, patient_id: int):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    patient = get_object_or_404(Patient, pk=patient_id)
    form = PlanForm(request.POST or None, clinic=request.clinic, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_create(
                clinic=request.clinic, patient=patient, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except BookingRefused as refusal:
            form.add_error("interval_days" if refusal.rule == "interval" else None, refusal.message)
        else:
            messages.success(request, "Plan created. Propose the course dates below.")
            return redirect("treatment_sessions:plan_detail", pk=plan.pk)
    return render(request, "sessions/plan_form.html", {"form": form, "patient": patient})


@permission_required("treatment_sessions.view_treatmentplan")
def plan_detail(request, pk: int):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    clinic = request.clinic
    plan = get_object_or_404(
        TreatmentPlan.objects.select_related(
            "patient", "template", "formulation_version__formulation"
        ),
        pk=pk,
    )
    sessions = list(plan.sessions.select_related("clinician", "room").order_by("starts_at"))
    progress = plan_progress(plan=plan)
    course_form = CourseForm(request.GET or None, clinic=clinic)
    proposals, shifts = [], []
    if request.GET and course_form.is_valid():
        data = course_form.cleaned_data
        proposals = plan_course(
            clinic=clinic,
            plan=plan,
            first_starts_at=data["starts_at"],
            clinician=data["clinician"],
            room=data["room"],
            now=timezone.now(),
        )
        shifts = plans.plan_course_shifts(
            clinic=clinic, plan=plan, first_starts_at=data["starts_at"], proposals=proposals
        )
        if not proposals:
            messages.info(request, "No free dates were found, or every session is booked.")
    return render(
        request,
        "sessions/plan_detail.html",
        {
            "plan": plan,
            # The indication is a diagnosis: clinical data, which reception does not see.
            "indication": (
                plan.indication if request.user.has_perm("patients.view_clinical") else None
            ),
            "sessions": sessions,
            "progress": progress,
            "plan_actions": plans.plan_allowed_actions(plan=plan, progress=progress),
            "course_form": course_form,
            "proposals": [
                (p.astimezone(clinic.zone), meant)
                for p, meant in zip(proposals, shifts, strict=True)
            ],
            "course_data": course_form.cleaned_data if proposals else None,
            "stop_form": StopPlanForm(),
        },
    )


@permission_required(BOOK)
@require_POST
def plan_book(request, pk: int):
    if (missing := _clinic_or_400(request)) is not None:
        return missing
    clinic = request.clinic
    plan = get_object_or_404(TreatmentPlan.objects.select_related("patient"), pk=pk)
    form = CourseDatesForm(request.POST, clinic=clinic)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("treatment_sessions:plan_detail", pk=plan.pk)
    data = form.cleaned_data
    try:
        booked = plans.course_book(
            clinic=clinic,
            plan=plan,
            starts=data["starts"],
            clinician=data["clinician"],
            room=data["room"],
            by=request.user,
            now=timezone.now(),
        )
    except BookingRefused as refusal:
        messages.error(request, f"Nothing was booked. {refusal.message}")
        first = data["starts"][0] if data["starts"] else None
        query = urlencode(
            {
                "clinician": data["clinician"].pk,
                "room": data["room"].pk,
                "date": first.strftime("%Y-%m-%d") if first else "",
                "time": first.strftime("%H:%M") if first else "",
            }
        )
        return redirect(reverse("treatment_sessions:plan_detail", args=[plan.pk]) + "?" + query)
    messages.success(request, f"{len(booked)} sessions booked.")
    return redirect("treatment_sessions:plan_detail", pk=plan.pk)


@permission_required("treatment_sessions.change_treatmentplan")
@require_POST
def plan_stop_view(request, pk: int):
    plan = get_object_or_404(TreatmentPlan, pk=pk)
    form = StopPlanForm(request.POST)
    if not form.is_valid() or request.clinic is None:
        messages.error(request, "Say why the plan is stopped.")
    else:
        try:
            plan_stop(
                clinic=request.clinic,
                plan=plan,
                reason=form.cleaned_data["reason"],
                by=request.user,
                now=timezone.now(),
            )
        except BookingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, "Plan stopped; its remaining sessions were cancelled.")
    return redirect("treatment_sessions:plan_detail", pk=plan.pk)


@permission_required("treatment_sessions.change_treatmentplan")
@require_POST
def plan_complete_view(request, pk: int):
    plan = get_object_or_404(TreatmentPlan, pk=pk)
    try:
        plan_complete(clinic=request.clinic, plan=plan)
    except BookingRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request, "Course completed: the patient joins the maintenance list when due."
        )
    return redirect("treatment_sessions:plan_detail", pk=plan.pk)
