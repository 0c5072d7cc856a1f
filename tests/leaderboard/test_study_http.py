"""Rating studies over real HTTP (uvicorn on 127.0.0.1): 30 raters at once on SQLite and
PostgreSQL lose and double-count nothing, the rate API's tokens, validation and rate limit, and
the results page and judge panel."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.db import read_session
from leaderboard.settings import Settings
from leaderboard.study import build, results
from leaderboard.study.tables import Assignment, StudyPair
from leaderboard.testing_services import ServerThread
from tests.leaderboard.study_helpers import MODEL_FILE, REFERENCE_FILE, make_study

RATERS = 30


def _server(engine, per_minute: int = 100_000) -> ServerThread:
    settings = Settings(db=str(engine.url.render_as_string(hide_password=False)),
                        push_per_minute=per_minute, requests_per_minute=100_000,
                        bootstrap_draws=100)
    return ServerThread(create_app(settings, engine))


def _rater(url: str, code: str, token: str, start: threading.Barrier, seed: int) -> Counter:
    """Rate until finished; some ratings are sent twice (the second must not count)."""
    rng, seen = random.Random(seed), Counter()
    auth = {"Authorization": f"Bearer {token}"}
    with requests.Session() as http:
        start.wait()
        while True:
            shown = http.post(f"{url}/api/rate/{code}/next", headers=auth, timeout=120)
            assert shown.status_code == 200, shown.text
            body = shown.json()
            if body["finished"]:
                return seen
            rating = {"assignment": body["assignment"],
                      "choice": rng.choice(["left", "right", "equal"])}
            for _ in range(2 if rng.random() < 0.3 else 1):
                sent = http.post(f"{url}/api/rate/{code}/submit", json=rating, headers=auth,
                                 timeout=120)
                assert sent.status_code == 200, sent.text
                seen["stored" if sent.json()["stored"] else "repeated"] += 1


def test_thirty_raters_at_once(engine, tmp_path):
    made = make_study(engine, tmp_path, prompts=12, raters=3, checks=2)
    code = made["rate_url"].rsplit("/", 1)[1]
    tokens = [create_token(engine, f"rater-{k:02d}", ["rate"])[1] for k in range(RATERS)]
    start = threading.Barrier(RATERS)
    with _server(engine) as srv, ThreadPoolExecutor(RATERS) as pool:
        counts = list(pool.map(lambda k: _rater(srv.url, code, tokens[k], start, k),
                               range(RATERS)))
    stored = sum(c["stored"] for c in counts)
    assert sum(c["repeated"] for c in counts) > 0
    with read_session(engine) as s:
        rows = s.execute(select(Assignment.rater, Assignment.verdict, StudyPair.kind,
                                StudyPair.id).join(StudyPair,
                                                   StudyPair.id == Assignment.pair_id)).all()
        pairs = s.scalar(select(func.count(StudyPair.id)).where(StudyPair.kind == "real"))
    assert all(verdict is not None for _, verdict, _, _ in rows)  # nothing left open
    assert stored == len(rows)  # every stored rating is there once, none lost
    real = Counter(pid for _, _, kind, pid in rows if kind == "real")
    assert pairs == 12 and set(real.values()) == {3}  # each pair exactly 3 ratings
    by_rater = Counter(r for r, _, kind, _ in rows if kind == "real")
    checks = Counter(r for r, _, kind, _ in rows if kind == "check")
    assert all(checks[r] == 2 for r in by_rater)  # everyone who rated was checked


@pytest.fixture
def study_server(sqlite_engine, tmp_path):
    made = make_study(sqlite_engine, tmp_path, prompts=3, raters=2, checks=1)
    tokens = {scope: create_token(sqlite_engine, f"u-{scope}", [scope])[1]
              for scope in ("rate", "push", "admin")}
    with _server(sqlite_engine, per_minute=20) as srv:
        yield srv, made, tokens, sqlite_engine


def test_rate_api_checks_tokens_input_and_rate(study_server):
    srv, made, tokens, engine = study_server
    code = made["rate_url"].rsplit("/", 1)[1]
    url = f"{srv.url}/api/rate/{code}"
    rate = {"Authorization": f"Bearer {tokens['rate']}"}
    assert requests.post(url + "/next", timeout=30).status_code == 401
    assert requests.post(url + "/next", timeout=30, headers={
        "Authorization": f"Bearer {tokens['push']}"}).status_code == 403
    assert requests.post(f"{srv.url}/api/rate/nosuchstudy/next", headers=rate,
                         timeout=30).status_code == 404
    assert requests.post(f"{srv.url}/api/rate/bad%20code!/next", headers=rate,
                         timeout=30).status_code == 422
    shown = requests.post(url + "/next", headers=rate, timeout=30).json()
    for body in ({"assignment": shown["assignment"], "choice": "model"},
                 {"assignment": shown["assignment"]}, {"assignment": "x", "choice": "left"},
                 {"assignment": shown["assignment"], "choice": "left", "side": "reference"}):
        r = requests.post(url + "/submit", json=body, headers=rate, timeout=30)
        assert r.status_code == 422, (body, r.text)
    r = requests.post(url + "/submit", data="{oops", headers={**rate, "Content-Type":
                                                              "application/json"}, timeout=30)
    assert r.status_code == 400
    ok = requests.post(url + "/submit", json={"assignment": shown["assignment"],
                                              "choice": "equal"}, headers=rate, timeout=30)
    assert ok.status_code == 200 and ok.json()["stored"] is True
    limited = [requests.post(url + "/next", headers=rate, timeout=30).status_code
               for _ in range(20)]
    assert 429 in limited  # 20 writes a minute per token
    with read_session(engine) as s:
        assert s.scalar(select(func.count(Assignment.id)).where(
            Assignment.verdict.is_not(None))) == 1


def test_results_page_and_judge_panel(study_server, tmp_path):
    srv, made, tokens, engine = study_server
    results.add_judge_verdicts(engine, str(made["id"]), _verdicts(engine, tmp_path / "v.jsonl"))
    assert requests.get(f"{srv.url}/api/studies", timeout=30).status_code == 401
    listed = requests.get(f"{srv.url}/api/studies", timeout=30,
                          headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert listed.json()[0]["rate_url"] == made["rate_url"]
    build.close_study(engine, str(made["id"]))  # an open study's results are admin-only
    page = requests.get(f"{srv.url}/study/{made['id']}", timeout=30)
    assert page.status_code == 200
    for text in ("vicuna vs chatgpt", MODEL_FILE, REFERENCE_FILE, "equal or better",
                 "Fleiss", "judge-x with pairwise-v1"):
        assert text in page.text
    assert requests.get(f"{srv.url}/study/999", timeout=30).status_code == 404
    data = requests.get(f"{srv.url}/api/studies/{made['id']}", timeout=30).json()
    assert data["pairs"] == 3 and set(data["results"]) == {"all raters", "checked raters"}
    panel = requests.get(f"{srv.url}/judges", timeout=30).text
    assert "study: vicuna vs chatgpt" in panel and "judge-x" in panel


def test_open_study_results_do_not_tell_a_rater_the_sides(study_server, tmp_path):
    """While a study is open its live figures would tell a rater, after each rating, whether
    the side they chose was the model's (the win rate moves) and which models these are: on a
    public board too, only an admin token reads them (page, JSON, judge panel) until it closes;
    then they are public, naming the answer files without the server's paths."""
    srv, made, tokens, engine = study_server
    code, sid = made["rate_url"].rsplit("/", 1)[1], made["id"]
    rate = {"Authorization": f"Bearer {tokens['rate']}"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    shown = requests.post(f"{srv.url}/api/rate/{code}/next", headers=rate, timeout=30).json()
    requests.post(f"{srv.url}/api/rate/{code}/submit", headers=rate, timeout=30,
                  json={"assignment": shown["assignment"], "choice": "left"})
    for path in (f"/api/studies/{sid}", f"/study/{sid}"):
        assert requests.get(srv.url + path, timeout=30).status_code == 401, path
        assert requests.get(srv.url + path, headers=rate, timeout=30).status_code == 403, path
        assert requests.get(srv.url + path, headers=admin, timeout=30).status_code == 200, path
    verdicts = _verdicts(engine, tmp_path / "verdicts.jsonl")
    results.add_judge_verdicts(engine, str(sid), verdicts)
    assert "vicuna vs chatgpt" not in requests.get(f"{srv.url}/judges", timeout=30).text
    while not (shown := requests.post(f"{srv.url}/api/rate/{code}/next", headers=rate,
                                      timeout=30).json())["finished"]:  # checks included
        requests.post(f"{srv.url}/api/rate/{code}/submit", headers=rate, timeout=30,
                      json={"assignment": shown["assignment"], "choice": "equal"})
    build.close_study(engine, str(sid))
    data = requests.get(f"{srv.url}/api/studies/{sid}", timeout=30).json()
    assert (data["answers_file"], data["reference_file"]) == (MODEL_FILE, REFERENCE_FILE)
    assert "study: vicuna vs chatgpt" in requests.get(f"{srv.url}/judges", timeout=30).text
    # who rated and who failed a check: names for an admin, numbers for everyone else
    assert [c["rater"] for c in data["attention_checks"]] == ["rater 1"]
    assert "u-rate" not in requests.get(f"{srv.url}/study/{sid}", timeout=30).text
    named = requests.get(f"{srv.url}/api/studies/{sid}", headers=admin, timeout=30).json()
    assert [c["rater"] for c in named["attention_checks"]] == ["u-rate"]
    assert "u-rate" in requests.get(f"{srv.url}/study/{sid}", headers=admin, timeout=30).text


def _verdicts(engine, path):
    """A judge's verdicts on every real pair, as imitation-judge pairwise writes them."""
    with read_session(engine) as s:
        keys = list(s.scalars(select(StudyPair.key).where(StudyPair.kind == "real")))
    path.write_text("".join(json.dumps({"id": k, "outcome": "win", "judge": "judge-x",
                                        "prompt": "pairwise-v1"}) + "\n" for k in keys))
    return path
