"""The main table at scale: a push refreshes it incrementally (only the pushed model's cells and
the gaps that read it are recomputed, and the result equals a rebuild from scratch), several
server processes on one database each see every push, the main page and the JSON/CSV exports
paginate with stable order and links, bad paging parameters are a 4xx, and the static export
holds every page of the table."""

from __future__ import annotations

import re

import pytest
import requests

from leaderboard.ingest import store_push
from leaderboard.schemas import PushPayload
from leaderboard.views import TableState, build_table
from tests.leaderboard.helpers import imitation, payload

DRAWS = 200


def _push(engine, body) -> None:  # noqa: ANN001
    store_push(engine, PushPayload.model_validate(body))


def _board(engine, bases: int = 2, per_base: int = 3) -> None:  # noqa: ANN001
    """``bases`` base models, two teachers, ``per_base`` imitation models of each base."""
    for b in range(bases):
        _push(engine, payload(f"base-{b}", acc=(0.3, 0.4), seed=b))
    for t in range(2):
        _push(engine, payload(f"teacher-{t}", kind="teacher", acc=(0.8, 0.8), seed=10 + t))
    for b in range(bases):
        for k in range(per_base):
            _push(engine, imitation(f"imi-{b}-{k}", f"base-{b}", f"teacher-{k % 2}",
                                    (0.4 + 0.05 * k, 0.5), 100 + 10 * b + k))


def test_a_push_recomputes_only_what_it_changes_and_equals_a_rebuild(engine):
    _board(engine)
    state = TableState(engine, draws=DRAWS)
    first = state.refresh()
    assert state.last.full and state.last.gap_rows == 6 and len(first.rows) == 10
    assert state.refresh() is first and state.last.models == 0  # nothing stored: nothing redone
    _push(engine, imitation("imi-0-0", "base-0", "teacher-0", (0.7, 0.6), 999))  # a newer run
    after = state.refresh()
    assert (state.last.models, state.last.gap_rows, state.last.full) == (1, 1, False)
    assert after == build_table(engine, draws=DRAWS)  # the same numbers as from scratch
    kept = {r.name for r in after.rows if any(r is old for old in first.rows)}
    assert kept == {r.name for r in first.rows} - {"imi-0-0"}  # other rows were reused
    nq = [c.task for c in after.columns].index("imitation_nq_open_0shot")
    row = next(r for r in after.rows if r.name == "imi-0-0")
    assert row.cells[nq].value == pytest.approx(0.7, abs=0.1) and row.cells[nq].gap is not None
    _push(engine, payload("base-1", acc=(0.35, 0.45), seed=77))  # a base: its 3 imitators
    after = state.refresh()
    assert (state.last.models, state.last.gap_rows) == (1, 3)
    assert after == build_table(engine, draws=DRAWS)
    _push(engine, imitation("imi-new", "base-0", "teacher-1", (0.5, 0.5), 55))  # a new row
    body = payload("teacher-0", kind="teacher", acc=(0.9,), seed=3)  # a new column, too
    body["results"]["results"]["imitation_extra"] = body["results"]["results"].pop(
        "imitation_nq_open_0shot")
    _push(engine, body)
    after = state.refresh()
    assert state.last.models == 2 and len(after.rows) == 11 and len(after.columns) == 3
    assert after == build_table(engine, draws=DRAWS)


def test_a_page_bootstraps_only_its_own_rows(sqlite_engine):
    _board(sqlite_engine)
    state = TableState(sqlite_engine, draws=DRAWS)
    imitations = [r for r in state.refresh(complete=False).rows if r.kind == "imitation"]
    assert state.last.gap_rows == 0 and len(imitations) == 6
    assert all(c.gap is None and not c.gap_note for r in imitations for c in r.cells)
    state.complete(imitations[:2])  # what a page showing these two rows asks for
    assert state.last.gap_rows == 2
    assert all(c.gap is not None for r in imitations[:2] for c in r.cells)
    assert all(c.gap is None for r in imitations[2:] for c in r.cells)
    _push(sqlite_engine, payload("base-0", acc=(0.33, 0.44), seed=78))  # imi-0-*: due again
    state.refresh(complete=False)
    assert state.whole() == build_table(sqlite_engine, draws=DRAWS)
    assert state.last.gap_rows == 6  # 4 never shown + 2 shown whose base changed


def test_each_server_process_sees_every_push_incrementally(db_url):
    """Two apps with their own engines on one database (as two server processes): a push to
    one shows on the other's main page, which recomputes only the pushed model."""
    from leaderboard.app import create_app
    from leaderboard.auth import create_token
    from leaderboard.db import make_engine, migrate
    from leaderboard.settings import Settings
    from leaderboard.testing_services import ServerThread

    engines = [make_engine(db_url) for _ in range(2)]
    migrate(engines[0])
    _board(engines[0], bases=1, per_base=2)
    token = create_token(engines[0], "pusher", ["push", "read", "admin"])[1]  # may use any base
    settings = Settings(db=db_url, push_per_minute=1000, requests_per_minute=10_000,
                        bootstrap_draws=DRAWS)
    apps = [create_app(settings, e) for e in engines]
    try:
        with ServerThread(apps[0]) as one, ServerThread(apps[1]) as two:
            assert "imi-0-9" not in requests.get(two.url + "/", timeout=60).text
            r = requests.post(one.url + "/api/runs", json=imitation(
                "imi-0-9", "base-0", "teacher-1", (0.6, 0.6), 9),
                headers={"Authorization": f"Bearer {token}"}, timeout=60)
            assert r.status_code == 201, r.text
            page = requests.get(two.url + "/", timeout=60).text
            assert "imi-0-9" in page
            state = apps[1].state.board.cache.state
            assert (state.last.models, state.last.gap_rows, state.last.full) == (1, 1, False)
            assert state.table == build_table(engines[0], draws=DRAWS)
            shown = requests.get(two.url + "/api/leaderboard.json", timeout=60).json()
            assert [row["model"] for row in shown["rows"]] == [r.name for r in state.table.rows]
    finally:
        for e in engines:
            e.dispose()


def _names(html: str) -> list[str]:
    return re.findall(r'<tr class="kind-[a-z]+" data-name="([^"]+)"', html)


def test_main_page_and_exports_paginate_in_a_stable_order(server, sqlite_engine):
    _board(sqlite_engine, bases=2, per_base=4)  # 12 rows
    everything = [r.name for r in build_table(sqlite_engine, draws=DRAWS).rows]
    assert everything == sorted(everything, key=lambda n: (
        "base" if n.startswith("base") else "imitation" if n.startswith("imi") else "teacher", n))
    seen = []
    for number, size in ((1, 5), (2, 5), (3, 2)):
        r = requests.get(server.url + "/", params={"per_page": 5, "page": number}, timeout=60)
        assert r.status_code == 200
        assert len(_names(r.text)) == size and f"page {number} of 3" in r.text
        assert f"models {5 * number - 4}–{5 * number - 5 + size} of 12" in r.text
        seen += _names(r.text)
        if number < 3:
            assert f'href="/?per_page=5&amp;page={number + 1}"' in r.text  # next, keeps per_page
    assert seen == everything  # every row once, in the table's order
    default = requests.get(server.url + "/", timeout=60).text
    assert len(_names(default)) == 12 and "page 1 of 1" in default
    filtered = requests.get(server.url + "/", params={"q": "IMI-1", "per_page": 3, "page": 2},
                            timeout=60).text
    assert _names(filtered) == ["imi-1-3"] and 'href="/?q=IMI-1&amp;per_page=3"' in filtered
    body = requests.get(server.url + "/api/leaderboard.json", params={"per_page": 5, "page": 3},
                        timeout=60).json()
    assert [row["model"] for row in body["rows"]] == everything[10:]
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (12, 3, 3, 5)
    full = requests.get(server.url + "/api/leaderboard.json", timeout=60).json()
    assert [row["model"] for row in full["rows"]] == everything and "pages" not in full
    csv = requests.get(server.url + "/api/leaderboard.csv", params={"base": "base-0"}, timeout=60)
    assert csv.headers["X-Total-Count"] == "7"  # base-0, its 4 imitators, the 2 teachers
    assert {line.split(",")[0] for line in csv.text.splitlines()[1:]} == {
        "base-0", "teacher-0", "teacher-1", *(f"imi-0-{k}" for k in range(4))}


@pytest.mark.parametrize("path", ["/", "/api/leaderboard.json", "/api/leaderboard.csv"])
def test_bad_paging_parameters_are_a_4xx(server, sqlite_engine, path):
    _push(sqlite_engine, payload("base-0"))
    for params in ({"page": 0}, {"page": -1}, {"page": "two"}, {"page": "1e3"},
                   {"page": 10**30}, {"per_page": 0}, {"per_page": "all"},
                   {"per_page": 10**6}, {"page": 2}, {"page": 5, "per_page": 1}):
        r = requests.get(server.url + path, params=params, timeout=60)
        assert r.status_code in (404, 422), (params, r.status_code, r.text[:200])
        assert r.json()["detail"], params
    assert requests.get(server.url + path, params={"per_page": 101},
                        timeout=60).status_code == (422 if path == "/" else 200)
    assert requests.get(server.url + path, params={"page": 1, "per_page": 1},
                        timeout=60).status_code == 200


def test_the_static_export_holds_every_page_of_the_table(sqlite_engine, tmp_path):
    from leaderboard.export import export_html
    from leaderboard.pages import PER_PAGE

    _board(sqlite_engine, bases=3, per_base=17)  # 56 rows: two pages
    site = tmp_path / "site"
    export_html(sqlite_engine, site, draws=20)
    first, second = (site / "index.html").read_text(), (site / "index-2.html").read_text()
    assert not (site / "index-3.html").exists()
    assert 'href="index-2.html"' in first and 'href="index.html"' in second
    names = _names(first) + _names(second)
    assert len(_names(first)) == PER_PAGE and len(names) == 56 == len(set(names))
    assert names == [r.name for r in build_table(sqlite_engine, draws=20).rows]
    for html in (first, second):
        for link in re.findall(r'href="(model/[^"]+)"', html):
            assert (site / link).is_file(), link
