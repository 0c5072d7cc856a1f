"""Gap closed: the formula, its bootstrap CI, n/a within noise, and the table / flips views."""

from __future__ import annotations

import pytest

from leaderboard.ingest import store_push
from leaderboard.schemas import PushPayload
from leaderboard.stats import Estimate, gaps, within_noise
from leaderboard.views import build_table, filter_rows, model_page, table_csv_rows, table_json
from tests.leaderboard.helpers import imitation, payload


def test_gap_closed_value_and_ci():
    [gap] = gaps([Estimate(0.40, 0.01, None)], [Estimate(0.20, 0.01, None)],
                 [Estimate(0.60, 0.01, None)], draws=4000, seed=1)
    assert gap.share == pytest.approx(0.5)
    assert gap.delta == pytest.approx(0.2)
    assert gap.low < 0.5 < gap.high
    assert 0.35 < gap.low and gap.high < 0.65  # se 0.01 on a 0.4 gap: a tight interval


def test_negative_gap_when_imitation_hurts():
    [gap] = gaps([Estimate(0.10, 0.01, None)], [Estimate(0.20, 0.01, None)],
                 [Estimate(0.60, 0.01, None)], draws=2000)
    assert gap.share == pytest.approx(-0.25) and gap.delta == pytest.approx(-0.1)
    assert gap.high < 0


def test_na_when_teacher_and_base_are_within_noise():
    base, teacher = Estimate(0.30, 0.05, None), Estimate(0.35, 0.05, None)
    assert within_noise(base, teacher)
    [gap] = gaps([Estimate(0.5, 0.05, None)], [base], [teacher])
    assert gap.share is None and gap.delta == pytest.approx(0.2)
    assert "noise" in gap.reason


def test_binomial_stderr_when_a_run_has_none():
    assert Estimate(0.5, None, 100).se() == pytest.approx(0.05)


@pytest.fixture
def board(sqlite_engine):
    for body in (payload("base", acc=(0.2, 0.3), seed=1, n=400),
                 payload("teacher", kind="teacher", acc=(0.6, 0.31), seed=2, n=400),
                 imitation("imi", "base", "teacher", (0.4, 0.3), seed=3)):
        store_push(sqlite_engine, PushPayload.model_validate(body))
    return sqlite_engine


def test_table_rows_have_gap_for_imitation_only(board):
    table = build_table(board, draws=500)
    names = {r.name: r for r in table.rows}
    assert [c.task for c in table.columns] == ["imitation_mmlu", "imitation_nq_open_0shot"]
    nq = 1
    imi = names["imi"].cells[nq]
    base, teacher = names["base"].cells[nq].value, names["teacher"].cells[nq].value
    assert imi.gap.share == pytest.approx((imi.value - base) / (teacher - base))
    assert names["base"].cells[nq].gap is None
    # MMLU: teacher 0.31 vs base 0.3 on 100-400 items is within noise -> n/a
    assert names["imi"].cells[0].gap.share is None


def test_filters_and_exports(board):
    table = build_table(board, draws=200)
    assert {r.name for r in filter_rows(table, base="base")} == {"base", "teacher", "imi"}
    assert {r.name for r in filter_rows(table, base="other")} == {"teacher"}
    assert {r.name for r in filter_rows(table, data="nq-synthetic")} == {"base", "teacher"}
    data = table_json(table, table.rows)
    imi = next(r for r in data["rows"] if r["model"] == "imi")
    assert any("gap_closed" in v for v in imi["scores"].values())
    csv_rows = table_csv_rows(table, table.rows)
    assert csv_rows[0][:3] == ["model", "kind", "base"] and len(csv_rows) == 1 + 3 * 2


def test_model_page_flips_against_base(board):
    page = model_page(board, "imi")
    assert page["base"] == "base" and page["card"]["token_budget"] == 1_000_000
    flips = {f["task"]: f for f in page["flips"]}
    nq = flips["imitation_nq_open_0shot"]
    assert nq["n"] == 100 and nq["fixed"] and nq["broken"]
    assert nq["net"] == len(nq["fixed"]) - len(nq["broken"])


def test_paired_bootstrap_on_shared_items():
    import numpy as np

    from leaderboard.stats import paired_gap

    rng = np.random.default_rng(0)
    base = (rng.random(400) < 0.2).astype(float)
    teacher = np.maximum(base, (rng.random(400) < 0.5).astype(float))
    imitation = np.where(rng.random(400) < 0.5, teacher, base)
    gap = paired_gap(imitation, base, teacher, draws=2000)
    expected = (imitation.mean() - base.mean()) / (teacher.mean() - base.mean())
    assert gap.share == pytest.approx(expected) and gap.low < expected < gap.high
    same = paired_gap(imitation, base, base.copy())
    assert same.share is None and "noise" in same.reason


def test_model_page_paired_gaps(board):
    page = model_page(board, "imi")
    paired = {p["task"]: p for p in page["paired"]}
    assert paired["imitation_nq_open_0shot"]["n"] == 100
    assert paired["imitation_nq_open_0shot"]["gap"].share is not None


def test_rate_interval_stays_in_unit_range():
    from leaderboard.stats import ci95

    low, high = ci95(Estimate(0.05, 0.05, 20))
    assert low == 0.0 and high == pytest.approx(0.05 + 1.959964 * 0.05)
    assert ci95(Estimate(0.0, 0.0, 20)) is None
