"""Finding patients by name, phone number or record number."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce

from .models import Patient

RECORD_NUMBER = re.compile(r"^\s*(?:MT)?0*(\d{1,9})\s*$", re.IGNORECASE)
PHONE_LIKE = re.compile(r"^\s*\+?[\d\s().-]{6,}$")


def patient_search(*, query: str) -> QuerySet[Patient]:
    """Patients matching every word of the query, by name, record number or phone digits.

    "ann smi" finds Ann Smith (a word of up to three letters matches the start of a given or
    family name, longer ones any part of it: "mith" finds Smith too); an address with "@"
    finds by email; "MT000123", "mt123" or "123" find by record number; "07700 900123" or
    "+44 7700 900123" find by mobile (6+ digits).
    """
    patients = Patient.objects.filter(archived_at__isnull=True)
    query = query.strip()
    if not query:
        return patients
    condition = Q(pk__in=[])
    record = RECORD_NUMBER.match(query)
    if record:
        condition |= Q(record_number=f"MT{int(record.group(1)):06d}")
    if PHONE_LIKE.match(query):
        # Mobiles are stored in E.164 (+447700900123); typed national numbers start with the
        # trunk prefix 0, so compare the digits after it.
        digits = re.sub(r"\D", "", query).lstrip("0")
        if len(digits) >= 6:
            condition |= Q(mobile__endswith=digits)
    if record or PHONE_LIKE.match(query):
        return patients.filter(condition)
    condition = Q()
    for word in query.split():
        condition &= _name_word(word)
    # The list's order (family name, given name), as expressions: ordered by the bare columns,
    # PostgreSQL walks the whole name index to fill the first page when the matches sit late
    # in the alphabet ("smi": 3,600 rows read for 25 at 5,000 patients). This way it finds the
    # few matches first (a scan, or the trigram indexes on a larger table) and sorts those.
    return patients.filter(condition).order_by(
        Coalesce("family_name", Value("")), Coalesce("given_name", Value("")), "pk"
    )


# What reception types to find a patient is mostly the start of a name ("smi", "ann"); up to
# this many letters a word matches the start of a name, read from b-tree indexes of the upper-
# cased names (migration 0017). A longer word matches any part of a name through the trigram
# indexes (migration 0009), which select well from two trigrams (four letters) on: a three-
# letter contains-match has one trigram and scans every patient.
PREFIX_LETTERS = 3


def _name_word(word: str) -> Q:
    if "@" in word:
        return Q(email__iexact=word)
    if len(word) <= PREFIX_LETTERS:
        return Q(given_name__istartswith=word) | Q(family_name__istartswith=word)
    return Q(given_name__icontains=word) | Q(family_name__icontains=word)
