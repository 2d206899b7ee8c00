"""Consent to treatment: which texts a patient signs, and the signature with the exact text."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.db import transaction

from clinic.models import Clinic
from clinic.refusals import PatientRefused

from .models import (
    Channel,
    ConsentKind,
    ConsentSignature,
    ConsentText,
    ConsentWithdrawal,
    Patient,
    SignatureMethod,
)

logger = logging.getLogger(__name__)


def consent_texts_for(*, formulation_version=None, kind: str = ConsentKind.TREATMENT):
    """The latest treatment consent, plus the off-label statement when the formulation contains
    a prescription drug (DOMAIN.md: off-label use must be stated on the consent). For
    kind=photography: the latest clinical photography text alone (it names no formulation)."""
    if kind == ConsentKind.PHOTOGRAPHY:
        text = ConsentText.objects.filter(kind=ConsentKind.PHOTOGRAPHY).order_by("-version").first()
        return [text] if text else []
    texts = []
    treatment = ConsentText.objects.filter(kind=ConsentKind.TREATMENT).order_by("-version").first()
    if treatment:
        texts.append(treatment)
    if (
        formulation_version is not None
        and formulation_version.lines.filter(ingredient__is_prescription_drug=True).exists()
    ):
        off_label = (
            ConsentText.objects.filter(kind=ConsentKind.OFF_LABEL).order_by("-version").first()
        )
        if off_label:
            texts.append(off_label)
    return texts


def consent_missing(*, patient: Patient, formulation_version=None) -> list[str]:
    """What the patient still has to sign before `formulation_version` is injected, in words for
    the page ("the treatment consent", "the off-label statement for …"); empty when nothing is.

    The treatment consent is the same text whatever is injected, so any signed one counts. The
    off-label statement must be signed for this very version: the document the patient signed
    names the formulation and its ingredients, and a new version may carry another drug or
    strength (DOMAIN.md: off-label use of a prescription drug must be stated on the consent).
    A withdrawn consent no longer counts."""
    signed = ConsentSignature.objects.filter(patient=patient, withdrawal__isnull=True)
    missing = []
    if not signed.filter(texts__kind=ConsentKind.TREATMENT).exists():
        missing.append("the treatment consent")
    if (
        formulation_version is not None
        and formulation_version.lines.filter(ingredient__is_prescription_drug=True).exists()
        and not signed.filter(
            texts__kind=ConsentKind.OFF_LABEL, formulation_version=formulation_version
        ).exists()
    ):
        missing.append(f"the off-label statement for {formulation_version}")
    return missing


def remote_consent_open(*, patient: Patient, clinic: Clinic, formulation_version=None) -> bool:
    """Whether the patient's intake offers to sign the consent at home: the clinic allows it and
    something is still unsigned (a signed, unwithdrawn consent is not asked for twice)."""
    return bool(
        clinic.remote_consent_allowed
        and consent_missing(patient=patient, formulation_version=formulation_version)
    )


def consent_withdraw(
    *, signature: ConsentSignature, by, reason: str, now: datetime
) -> ConsentWithdrawal:
    """Record that the patient withdrew `signature` (every consent text says they may, at any
    time). The signature stays as signed; treatment or photos that need it stop until the
    patient signs again. Photos already taken stay in the record."""
    if not by.has_perm("patients.add_consentwithdrawal"):
        raise PatientRefused(
            "consent_withdraw",
            "Only a clinician or a clinic admin can record a consent withdrawal.",
        )
    if not reason.strip():
        raise PatientRefused(
            "consent_withdraw",
            "Say how the patient withdrew their consent (e.g. by phone, in writing).",
        )
    with transaction.atomic():
        if ConsentWithdrawal.objects.filter(signature=signature).exists():
            raise PatientRefused("consent_withdraw", "This consent was already withdrawn.")
        withdrawal = ConsentWithdrawal(
            signature=signature, withdrawn_at=now, reason=reason.strip(), recorded_by=by
        )
        withdrawal.full_clean()
        withdrawal.save()
    return withdrawal


def consent_document(*, texts: list[ConsentText], formulation_version=None) -> str:
    """The exact text the patient reads and signs."""
    parts = []
    if formulation_version is not None:
        ingredients = ", ".join(
            line.ingredient.name for line in formulation_version.lines.select_related("ingredient")
        )
        parts.append(f"Formulation: {formulation_version} ({ingredients}).")
    for text in texts:
        parts.append(f"{text.title} (version {text.version})\n\n{text.body}")
    return "\n\n".join(parts)


def consent_digest(*, document: str) -> str:
    """A fingerprint of the text shown, carried by the form instead of the text itself (browsers
    may rewrite line breaks in form values; a digest cannot be reformatted)."""
    return hashlib.sha256(document.encode()).hexdigest()


def _document_checked(
    *, text_digest: str, typed_name: str, confirmed: bool, formulation_version, kind: str
) -> tuple[list[ConsentText], str]:
    """The texts to sign and their document, refusing a missing agreement or name, no text set
    up, or a text that changed while the patient read it."""
    if not confirmed:
        raise PatientRefused(
            "consent_sign", "The patient must confirm that they have read and agree to the text."
        )
    if not typed_name.strip():
        raise PatientRefused("consent_sign", "The patient must type their full name to sign.")
    texts = consent_texts_for(formulation_version=formulation_version, kind=kind)
    if not texts:
        raise PatientRefused(
            "consent_sign", "No consent text is set up: a clinic admin must add one first."
        )
    document = consent_document(texts=texts, formulation_version=formulation_version)
    if consent_digest(document=document) != text_digest:
        raise PatientRefused(
            "consent_sign",
            "The consent text changed while the form was open. Read the new text and sign again.",
        )
    return texts, document


@transaction.atomic
def consent_sign(
    *,
    patient: Patient,
    witness,
    typed_name: str,
    confirmed: bool,
    text_digest: str,
    formulation_version=None,
    kind: str = ConsentKind.TREATMENT,
    now: datetime,
) -> ConsentSignature:
    """Store the signature with the exact text the patient saw; refuse if it changed meanwhile."""
    if not witness.has_perm("patients.add_consentsignature"):
        raise PatientRefused("consent_sign", "Only a clinician can witness a consent.")
    if kind == ConsentKind.PHOTOGRAPHY:
        formulation_version = None
    texts, document = _document_checked(
        text_digest=text_digest,
        typed_name=typed_name,
        confirmed=confirmed,
        formulation_version=formulation_version,
        kind=kind,
    )
    signature = ConsentSignature.objects.create(
        patient=patient,
        formulation_version=formulation_version,
        text_signed=document,
        typed_name=typed_name.strip(),
        confirmed=True,
        signed_at=now,
        witness=witness,
    )
    signature.texts.set(texts)
    return signature


def consent_sign_remote(
    *,
    patient: Patient,
    clinic: Clinic,
    link_id: int,
    channel: str,
    typed_name: str,
    confirmed: bool,
    text_digest: str,
    formulation_version=None,
    now: datetime,
) -> ConsentSignature:
    """The patient signs the treatment consent at home through their link, where the clinic
    allows it: the same exact-text snapshot as in the clinic, no witness, and the row names the
    link and the channel that proved the patient's contact. Called inside the intake's
    transaction (intake_submit), so the answers and the signature commit together."""
    if not clinic.remote_consent_allowed:
        raise PatientRefused(
            "remote_consent",
            "This clinic signs consent at the visit, with a clinician: it cannot be signed here.",
        )
    if channel not in (Channel.EMAIL, Channel.SMS) or not link_id:
        raise PatientRefused(
            "remote_consent", "Consent can only be signed through the link the clinic sent you."
        )
    texts, document = _document_checked(
        text_digest=text_digest,
        typed_name=typed_name,
        confirmed=confirmed,
        formulation_version=formulation_version,
        kind=ConsentKind.TREATMENT,
    )
    with transaction.atomic():
        signature = ConsentSignature.objects.create(
            patient=patient,
            formulation_version=formulation_version,
            text_signed=document,
            typed_name=typed_name.strip(),
            confirmed=True,
            signed_at=now,
            method=SignatureMethod.REMOTE,
            witness=None,
            remote_channel=channel,
            remote_link_id=link_id,
        )
        signature.texts.set(texts)
    logger.info("Consent %s signed remotely through link %s", signature.pk, link_id)
    return signature
