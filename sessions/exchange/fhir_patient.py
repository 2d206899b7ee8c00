"""Who and where: Patient, Practitioner, Organization (the clinic) and Location (its rooms)."""

from __future__ import annotations

from clinic.models import Clinic, Room, StaffProfile
from patients.models import Channel, Patient, SexAtBirth

from .codes import HL7, local_identifier
from .fhir_base import build, day, drop_empty, fhir_id, meta, reference

PATIENT = "patient"
STAFF = "staff"
CLINIC = "clinic"
ROOM = "room"

# FHIR administrative gender has no "intersex": it is "other" there (R4 AdministrativeGender).
GENDER = {
    SexAtBirth.FEMALE: "female",
    SexAtBirth.MALE: "male",
    SexAtBirth.INTERSEX: "other",
    SexAtBirth.UNKNOWN: "unknown",
}


def patient_reference(patient: Patient) -> dict:
    return reference("Patient", PATIENT, patient.pk)


def practitioner_reference(staff: StaffProfile | None) -> dict | None:
    if staff is None:
        return None
    return reference("Practitioner", STAFF, staff.pk, staff.display_name)


def user_reference(user) -> dict | None:
    """The Practitioner behind a user account; a user without a staff profile (a superuser doing
    maintenance) is named, not referenced."""
    if user is None:
        return None
    staff = getattr(user, "staff_profile", None)
    if staff is not None:
        return practitioner_reference(staff)
    return {"display": user.get_username()}


def organization_reference(clinic: Clinic) -> dict:
    return reference("Organization", CLINIC, clinic.pk, clinic.name)


def location_reference(room: Room) -> dict:
    return reference("Location", ROOM, room.pk, room.name)


def _telecom(patient: Patient) -> list[dict]:
    entries = []
    if patient.email:
        entries.append({"system": "email", "value": patient.email, "use": "home"})
    if patient.mobile:
        entries.append({"system": "phone", "value": str(patient.mobile), "use": "mobile"})
    for entry in entries:
        preferred = Channel.EMAIL if entry["system"] == "email" else Channel.SMS
        if patient.preferred_channel == preferred:
            entry["rank"] = 1
    return entries


def _address(patient: Patient) -> list[dict]:
    lines = [line for line in (patient.address_line1, patient.address_line2) if line]
    if not (lines or patient.town or patient.postcode):
        return []
    address = {
        "use": "home",
        "text": ", ".join(patient.address_lines),
        "line": lines,
        "city": patient.town,
        "postalCode": patient.postcode,
    }
    return [drop_empty(address)]


def _general_practitioner(patient: Patient) -> list[dict]:
    """The GP as a display-only reference: the clinic keeps no GP directory to point at."""
    named = ", ".join(part for part in (patient.gp_name, patient.gp_practice) if part)
    if patient.gp_phone:
        named = f"{named} ({patient.gp_phone})" if named else str(patient.gp_phone)
    return [{"display": named}] if named else []


def _emergency_contact(patient: Patient) -> list[dict]:
    if not (patient.emergency_contact_name or patient.emergency_contact_phone):
        return []
    relationship = {
        "coding": [{"system": f"{HL7}/v2-0131", "code": "C", "display": "Emergency Contact"}],
        "text": patient.emergency_contact_relationship,
    }
    phone = str(patient.emergency_contact_phone or "")
    contact = {
        "relationship": [drop_empty(relationship)],
        "name": drop_empty({"text": patient.emergency_contact_name}),
        "telecom": [{"system": "phone", "value": phone}] if phone else [],
    }
    return [drop_empty(contact)]


def patient_resource(patient: Patient, *, clinic: Clinic | None) -> dict:
    """An anonymised patient keeps only the study id, the year of birth and the sex; a patient
    whose processing is restricted is exported without contact details (DOMAIN.md)."""
    identifier = [
        {
            "use": "official" if not patient.anonymised_at else "secondary",
            "system": local_identifier("study-id" if patient.anonymised_at else "record-number"),
            "value": patient.study_id if patient.anonymised_at else patient.record_number,
        }
    ]
    data = {
        "id": fhir_id(PATIENT, patient.pk),
        "meta": meta(patient, patient.created_at),
        "identifier": identifier,
        "active": patient.archived_at is None,
        "gender": GENDER[patient.sex_at_birth],
    }
    if patient.anonymised_at:
        data["birthDate"] = str(patient.date_of_birth.year)
        data["meta"]["security"] = [
            {"system": f"{HL7}/v3-ObservationValue", "code": "ANONYED", "display": "anonymized"}
        ]
    else:
        data["name"] = [
            {
                "use": "official",
                "family": patient.family_name,
                "given": [patient.given_name],
                "text": patient.full_name,
            }
        ]
        data["birthDate"] = day(patient.date_of_birth)
        if not patient.is_restricted:
            data["telecom"] = _telecom(patient)
            data["address"] = _address(patient)
            data["contact"] = _emergency_contact(patient)
        data["generalPractitioner"] = _general_practitioner(patient)
    if patient.is_restricted and not patient.anonymised_at:
        # Restricted processing (GDPR Art. 18) travels with the record, so the receiving system
        # knows too; the code is HL7's "restricted" confidentiality.
        data["meta"]["security"] = [
            {"system": f"{HL7}/v3-Confidentiality", "code": "R", "display": "restricted"}
        ]
    if clinic is not None:
        data["managingOrganization"] = organization_reference(clinic)
    return build("Patient", drop_empty(data))


def practitioner_resource(staff: StaffProfile) -> dict:
    identifier = []
    if staff.registration_number:
        identifier.append(
            {
                "system": local_identifier("professional-registration"),
                "value": staff.registration_number,
            }
        )
    data = {
        "id": fhir_id(STAFF, staff.pk),
        "meta": meta(staff),
        "identifier": identifier,
        "active": staff.user.is_active,
        "name": [{"text": staff.display_name}],
    }
    return build("Practitioner", drop_empty(data))


def organization_resource(clinic: Clinic) -> dict:
    telecom = []
    if clinic.phone:
        telecom.append({"system": "phone", "value": str(clinic.phone), "use": "work"})
    if clinic.email:
        telecom.append({"system": "email", "value": clinic.email, "use": "work"})
    data = {
        "id": fhir_id(CLINIC, clinic.pk),
        "meta": meta(clinic),
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": f"{HL7}/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": clinic.name,
        "telecom": telecom,
        "address": [{"text": clinic.address}] if clinic.address else [],
    }
    return build("Organization", drop_empty(data))


def location_resource(room: Room) -> dict:
    data = {
        "id": fhir_id(ROOM, room.pk),
        "meta": meta(room),
        "status": "active" if room.is_active else "inactive",
        "name": room.name,
        "mode": "instance",
        "physicalType": {
            "coding": [{"system": f"{HL7}/location-physical-type", "code": "ro", "display": "Room"}]
        },
        "managingOrganization": organization_reference(room.clinic),
    }
    return build("Location", drop_empty(data))
