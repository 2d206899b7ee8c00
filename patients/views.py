"""Patient pages. Contact data is for every role; clinical pages need patients.view_clinical,
are logged in the access log, and read clinical rows only through .visible_to(user).

Views compose: the clinical tab and the Communication section read the sessions app.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from sessions.booking.calendar import patient_appointments
from sessions.outreach.reminder_actions import patient_communication_log

from . import audit, clearance, consent, intake, records, registration, screening
from .audit import clinical_patient_or_404
from .forms import (
    AllergyForm,
    AssessmentForm,
    ConsentForm,
    MedicationForm,
    MedicationStopForm,
    OverrideForm,
    PatientForm,
    ReasonForm,
    RecheckForm,
    ReferralClearanceForm,
    ScreeningForm,
    published_versions,
)
from .models import (
    Allergy,
    Assessment,
    ConsentKind,
    ConsentSignature,
    Medication,
    Patient,
    RuleOutcome,
    Screening,
    ScreeningRule,
)
from .outcome_views import clinical_tab_panels
from .search import patient_search

PAGE_SIZE = 25


@permission_required("patients.view_patient")
def patient_list(request):
    query = request.GET.get("q", "")[:100]
    page = Paginator(patient_search(query=query), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "patients/list.html", {"page": page, "query": query})


@permission_required("patients.add_patient")
def patient_new(request):
    form = PatientForm(request.POST or None)
    duplicates = []
    if request.method == "POST" and form.is_valid() and "register_anyway" not in request.POST:
        duplicates = list(registration.patient_possible_duplicates(details=form.details()))
    if request.method == "POST" and form.is_valid() and not duplicates:
        patient = registration.patient_register(
            details=form.details(),
            email_consent=form.cleaned_data["email_consent"],
            sms_consent=form.cleaned_data["sms_consent"],
            now=timezone.now(),
        )
        messages.success(request, f"Patient registered with record number {patient.record_number}.")
        return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "Register a patient", "duplicates": duplicates},
    )


@permission_required("patients.view_patient")
def patient_detail(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    status = clearance.treatment_clearance(
        patient=patient, formulation_version=None, on_date=timezone.localdate()
    )
    # Appointments and the reminders sent or due: times, places, statuses, no clinical content.
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "clearance": status,
            "communication": patient_communication_log(patient=patient),
            "appointments": patient_appointments(
                clinic=request.clinic, patient=patient, now=timezone.now()
            )
            if request.clinic is not None
            else None,
        },
    )


@permission_required("patients.change_patient")
def patient_edit(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        registration.patient_update_contact(
            patient=patient,
            details=form.details(),
            email_consent=form.cleaned_data["email_consent"],
            sms_consent=form.cleaned_data["sms_consent"],
            now=timezone.now(),
        )
        messages.success(request, "Contact details saved.")
        return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": f"Edit {patient.record_number}", "patient": patient},
    )


@permission_required("patients.view_clinical")
def patient_clinical(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    user = request.user
    # Read once for the page's lists and the clearance, which evaluates the same rows.
    prefetch_related_objects(
        [patient],
        Prefetch("allergies", queryset=Allergy.objects.select_related("ingredient")),
        "medications",
        Prefetch(
            "assessments",
            queryset=Assessment.objects.select_related("clinician__staff_profile"),
        ),
    )
    # Every screening (the view requires the clinical permission visible_to checks): the list,
    # and the clearance's latest one without reading it again.
    today = timezone.localdate()
    screenings = clearance.screenings_with_recheck(
        Screening.objects.visible_to(user)
        .filter(patient=patient)
        .select_related("clinician__staff_profile", "formulation_version__formulation"),
        on_date=today,
    )
    context = {
        "patient": patient,
        # clinical_patient_or_404 has checked the clinical permission the querysets' visible_to
        # would: the prefetched rows are the current ones of each list.
        "allergies": [a for a in patient.allergies.all() if a.voided_at is None],
        "medications": [m for m in patient.medications.all() if m.voided_at is None],
        "assessments": [a for a in patient.assessments.all() if a.voided_at is None],
        "screenings": screenings,
        "consents": ConsentSignature.objects.filter(patient=patient).select_related(
            "witness__staff_profile", "formulation_version__formulation", "withdrawal"
        )
        if user.has_perm("patients.view_consentsignature")
        else [],
        "clearance": clearance.treatment_clearance(
            patient=patient,
            formulation_version=None,
            on_date=today,
            screenings=screenings,
        ),
        "versions": published_versions(),
    }

    context.update(clinical_tab_panels(user=user, patient=patient))
    context["patient_report"] = intake.intake_latest(patient=patient)
    return render(request, "patients/clinical.html", context)


@permission_required("patients.view_clinical")
@require_POST
def patient_report_reviewed(request, patient_id: int, pk: int):
    patient = clinical_patient_or_404(request, patient_id)
    report = get_object_or_404(patient.reports, pk=pk)
    intake.intake_review(report=report, by=request.user, now=timezone.now())
    messages.success(request, "Marked as read. Screen the patient at the visit as usual.")
    return redirect("patients:clinical", patient_id=patient.pk)


def _clinical_form_page(request, patient_id, form_class, title, save, initial=None):
    patient = clinical_patient_or_404(request, patient_id)
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        save(patient, form)
        messages.success(request, f"{title.split(' ', 1)[1].capitalize()} saved.")
        return redirect("patients:clinical", patient_id=patient.pk)
    return render(request, "patients/form.html", {"form": form, "title": title, "patient": patient})


@permission_required("patients.add_allergy")
def allergy_new(request, patient_id: int):
    def save(patient, form):
        records.allergy_record(patient=patient, allergy=form.instance, by=request.user)

    return _clinical_form_page(request, patient_id, AllergyForm, "Record an allergy", save)


@permission_required("patients.add_medication")
def medication_new(request, patient_id: int):
    def save(patient, form):
        records.medication_record(patient=patient, medication=form.instance, by=request.user)

    return _clinical_form_page(request, patient_id, MedicationForm, "Record a medication", save)


@permission_required("patients.add_assessment")
def assessment_new(request, patient_id: int):
    def save(patient, form):
        records.assessment_record(patient=patient, assessment=form.instance, by=request.user)

    return _clinical_form_page(
        request,
        patient_id,
        AssessmentForm,
        "Record an assessment",
        save,
        initial={"assessed_on": timezone.localdate()},
    )


@permission_required("patients.add_screening")
def screening_new(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    form = ScreeningForm(request.POST or None, questions=screening.questions_for(patient=patient))
    if request.method == "POST" and form.is_valid():
        record = screening.screening_record(
            patient=patient,
            by=request.user,
            answers=form.answers(),
            on_date=timezone.localdate(),
            formulation_version=form.cleaned_data["formulation_version"],
            notes=form.cleaned_data["notes"],
        )
        messages.success(request, "Screening recorded.")
        return redirect("patients:screening", patient_id=patient.pk, screening_id=record.pk)
    return render(request, "patients/screening_form.html", {"form": form, "patient": patient})


def _screening_of(request, patient: Patient, screening_id: int) -> Screening:
    return get_object_or_404(
        Screening.objects.visible_to(request.user).select_related("patient"),
        pk=screening_id,
        patient=patient,
    )


@permission_required("patients.view_screening")
def screening_detail(request, patient_id: int, screening_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    record = _screening_of(request, patient, screening_id)
    version = None
    version_id = request.GET.get("version")
    if version_id:
        if not version_id.isdigit():
            return HttpResponseBadRequest("The formulation version must be a number.")
        version = get_object_or_404(published_versions(), pk=version_id)
    version = version or record.formulation_version
    status = clearance.treatment_clearance(
        patient=patient, formulation_version=version, on_date=timezone.localdate()
    )
    is_latest = status.screening is not None and status.screening.pk == record.pk
    overrides = {o.rule.code: o for o in record.overrides.select_related("rule", "clinician")}
    cleared = {c.rule.code: c for c in record.referral_clearances.select_related("rule")}
    # An absolute contraindication blocks whatever else is overridden or cleared: the page then
    # offers no override and no clearance at all, so nobody records one that cannot help.
    absolute = any(f.outcome == RuleOutcome.ABSOLUTE for f in status.blocking)
    rows = []
    for finding in status.findings if is_latest else []:
        rows.append(
            {
                "finding": finding,
                "override": overrides.get(finding.rule_code),
                "referral_clearance": cleared.get(finding.rule_code),
                "override_form": OverrideForm(
                    initial={"rule_code": finding.rule_code},
                    auto_id=f"id_{finding.rule_code}_%s",  # one form per finding: unique ids
                )
                if finding.outcome == RuleOutcome.RELATIVE and not absolute
                else None,
                "referral_form": ReferralClearanceForm(
                    initial={"rule_code": finding.rule_code},
                    auto_id=f"id_{finding.rule_code}_%s",
                )
                if finding.outcome == RuleOutcome.REFERRAL and not absolute
                else None,
            }
        )
    questions = dict(
        ScreeningRule.objects.current()
        .exclude(question_key="")
        .values_list("question_key", "question")
    )
    context = {
        "patient": patient,
        "screening": record,
        "answers": [(questions.get(key, key), value) for key, value in record.answers.items()],
        "clearance": status if is_latest else None,
        "rows": rows,
        "absolute": absolute,
        "version": version,
        "versions": published_versions(),
        "rechecks": record.rechecks.select_related("clinician"),
        "overrides": overrides.values(),
        "referral_clearances": cleared.values(),
    }
    return render(request, "patients/screening_detail.html", context)


def _screening_action(request, patient_id, screening_id, form_class, act):
    patient = clinical_patient_or_404(request, patient_id)
    record = _screening_of(request, patient, screening_id)
    form = form_class(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not saved: {errors}")
    else:
        try:
            act(record, form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Saved.")
    return redirect("patients:screening", patient_id=patient.pk, screening_id=record.pk)


@permission_required("patients.add_screeningoverride")
@require_POST
def screening_override(request, patient_id: int, screening_id: int):
    def act(record, data):
        screening.screening_override(
            screening=record,
            rule_code=data["rule_code"],
            by=request.user,
            reason=data["reason"],
            on_date=timezone.localdate(),
        )

    return _screening_action(request, patient_id, screening_id, OverrideForm, act)


@permission_required("patients.add_referralclearance")
@require_POST
def referral_clearance(request, patient_id: int, screening_id: int):
    def act(record, data):
        screening.referral_clear(
            screening=record,
            rule_code=data["rule_code"],
            recorded_by=request.user,
            cleared_on=data["cleared_on"],
            cleared_by=data["cleared_by"],
            note=data["note"],
        )

    return _screening_action(request, patient_id, screening_id, ReferralClearanceForm, act)


@permission_required("patients.add_screeningrecheck")
def screening_recheck(request, patient_id: int, screening_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    record = _screening_of(request, patient, screening_id)
    form = RecheckForm(
        request.POST or None,
        questions=screening.questions_for(patient=patient, recheck_only=True),
    )
    if request.method == "POST" and form.is_valid():
        screening.screening_recheck(
            screening=record,
            by=request.user,
            answers=form.answers(),
            on_date=timezone.localdate(),
            new_medicines=form.cleaned_data["new_medicines"] == "yes",
            notes=form.cleaned_data["notes"],
        )
        messages.success(request, "Re-check recorded for today.")
        return redirect("patients:screening", patient_id=patient.pk, screening_id=record.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "Pre-session re-check", "patient": patient},
    )


@permission_required("patients.add_consentsignature")
def consent_new(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    version = None
    # ?kind=photography signs the clinical photography consent (needed before any photo).
    kind = ConsentKind.PHOTOGRAPHY if request.GET.get("kind") == "photography" else None
    version_id = request.GET.get("version", "")
    if version_id and kind is None:
        if not version_id.isdigit():
            return HttpResponseBadRequest("The formulation version must be a number.")
        version = get_object_or_404(published_versions(), pk=version_id)
    kind = kind or ConsentKind.TREATMENT
    texts = consent.consent_texts_for(formulation_version=version, kind=kind)
    document = consent.consent_document(texts=texts, formulation_version=version)
    form = ConsentForm(
        request.POST or None, initial={"text_digest": consent.consent_digest(document=document)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            signature = consent.consent_sign(
                patient=patient,
                witness=request.user,
                typed_name=form.cleaned_data["typed_name"],
                confirmed=form.cleaned_data["confirmed"],
                text_digest=form.cleaned_data["text_digest"],
                formulation_version=version,
                kind=kind,
                now=timezone.now(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Consent signed and stored.")
            return redirect("patients:consent", patient_id=patient.pk, consent_id=signature.pk)
    context = {
        "patient": patient,
        "form": form,
        "document": document,
        "texts": texts,
        "version": version,
        "versions": published_versions(),
        "photography": kind == ConsentKind.PHOTOGRAPHY,
    }
    return render(request, "patients/consent_form.html", context)


@permission_required("patients.view_consentsignature")
def consent_detail(request, patient_id: int, consent_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    signature = get_object_or_404(
        ConsentSignature.objects.select_related(
            "witness__staff_profile", "withdrawal__recorded_by__staff_profile"
        ),
        pk=consent_id,
        patient=patient,
    )
    return render(
        request, "patients/consent_detail.html", {"patient": patient, "signature": signature}
    )


@permission_required("patients.view_clinical", "patients.add_consentwithdrawal")
@require_POST
def consent_withdraw(request, patient_id: int, consent_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    signature = get_object_or_404(ConsentSignature, pk=consent_id, patient=patient)
    reason, problem = ReasonForm(request.POST).reason_or_errors()
    try:
        if reason is None:
            raise ValidationError(f"the reason: {problem}")
        consent.consent_withdraw(
            signature=signature, by=request.user, reason=reason, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, "Not withdrawn: " + " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Consent withdrawn: anything that needs it waits until the patient signs again.",
        )
    return redirect("patients:consent", patient_id=patient.pk, consent_id=signature.pk)


@permission_required("patients.view_clinical")
@require_POST
def record_void(request, patient_id: int, kind: str, record_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    model = records.VOIDABLE.get(kind)
    if model is None:
        raise Http404("No such kind of clinical record.")
    record = get_object_or_404(
        model.objects.visible_to(request.user), pk=record_id, patient=patient
    )
    reason, problem = ReasonForm(request.POST).reason_or_errors()
    try:
        if reason is None:
            raise ValidationError(f"the reason: {problem}")
        records.clinical_record_void(
            record=record, by=request.user, reason=reason, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, "Not voided: " + " ".join(exc.messages))
    else:
        messages.success(request, "Record voided; it stays in the history.")
    return redirect("patients:clinical", patient_id=patient.pk)


@permission_required("patients.change_medication")
@require_POST
def medication_stop(request, patient_id: int, medication_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    medication = get_object_or_404(
        Medication.objects.visible_to(request.user).current(), pk=medication_id, patient=patient
    )
    form = MedicationStopForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not saved: {errors}")
    else:
        try:
            records.medication_stop(
                medication=medication, by=request.user, stopped_on=form.cleaned_data["stopped_on"]
            )
        except ValidationError as exc:
            messages.error(request, "Not saved: " + " ".join(exc.messages))
        else:
            messages.success(request, "Medicine recorded as stopped.")
    return redirect("patients:clinical", patient_id=patient.pk)


@permission_required("clinic.view_accesslog")
def access_log_patient(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    page = Paginator(audit.access_log_for_patient(patient=patient), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request, "patients/access_log.html", {"page": page, "patient": patient, "subject": None}
    )


@permission_required("clinic.view_accesslog")
def access_log_user(request, user_id: int):
    subject = get_object_or_404(
        get_user_model().objects.select_related("staff_profile"), pk=user_id
    )
    page = Paginator(audit.access_log_for_user(user=subject), 50).get_page(request.GET.get("page"))
    return render(
        request, "patients/access_log.html", {"page": page, "patient": None, "subject": subject}
    )
