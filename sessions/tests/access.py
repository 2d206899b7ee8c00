"""Who may open each of the sessions app's pages: read by clinic/tests/test_access_matrix.py."""

from clinic.roles import Role
from clinic.tests.access import PUBLIC

ALL_STAFF = frozenset(Role)
CLINICAL = frozenset({Role.CLINICIAN, Role.CLINIC_ADMIN})
DESK = frozenset({Role.RECEPTION, Role.CLINIC_ADMIN})
CLINICIANS = frozenset({Role.CLINICIAN})
ADMINS = frozenset({Role.CLINIC_ADMIN})

EXPECTED = {
    "treatment_sessions:calendar": ALL_STAFF,
    "treatment_sessions:session_new": ALL_STAFF,
    "treatment_sessions:session_detail": ALL_STAFF,
    "treatment_sessions:session_confirm": ALL_STAFF,
    "treatment_sessions:session_check_in": ALL_STAFF,
    "treatment_sessions:session_no_show": ALL_STAFF,
    "treatment_sessions:session_cancel": ALL_STAFF,
    "treatment_sessions:session_move": ALL_STAFF,
    "treatment_sessions:plan_new": CLINICAL,
    "treatment_sessions:plan_detail": ALL_STAFF,
    "treatment_sessions:plan_book": ALL_STAFF,
    "treatment_sessions:plan_stop": CLINICAL,
    "treatment_sessions:plan_complete": CLINICAL,
    "treatment_sessions:maintenance": ALL_STAFF,
    "treatment_sessions:safety_report": ADMINS,
    # Reports (issue 17): outcomes for clinicians and admins, harms and exports for admins.
    "treatment_sessions:reports": CLINICAL,
    "treatment_sessions:harms": ADMINS,
    "treatment_sessions:outcome_report": CLINICAL,
    "treatment_sessions:outcome_compare": CLINICAL,
    "treatment_sessions:research_exports": ADMINS,
    "treatment_sessions:research_export": ADMINS,
    "treatment_sessions:research_export_download": ADMINS,
    "treatment_sessions:maintenance_contact": DESK,
    "treatment_sessions:maintenance_download": DESK,
    "treatment_sessions:reminders": DESK,
    "treatment_sessions:reminder_retry": DESK,
    "treatment_sessions:patient_channel_preference": ALL_STAFF,
    # The patient's signed link and the SMS provider's webhook (sessions/public_urls.py).
    "patient_link": PUBLIC,
    "patient_link_confirm": PUBLIC,
    "patient_link_cancel": PUBLIC,
    "patient_link_ingredients": PUBLIC,
    "patient_link_calendar": PUBLIC,
    "sms_webhook_twilio": PUBLIC,
    # Patients helping themselves (issue 16): public pages, and reception's side of them.
    "patient_link_intake": PUBLIC,
    "patient_link_reschedule": PUBLIC,
    "patient_link_waitlist": PUBLIC,
    "online_booking": PUBLIC,
    "online_booking_code": PUBLIC,
    "waitlist_offer": PUBLIC,
    "waitlist_offer_accept": PUBLIC,
    "treatment_sessions:online_bookings": DESK,
    "treatment_sessions:online_booking_approve": DESK,
    "treatment_sessions:online_booking_decline": DESK,
    "treatment_sessions:provisional_confirm": DESK,
    "treatment_sessions:provisional_merge": DESK,
    "treatment_sessions:waitlist": ALL_STAFF,
    "treatment_sessions:waitlist_withdraw": DESK,
    # Adverse events (issue 6): clinicians record and update, admins read and acknowledge.
    "treatment_sessions:adverse_event_new": CLINICIANS,
    "treatment_sessions:adverse_event_detail": CLINICAL,
    "treatment_sessions:adverse_event_update": CLINICIANS,
    "treatment_sessions:adverse_event_void": CLINICIANS,
    "treatment_sessions:adverse_event_acknowledge": ADMINS,
    # Session records (issue 6, part A): clinicians write and sign; admins audit, so they read a
    # record but never write one; reception gets 403 on every record URL.
    "treatment_sessions:record": CLINICAL,
    "treatment_sessions:record_details": CLINICIANS,
    "treatment_sessions:record_injection_add": CLINICIANS,
    "treatment_sessions:record_injection_remove": CLINICIANS,
    "treatment_sessions:record_injection_edit": CLINICIANS,
    "treatment_sessions:record_lot_add": CLINICIANS,
    "treatment_sessions:record_lot_remove": CLINICIANS,
    "treatment_sessions:record_sign": CLINICIANS,
    "treatment_sessions:record_addendum": CLINICIANS,
    # Records leaving the clinic (issue 18): FHIR for clinical roles, the bulk export for admins,
    # data rights pages for clinical roles (erasure actions need the admins' permission too).
    "exchange:patient_everything": CLINICAL,
    "exchange:export": ADMINS,
    "exchange:export_job": ADMINS,
    "exchange:export_file": ADMINS,
    "exchange:data_rights": CLINICAL,
    "exchange:patient_copy_new": CLINICAL,
    "exchange:patient_copy_download": CLINICAL,
    "exchange:erasure_request_new": ADMINS,
    "exchange:anonymisation_propose": ADMINS,
    "exchange:anonymisation_confirm": ADMINS,
    "patient_copy": PUBLIC,
    "patient_copy_file": PUBLIC,
}
