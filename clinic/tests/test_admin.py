"""Clinic settings in the Django admin: every practice default is editable there."""

import pytest

from clinic.admin import ClinicAdmin
from clinic.models import Clinic


def test_every_clinic_setting_is_in_a_fieldset_of_the_admin_form():
    # An explicit fieldsets list hides any field it forgets: a new practice default must be
    # added to it, or clinic admins could never change it.
    editable = {
        f.name
        for f in Clinic._meta.get_fields()
        if f.concrete and not f.auto_created and f.editable
    }
    listed = {name for _title, options in ClinicAdmin.fieldsets for name in options["fields"]}

    assert listed == editable


@pytest.mark.django_db
def test_an_admin_sees_the_reminder_settings_on_the_clinic_form(admin_client, clinic):
    page = admin_client.get(f"/admin/clinic/clinic/{clinic.pk}/change/").content.decode()

    for label in ("Reminders", "appointment reminders (hours before)", "Aftercare template"):
        assert label.lower() in page.lower()
