import pytest
import time_machine
from django.urls import reverse

from clinic.roles import Role
from formulations.models import Formulation, FormulationVersion, VersionStatus
from formulations.tests.factories import (
    FormulationFactory,
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
    LotFactory,
)

pytestmark = pytest.mark.django_db


def _content(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("count", [1, 50])
def test_the_formulation_list_runs_a_bounded_number_of_queries(
    client_as, django_assert_max_num_queries, count
):
    for _ in range(count):
        FormulationVersionFactory(formulation=FormulationFactory())
    client = client_as(Role.CLINICIAN)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("formulations:list"))
    assert _content(response).count("badge-status") == count


@pytest.mark.parametrize("lines", [1, 50])
def test_the_formulation_page_runs_a_bounded_number_of_queries(
    client_as, django_assert_max_num_queries, lines
):
    version = FormulationVersionFactory()
    for _ in range(lines):
        IngredientLineFactory(version=version)
        LotFactory(version=version)
    client = client_as(Role.CLINIC_ADMIN)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("formulations:detail", kwargs={"pk": version.formulation_id}))
    assert _content(response).count("in every 1 mL") == lines


def test_clinicians_read_the_catalogue_but_cannot_create(client_as):
    IngredientFactory(name="Biotin", synonyms="Vitamin H")
    client = client_as(Role.CLINICIAN)
    response = client.get(reverse("formulations:ingredients"))
    assert "Vitamin H" in _content(response)
    assert "Edit the catalogue" not in _content(response)
    assert client.post(reverse("formulations:create"), {"name": "X"}).status_code == 403
    assert not Formulation.objects.filter(name="X").exists()


def test_an_admin_builds_a_formulation_with_exact_strengths_and_publishes_it(
    client_as,
):
    client = client_as(Role.CLINIC_ADMIN)
    dutasteride = IngredientFactory(name="Dutasteride", is_prescription_drug=True)
    # a formulation
    response = client.post(reverse("formulations:create"), {"name": "DHT block"})
    formulation = Formulation.objects.get(name="DHT block")
    # a draft version
    client.post(
        reverse("formulations:version_create", kwargs={"pk": formulation.pk}),
        {"unit_volume_ml": "1", "vehicle": "Water for injection"},
    )
    version = formulation.versions.get()
    assert version.status == VersionStatus.DRAFT
    # a line, at 0.01 % w/v
    response = client.post(
        reverse("formulations:line_add", kwargs={"pk": version.pk}),
        {"ingredient": dutasteride.pk, "amount": "0.01", "unit": "%w/v", "per_volume_ml": ""},
        follow=True,
    )
    assert "0.1 mg in every 1 mL (0.01 %)" in _content(response)
    # published
    response = client.post(
        reverse("formulations:version_publish", kwargs={"pk": version.pk}), follow=True
    )
    assert "published: it can no longer be changed" in _content(response)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


def test_a_percentage_with_a_volume_is_refused_on_the_form(client_as, draft_version):
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:line_add", kwargs={"pk": draft_version.pk}),
        {"ingredient": IngredientFactory().pk, "amount": "1", "unit": "%w/v", "per_volume_ml": "2"},
    )
    assert response.status_code == 200
    assert "A % w/v strength has no separate volume." in _content(response)
    assert draft_version.lines.count() == 1


def test_the_edit_form_of_a_published_version_is_refused_with_the_reason(
    client_as, published_version
):
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:version_edit", kwargs={"pk": published_version.pk}),
        {"unit_volume_ml": "9", "vehicle": "", "instructions": "", "change_note": ""},
        follow=True,
    )
    assert "only a draft can be edited" in _content(response)
    published_version.refresh_from_db()
    assert published_version.unit_volume_ml == 1


def test_changing_or_removing_a_line_of_a_used_version_is_refused(client_as, used_version):
    client = client_as(Role.CLINIC_ADMIN)
    line = used_version.lines.get()
    response = client.post(
        reverse("formulations:line_edit", kwargs={"pk": line.pk}),
        {"ingredient": line.ingredient_id, "amount": "0.05", "unit": "%w/v", "per_volume_ml": ""},
    )
    assert "used in a treatment session" in _content(response)
    response = client.post(reverse("formulations:line_remove", kwargs={"pk": line.pk}), follow=True)
    assert "used in a treatment session" in _content(response)
    line.refresh_from_db()
    assert str(line.amount) == "0.010000"


def test_new_version_from_a_published_one_opens_a_draft_copy(client_as, published_version):
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:version_new_from", kwargs={"pk": published_version.pk}),
        follow=True,
    )
    draft = FormulationVersion.objects.get(based_on=published_version)
    assert response.redirect_chain[-1][0] == reverse(
        "formulations:version_edit", kwargs={"pk": draft.pk}
    )
    assert "Dutasteride" in _content(response)


def test_retiring_from_the_page_keeps_the_record(client_as, used_version):
    client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:version_retire", kwargs={"pk": used_version.pk})
    )
    used_version.refresh_from_db()
    assert used_version.status == VersionStatus.RETIRED


def test_deleting_a_published_version_from_the_page_is_refused(client_as, published_version):
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:version_delete", kwargs={"pk": published_version.pk}), follow=True
    )
    assert "only a draft can be edited" in _content(response)
    assert FormulationVersion.objects.filter(pk=published_version.pk).exists()


def test_a_clinician_cannot_publish(client_as, draft_version):
    response = client_as(Role.CLINICIAN).post(
        reverse("formulations:version_publish", kwargs={"pk": draft_version.pk})
    )
    assert response.status_code == 403
    draft_version.refresh_from_db()
    assert draft_version.status == VersionStatus.DRAFT


@time_machine.travel("2026-11-22 10:00Z", tick=False)
def test_lots_show_expired_by_date_and_can_be_quarantined(client_as, published_version):
    from datetime import date

    expired = LotFactory(
        version=published_version, received_on=date(2026, 1, 1), expires_on=date(2026, 11, 1)
    )
    fresh = LotFactory(version=published_version)
    client = client_as(Role.CLINIC_ADMIN)
    client.post(
        reverse("formulations:lot_hold", kwargs={"pk": fresh.pk, "action": "quarantine"}),
        {"reason": "Certificate awaited"},
    )
    response = client.get(
        reverse("formulations:detail", kwargs={"pk": published_version.formulation_id})
    )
    content = _content(response)
    assert f'data-testid="lot-{expired.lot_number}"' in content
    assert "Expired" in content
    assert "Quarantined" in content and "Certificate awaited" in content


def test_a_lot_is_received_on_the_version_page(client_as, published_version):
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("formulations:lot_receive", kwargs={"pk": published_version.pk}),
        {
            "lot_number": "B-77",
            "supplier": "Acme",
            "received_on": "2026-11-20",
            "expires_on": "2026-11-01",
            "quantity_received": "10",
        },
    )
    assert "The expiry date must be after the date received." in _content(response)
    assert not published_version.lots.exists()


def test_the_version_diff_shows_added_removed_and_changed_lines(client_as, published_version):
    from formulations import versioning

    draft = versioning.version_new_from(version=published_version)
    line = draft.lines.get()
    versioning.line_change(
        line=line, ingredient=line.ingredient, amount=2, unit="%w/v", per_volume_ml=None
    )
    versioning.line_add(
        version=draft,
        ingredient=IngredientFactory(name="Caffeine"),
        amount=20,
        unit="mg",
        per_volume_ml=5,
    )
    response = client_as(Role.CLINIC_ADMIN).get(
        reverse("formulations:compare"), {"a": published_version.pk, "b": draft.pk}
    )
    content = _content(response)
    assert "Strength changed" in content and "20 mg in every 1 mL (2 %)" in content
    assert "Added" in content and "Caffeine" in content


def test_the_history_shows_who_changed_what_newest_first(client_as, staff):
    from formulations import versioning

    admin = staff(Role.CLINIC_ADMIN, display_name="Ada Admin").user
    client = client_as(Role.CLINIC_ADMIN)
    client.force_login(admin)
    formulation = FormulationFactory(name="Cocktail")
    client.post(
        reverse("formulations:version_create", kwargs={"pk": formulation.pk}),
        {"unit_volume_ml": "5"},
    )
    version = formulation.versions.get()
    client.post(
        reverse("formulations:version_edit", kwargs={"pk": version.pk}),
        {"unit_volume_ml": "2", "vehicle": "Saline", "instructions": "", "change_note": ""},
    )
    versioning.line_add(
        version=version, ingredient=IngredientFactory(), amount=1, unit="mg", per_volume_ml=1
    )
    response = client.get(reverse("formulations:history", kwargs={"pk": formulation.pk}))
    content = _content(response)
    assert "Ada Admin" in content
    assert "Unit volume (mL)</strong>: 5.00 → 2" in content
    # newest first: the line added last is listed before the version's creation
    assert content.index("in version 1") < content.index("Created")


def test_comparing_unknown_versions_says_so_on_the_form(client_as):
    response = client_as(Role.CLINIC_ADMIN).get(
        reverse("formulations:compare"), {"a": 998, "b": 999}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in _content(response)


@pytest.mark.parametrize("count", [1, 50])
def test_the_compare_page_runs_a_bounded_number_of_queries(
    client_as, django_assert_max_num_queries, count
):
    versions = [FormulationVersionFactory() for _ in range(count)]
    client = client_as(Role.CLINIC_ADMIN)
    with django_assert_max_num_queries(16):
        response = client.get(
            reverse("formulations:compare"), {"a": versions[0].pk, "b": versions[-1].pk}
        )
    assert _content(response).count("<option") == 2 * (count + 1)  # with the empty choice


def test_opening_the_line_form_of_a_published_version_explains_why_not(
    client_as, published_version
):
    line = published_version.lines.get()
    response = client_as(Role.CLINIC_ADMIN).get(
        reverse("formulations:line_edit", kwargs={"pk": line.pk}), follow=True
    )
    assert "is published: only a draft can be edited" in _content(response)


def test_an_admin_corrects_a_lot_on_its_page_and_the_correction_shows_beside_it(client_as):
    lot = LotFactory(lot_number="AB123")
    client = client_as(Role.CLINIC_ADMIN)

    response = client.post(
        reverse("formulations:lot_correct", args=[lot.pk]),
        {"field": "lot_number", "new_value": "AB132", "reason": "Digits swapped on entry"},
        follow=True,
    )

    assert "Correction of lot AB123 recorded." in response.content.decode()
    page = client.get(reverse("formulations:detail", args=[lot.version.formulation_id]))
    assert "Corrected lot number: AB123 → <strong>AB132</strong>" in page.content.decode()
    assert "Digits swapped on entry" in page.content.decode()


def test_a_correction_without_a_reason_is_shown_on_the_form(client_as):
    lot = LotFactory()
    client = client_as(Role.CLINIC_ADMIN)

    response = client.post(
        reverse("formulations:lot_correct", args=[lot.pk]),
        {"field": "supplier", "new_value": "Other", "reason": ""},
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


@time_machine.travel("2026-12-01 10:00Z", tick=False)
def test_lots_that_expired_over_a_year_ago_are_counted_and_shown_on_request(
    client_as, published_version
):
    from datetime import date

    from formulations.models import LotStatus

    def lot(expires_on, **extra):
        received_on = date(expires_on.year - 1, expires_on.month, 1)
        return LotFactory(
            version=published_version, received_on=received_on, expires_on=expires_on, **extra
        )

    recent = lot(date(2026, 1, 1))  # expired eleven months ago
    old = lot(date(2024, 1, 1))
    held = lot(date(2024, 6, 1), status=LotStatus.QUARANTINED, status_reason="Check certificate")
    client = client_as(Role.CLINIC_ADMIN)
    url = reverse("formulations:detail", kwargs={"pk": published_version.formulation_id})

    page = _content(client.get(url))
    shown = {n for n in (recent, old, held) if f'data-testid="lot-{n.lot_number}"' in page}
    assert shown == {recent, held}  # a quarantined lot waits for a decision, however old
    assert "1 lot that expired before 1 Dec 2025 is not shown." in page

    everything = _content(client.get(f"{url}?lots=all"))
    assert f'data-testid="lot-{old.lot_number}"' in everything
    assert 'data-testid="older-lots"' not in everything
