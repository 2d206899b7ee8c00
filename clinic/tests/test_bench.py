"""`make bench` keeps running: its smallest size is measured here, without asserting times."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from clinic.management.commands import _benchmark as benchmark
from clinic.management.commands.bench import best_of_rounds, rounds_line
from clinic.seed_scale import seed_scale

TODAY = date(2026, 12, 1)


@pytest.mark.django_db
def test_every_page_of_a_small_generated_clinic_answers_and_the_table_shows_it():
    from django.utils import timezone

    seed_scale(patients=12, seed=3, today=timezone.localdate(), now=timezone.now())

    run = {**benchmark.measure(http=False), "size": 12}
    text, _ = benchmark.table([run])

    assert {p["page"]: p["status"] for p in run["pages"] if p["status"] != 200} == {}
    assert run["sweep"]["sent"] == benchmark.SWEEP_ROWS
    for page in ("dashboard (reception)", "maintenance", "calendar week", "lot recall CSV"):
        assert page in text
    assert "idle sweep ms" in text and "Targets:" in text


def _drop_bench_database(size: int) -> None:
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_bench_n{size}"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_bench_builds_measures_and_writes_its_json(tmp_path):
    _drop_bench_database(2)
    try:
        call_command("bench", sizes="2", out=str(tmp_path))
    finally:
        _drop_bench_database(2)

    report = json.loads((tmp_path / "latest.json").read_text())
    (run,) = report["runs"]
    assert run["counts"]["patients"] == 2
    assert run["rounds"] == 2 and len(run["measured"]) == 2
    assert "Each figure is the best of 2 rounds" in report["table"]
    assert run["http"]["trivial"]["non_200"] == 0
    assert run["http"]["loaded"]["non_200"] == 0
    assert "HTTP p50 loaded / trivial" in report["table"]


@pytest.mark.django_db
def test_bench_can_measure_the_pages_alone_for_the_edit_measure_loop():
    from django.utils import timezone

    seed_scale(patients=3, seed=4, today=timezone.localdate(), now=timezone.now())

    run = {**benchmark.measure(http=False, only="pages"), "size": 3}
    text, _ = benchmark.table([run])

    assert "sweep" not in run
    assert "lot recall CSV" in text and "idle sweep ms" not in text


def test_the_table_of_a_sweep_only_run_shows_the_sweep_and_its_targets():
    # `manage.py bench --only sweep`: no pages were measured, the sweep figures still print.
    def run(size, per_s, single, idle, reference):
        return {
            "size": size,
            "database": "postgresql",
            "counts": {"sessions": 1, "signed_records": 1, "reminders": 1},
            "pages": [],
            "sweep": {
                "per_s": per_s,
                "db_single_update_per_s": single,
                "db_batched_update_per_s": single * 3,
                "ratio_to_single_update": round(per_s / single, 3),
                "idle_ms": idle,
                "idle_reference_ms": reference,
            },
        }

    text, missed = benchmark.table([run(50, 900, 3000, 20.0, 2.0), run(500, 800, 3200, 40.0, 2.0)])

    assert "800/s of  3200/s" in text
    assert "idle sweep ms" in text and "L/M 2.0" in text
    assert missed == [
        "sweep: 800 reminders/s (target >= 1000)",
        "idle sweep: L/M 2.0 (target <= 1.3)",
    ]


def test_each_figure_is_its_best_round_with_the_reference_timed_beside_it():
    # `make bench` measures every size twice, in turns: a minute the VM ran slow moves one
    # round, and the table shows each page's quicker round, the sweep's faster one and the
    # quicker idle sweep, each with what was timed beside it in that round
    def round_of(*, dashboard, maintenance, per_s, single, idle):
        return {
            "database": "postgresql",
            "counts": {"sessions": 1, "signed_records": 1, "reminders": 1},
            "pages": [
                {"page": "dashboard (admin)", "queries": 9, "ms": dashboard[0],
                 "reference_ms": dashboard[1], "status": 200},
                {"page": "maintenance", "queries": 8, "ms": maintenance[0],
                 "reference_ms": maintenance[1], "status": 200},
            ],
            "sweep": {"per_s": per_s, "db_single_update_per_s": single,
                      "db_batched_update_per_s": single * 3,
                      "ratio_to_single_update": round(per_s / single, 3),
                      "idle_ms": idle[0], "idle_reference_ms": idle[1]},
        }  # fmt: skip

    slow_first = round_of(
        dashboard=(60.0, 3.0), maintenance=(30.0, 1.5), per_s=900, single=1500, idle=(40.0, 4.0)
    )
    slow_then = round_of(
        dashboard=(40.0, 2.0), maintenance=(45.0, 2.5), per_s=1400, single=2500, idle=(50.0, 5.0)
    )

    best = {**best_of_rounds([slow_first, slow_then]), "size": 500}

    assert [(p["page"], p["ms"], p["reference_ms"]) for p in best["pages"]] == [
        ("dashboard (admin)", 40.0, 2.0),
        ("maintenance", 30.0, 1.5),
    ]
    sweep = best["sweep"]
    assert (sweep["per_s"], sweep["db_single_update_per_s"], sweep["ratio_to_single_update"]) == (
        1400, 2500, 0.56,
    )  # fmt: skip
    assert (sweep["idle_ms"], sweep["idle_reference_ms"]) == (40.0, 4.0)
    assert best["rounds"] == 2 and best["measured"] == [slow_first, slow_then]
    assert rounds_line([best]) == (
        "Each figure is the best of 2 rounds, measured in turns. "
        "Sweep reminders/s by round: N=500: 900 / 1400."
    )
