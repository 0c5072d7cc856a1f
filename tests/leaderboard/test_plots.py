"""The pages' plots (matplotlib SVG, leaderboard.charts) and the style page: round ticks on log
axes (never "949K"), round linear ticks, full legends, 95% CI bands, base/teacher lines on
gap-closed plots, no empty panel; the style page's rows from the style-profile task alone (no
judge)."""

from __future__ import annotations

import base64
import html
import math
import re

import pytest

from leaderboard import plots
from leaderboard.charts import Series, chart, round_limits, round_tick
from leaderboard.ingest import store_push
from leaderboard.pages import PAGES, Query, Source, render_page
from leaderboard.render import Links, environment
from leaderboard.schemas import PushPayload
from leaderboard.style import style_page
from leaderboard.synthetic import add_style_profile
from leaderboard.views import build_table
from tests.leaderboard.helpers import imitation, payload

ROUND = re.compile(r"^(?:1|2|5|10|20|50|100|200|500)[kMB]?$")
LONG = "a-base-model-with-a-rather-long-name-that-must-not-be-cut / sharegpt-mix"


def texts(svg: str) -> list[str]:
    """The text elements of a matplotlib SVG (svg.fonttype "none": text stays text)."""
    return [html.unescape(t).strip() for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)]


def assert_round_steps(labels: list[str]) -> None:
    """The plain-number labels (a linear axis's ticks) step by 1, 2, 2.5 or 5 x 10^k."""
    values = sorted(float(t.replace("\u2212", "-")) for t in labels
                    if re.fullmatch(r"[\u2212-]?\d+(\.\d+)?", t))
    steps = {round(b - a, 9) for a, b in zip(values, values[1:])}
    assert len(values) >= 3 and len(steps) == 1, labels
    (step,) = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), labels


def images(page: str) -> list[str]:
    """The SVG documents of a page's plot images (data URIs)."""
    return [base64.b64decode(b).decode() for b in
            re.findall(r'<img class="plot" src="data:image/svg\+xml;base64,([^"]+)"', page)]


def _push(engine, *bodies) -> None:
    for body in bodies:
        store_push(engine, PushPayload.model_validate(body))


def _page(engine, name: str, query: Query = Query()) -> str:
    table = build_table(engine, draws=200)
    page = next(p for p in PAGES if p.name == name)
    return render_page(environment(), Links(), page, Source(engine, lambda: table), query)


def test_round_log_ticks_and_limits():
    assert [round_tick(v) for v in (500, 1e3, 2e4, 5e6, 1e9)] == ["500", "1k", "20k", "5M", "1B"]
    assert round_limits(949_000, 9_500_000) == (500_000, 20_000_000)
    assert round_limits(1e6, 1e6) == (500_000, 2_000_000)  # a lone point still gets two ticks
    plot = chart([Series(LONG, (949_000.0, 1_900_000.0, 9_500_000.0), (0.31, 0.33, 0.38),
                         ((0.28, 0.34), (0.30, 0.36), (0.35, 0.41)))],
                 "score vs tokens", "imitation tokens", "exact_match", log_x=True)
    labels = texts(plot.svg)
    assert {"500k", "1M", "2M", "5M", "10M"} <= set(labels)
    suffixed = [t for t in labels if re.fullmatch(r"[\d.]+[kMB]", t)]
    assert suffixed and all(ROUND.match(t) for t in suffixed), suffixed
    assert not any("949" in t or "K" in t for t in labels)
    assert_round_steps(labels)
    assert LONG in labels and "95% CI" in labels  # the whole legend, with the CI band's entry


def test_no_points_no_plot():
    assert chart([], "t", "x", "y") is None
    assert chart([Series("empty", (), ())], "t", "x", "y") is None


def test_gap_closed_plot_has_reference_lines_and_bands(sqlite_engine):
    _push(sqlite_engine, payload("base", seed=1, params=135_000_000),
          payload("teacher", kind="teacher", acc=(0.9, 0.9), seed=2),
          imitation("imi-1m", "base", "teacher", (0.5, 0.6), 3, tokens=1_000_000),
          imitation("imi-10m", "base", "teacher", (0.6, 0.7), 4, tokens=10_000_000))
    figures = plots.scaling(build_table(sqlite_engine, draws=200))
    nq = next(f for f in figures if "nq_open" in f["column"])
    assert not nq["notes"] and len(nq["plots"]) == 3
    gap = next(p for p in nq["plots"] if p.title.startswith("gap closed"))
    labels = texts(gap.svg)
    assert {"base (0)", "teacher (1)", "95% CI", "base / sharegpt-mix"} <= set(labels)
    assert {"1M", "10M"} <= set(labels)
    assert_round_steps(labels)
    size = next(p for p in nq["plots"] if "base size" in p.title)
    assert "100M" in texts(size.svg) or "200M" in texts(size.svg)
    page = _page(sqlite_engine, "scaling")
    assert len(images(page)) == sum(len(f["plots"]) for f in figures)
    assert all(texts(svg) for svg in images(page))


def test_a_column_without_gap_data_draws_no_empty_panel(sqlite_engine):
    _push(sqlite_engine, payload("base", seed=1),
          imitation("imi", "base", "nobody", (0.5, 0.6), 3, tokens=2_000_000))
    figures = plots.scaling(build_table(sqlite_engine, draws=200))
    assert figures and all(len(f["plots"]) == 1 for f in figures)  # only score vs tokens
    assert all(any(n.startswith("gap:") for n in f["notes"]) for f in figures)
    page = _page(sqlite_engine, "scaling")
    assert len(images(page)) == len(figures) and "no gap closed here" in page
    assert "no base parameter count" in page


PROFILES = {"base": {"list_when_teacher_lists": 20.0, "summary_paragraph": 10.0,
                     "unigram_overlap": 20.5, "length_pearson": 0.2, "mean_length": 180.0},
            "imi": {"list_when_teacher_lists": 65.0, "summary_paragraph": 40.0,
                    "unigram_overlap": 31.0, "length_pearson": 0.45, "mean_length": 260.0}}


def _style_store(engine) -> None:
    base = payload("base", seed=1, acc=(0.30, 0.50))
    imi = imitation("imi", "base", "teacher", (0.29, 0.51), 3, tokens=1_000_000)
    for body, name in ((base, "base"), (imi, "imi")):
        add_style_profile(body["results"], PROFILES[name])
    _push(engine, base, imi)


def test_style_page_without_a_judge_shows_style_rows(sqlite_engine):
    _style_store(sqlite_engine)
    s = style_page(sqlite_engine, build_table(sqlite_engine, draws=200))
    assert s["notes"] == [] and s["plot"] is not None and s["judge_plot"] is None
    assert "list_when_teacher_lists" in s["labels"]["style"] and "nq_open" in s["labels"]["fact"]
    (shift,) = s["shifts"]
    assert shift.model == "imi" and shift.style == pytest.approx(45.0)
    assert shift.style_ci is None  # a share of a subset of prompts: no binomial CI
    assert shift.fact is not None and shift.fact_ci is not None
    (group,) = s["table2"]
    assert group["metrics"] == list(PROFILES["base"])
    assert [t["row"].name for t in group["rows"]] == ["base", "imi"]
    assert [c.value for c in group["rows"][1]["cells"]] == list(PROFILES["imi"].values())
    page = _page(sqlite_engine, "style")
    assert "Table 2" in page and "Δ +45.00" in page and "win_rate" not in page
    (svg,) = images(page)
    assert {"no style change", "no factual change", "base / sharegpt-mix"} <= set(texts(svg))


def test_style_page_column_choice(sqlite_engine):
    _style_store(sqlite_engine)
    table = build_table(sqlite_engine, draws=200)
    first = style_page(sqlite_engine, table)
    summary = next(c.id for c in first["style_columns"] if c.metric == "summary_paragraph")
    mmlu = next(c.id for c in first["fact_columns"] if "mmlu" in c.task)
    s = style_page(sqlite_engine, table, fact_id=mmlu, style_id=summary)
    (shift,) = s["shifts"]
    assert shift.style == pytest.approx(30.0) and shift.style_ci is not None  # binomial, n=20
    assert "mmlu" in s["labels"]["fact"] and s["style_id"] == summary
    page = _page(sqlite_engine, "style", Query(style=summary, fact=mmlu))
    assert f'<option value="{summary}"' in page and "selected" in page


def test_style_page_without_style_runs_says_so(sqlite_engine):
    _push(sqlite_engine, payload("base", seed=1), imitation("imi", "base", "t", (0.5, 0.6), 3))
    s = style_page(sqlite_engine, build_table(sqlite_engine, draws=200))
    assert s["plot"] is None and "No style-profile score" in s["notes"][0]
    page = _page(sqlite_engine, "style")
    assert not images(page) and "No style-profile score" in page
