"""The HTTP API on a real uvicorn server (127.0.0.1): tokens and scopes, revocation, payload
limits and validation, duplicates, rate limits, exports, and escaping of hostile names."""

from __future__ import annotations

import json

import requests

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.settings import Settings
from leaderboard.testing_services import ServerThread
from tests.leaderboard.helpers import imitation, payload

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def post(server, path, body, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url + path, json=body, headers=headers, timeout=60, **kw)


def test_push_needs_a_valid_unrevoked_token_with_push_scope(server, tokens, sqlite_engine):
    body = payload("m", seed=1)
    assert post(server, "/api/runs", body).status_code == 401
    r = post(server, "/api/runs", body, token="lb_wrong")
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"
    r = requests.post(server.url + "/api/runs", json=body, timeout=30,
                      headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = post(server, "/api/runs", body, token=tokens["read"])
    assert r.status_code == 403 and "push" in r.json()["detail"]
    token_id, token = create_token(sqlite_engine, "carol", ["push"])
    r = requests.delete(f"{server.url}/api/tokens/{token_id}", timeout=30,
                        headers={"Authorization": f"Bearer {tokens['push']}"})
    assert r.status_code == 403  # revoking needs admin
    r = requests.delete(f"{server.url}/api/tokens/{token_id}", timeout=30,
                        headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert r.status_code == 200
    r = post(server, "/api/runs", body, token=token)
    assert r.status_code == 403 and "revoked" in r.json()["detail"]
    r = post(server, "/api/runs", body, token=tokens["push"])
    assert r.status_code == 201 and r.json()["status"] == "verified"


def test_tokens_are_stored_hashed_and_listed_without_text(server, tokens, sqlite_engine):
    from sqlalchemy import select

    from leaderboard.db import read_session
    from leaderboard.models import Token

    with read_session(sqlite_engine) as s:
        hashes = s.scalars(select(Token.token_hash)).all()
    assert all(t not in hashes for t in tokens.values())
    r = requests.get(server.url + "/api/tokens", timeout=30,
                     headers={"Authorization": f"Bearer {tokens['admin']}"})
    listed = json.dumps(r.json())
    assert r.status_code == 200 and all(t not in listed for t in tokens.values())
    r = post(server, "/api/tokens", {"user": "dave", "scopes": ["push"]}, token=tokens["admin"])
    assert r.status_code == 201 and r.json()["token"].startswith("lb_")
    assert post(server, "/api/runs", payload("d", seed=9), token=r.json()["token"]
                ).status_code == 201


def test_oversized_and_malformed_payloads_get_a_4xx_with_a_message(server, tokens):
    auth = {"Authorization": f"Bearer {tokens['push']}", "Content-Type": "application/json"}
    big = json.dumps({"model": {"name": "m", "kind": "base"}, "results": {"x": "y" * 1_100_000}})
    r = requests.post(server.url + "/api/runs", data=big, headers=auth, timeout=60)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = requests.post(server.url + "/api/runs", data="{not json", headers=auth, timeout=30)
    assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
    r = requests.post(server.url + "/api/runs", data="{}", timeout=30,
                      headers={"Authorization": auth["Authorization"],
                               "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = post(server, "/api/runs", {"model": {"name": "m", "kind": "wizard"}, "results": {},
                                   "extra": 1}, token=tokens["push"])
    assert r.status_code == 422
    detail = " | ".join(r.json()["detail"])
    assert "model.kind" in detail and "extra" in detail
    body = payload("m", seed=2)
    body["results"]["results"]["imitation_mmlu"]["acc,none"] = float("nan")
    r = requests.post(server.url + "/api/runs", timeout=30, headers=auth,
                      data=json.dumps(body))  # NaN is not JSON: refused as malformed or invalid
    assert r.status_code in (400, 422) and r.json()["detail"]
    body = payload("m", seed=3)
    body["results"]["n-shot"]["imitation_mmlu"] = "five"
    r = post(server, "/api/runs", body, token=tokens["push"])
    assert r.status_code == 422 and "n-shot.imitation_mmlu" in r.json()["detail"][0]
    r = post(server, "/api/runs", imitation("i", "b", "t", (0.1, 0.2), 4) | {"card": {
        "base_model": "b", "token_budget": "lots"}}, token=tokens["push"])
    assert r.status_code == 422 and "card.token_budget" in r.json()["detail"][0]


def test_duplicate_push_is_409_with_the_stored_run(server, tokens):
    body = payload("m", seed=5)
    first = post(server, "/api/runs", body, token=tokens["push"])
    again = post(server, "/api/runs", body, token=tokens["push"])
    assert first.status_code == 201 and again.status_code == 409
    assert again.headers["X-Run-Id"] == str(first.json()["run_id"])


def test_push_rate_limit_per_token(sqlite_engine, tokens):
    settings = Settings(db=str(sqlite_engine.url), push_per_minute=2)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        codes = [post(srv, "/api/runs", payload("m", seed=20 + k), token=tokens["push"]
                      ).status_code for k in range(3)]
        limited = post(srv, "/api/runs", payload("m", seed=30), token=tokens["push"])
    assert codes == [201, 201, 429]
    assert int(limited.headers["Retry-After"]) >= 1


def test_every_write_route_is_rate_limited(sqlite_engine, tokens):
    """Judge-agreement reports too (70 identical pushes were all stored before)."""
    report = {"dataset": "pandalm", "judge": "gpt-4 / pairwise v1",
              "judge_vs_majority": {"n": 999, "agreement_with_ties": 0.62}}
    settings = Settings(db=str(sqlite_engine.url), push_per_minute=2)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        codes = [post(srv, "/api/judge-agreement", report, token=tokens["push"]).status_code
                 for _ in range(4)]
    assert codes == [201, 201, 429, 429]


def test_private_mode_needs_a_read_token(sqlite_engine, tokens):
    settings = Settings(db=str(sqlite_engine.url), public_read=False)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        assert requests.get(srv.url + "/api/leaderboard.json", timeout=30).status_code == 401
        r = requests.get(srv.url + "/api/leaderboard.json", timeout=30,
                         headers={"Authorization": f"Bearer {tokens['read']}"})
        assert r.status_code == 200


def test_hostile_names_are_escaped_on_every_page(server, tokens, tmp_path, sqlite_engine):
    sql = "x'); DROP TABLE models; --"
    for body in (payload(XSS, seed=40), payload("teacher", kind="teacher", seed=41,
                                                acc=(0.9, 0.9)),
                 imitation(sql, XSS, "teacher", (0.5, 0.6), 42)):
        assert post(server, "/api/runs", body, token=tokens["push"]).status_code == 201
    from urllib.parse import quote

    cols = [c["id"] for c in requests.get(server.url + "/api/leaderboard.json",
                                          timeout=30).json()["columns"]]
    pages = ["/", "/scaling", f"/style?x={cols[0]}&y={cols[1]}", "/judges",
             f"/model/{quote(XSS, safe='')}",
             f"/model/{quote(sql, safe='')}"]
    for page in pages:
        r = requests.get(server.url + page, timeout=30)
        assert r.status_code == 200, page
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, page
        assert "&lt;script&gt;alert" in r.text or page in ("/judges",), page
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert sql.replace("'", "&#39;") in requests.get(server.url + "/", timeout=30).text
    from leaderboard.export import export_html

    files = export_html(sqlite_engine, tmp_path / "site", draws=100)
    for f in files:
        if f.suffix == ".html":
            text = f.read_text()
            assert "<script>alert" not in text and "<img src=x" not in text, f
    assert XSS in requests.get(server.url + "/api/leaderboard.json", timeout=30).text or \
        json.dumps(XSS)[1:-1] in requests.get(server.url + "/api/leaderboard.json",
                                               timeout=30).text


def test_csv_cells_cannot_run_as_spreadsheet_formulas(server, tokens):
    assert post(server, "/api/runs", payload("=HYPERLINK(\"http://x\")", seed=50),
                token=tokens["push"]).status_code == 201
    text = requests.get(server.url + "/api/leaderboard.csv", timeout=30).text
    assert "\n'=HYPERLINK" in text or "\n\"'=HYPERLINK" in text
    # only text cells are guarded: empty cells stay empty, numeric columns load as numbers
    import io

    import pandas as pd

    frame = pd.read_csv(io.StringIO(text))
    for column in ("score", "stderr", "n", "delta", "gap_closed", "gap_low", "gap_high"):
        assert pd.api.types.is_numeric_dtype(frame[column]), column
    assert ",'," not in text and not text.rstrip().endswith("'")


def test_published_teacher_numbers_show_their_source(server, tokens):
    body = {"model": {"name": "gpt-3.5-turbo", "kind": "teacher"},
            "source": "Gudibande et al. 2023, Table 1",
            "scores": [{"task": "imitation_nq_open_0shot", "metric": "acc", "value": 0.31,
                        "n": 3610, "harness_version": "lm-eval 0.4.13"}]}
    r = post(server, "/api/published", body, token=tokens["push"])
    assert r.status_code == 201 and r.json()["status"] == "published"
    board = requests.get(server.url + "/api/leaderboard.json", timeout=30).json()
    row = next(x for x in board["rows"] if x["model"] == "gpt-3.5-turbo")
    assert row["source"] == "published: Gudibande et al. 2023, Table 1"
    page = requests.get(server.url + "/", timeout=30).text
    assert "published: Gudibande et al. 2023, Table 1" in page
    # the same identity as a suite run of that task: it shares the column
    assert post(server, "/api/runs", payload("b", seed=60), token=tokens["push"]
                ).status_code == 201
    board = requests.get(server.url + "/api/leaderboard.json", timeout=30).json()
    nq = [c for c in board["columns"] if c["task"] == "imitation_nq_open_0shot"]
    assert len(nq) == 1


def test_chunked_oversized_body_and_address_rate_limit(sqlite_engine, tokens):
    settings = Settings(db=str(sqlite_engine.url), max_payload_mb=0.5, requests_per_minute=5)
    with ServerThread(create_app(settings, sqlite_engine)) as srv:
        def chunks():  # no Content-Length: the server counts while it reads
            yield b'{"model": {"name": "m", "kind": "base"}, "results": {"x": "'
            for _ in range(80):
                yield b"y" * 10_000
            yield b'"}}'

        r = requests.post(srv.url + "/api/runs", data=chunks(), timeout=60, headers={
            "Authorization": f"Bearer {tokens['push']}", "Content-Type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        codes = [requests.get(srv.url + "/api/leaderboard.json", timeout=30).status_code
                 for _ in range(6)]
        assert codes[-1] == 429 and codes.count(200) == 4  # 5 per minute, the POST included
        assert requests.get(srv.url + "/", timeout=30).status_code == 200  # pages unaffected


def test_openapi_describes_the_request_bodies_and_the_token(server):
    spec = requests.get(server.url + "/api/openapi.json", timeout=30).json()
    bodies = {(path, method): op["requestBody"]["content"]["application/json"]["schema"]
              for path, ops in spec["paths"].items() for method, op in ops.items()
              if "requestBody" in op}
    assert {k: v["title"] for k, v in bodies.items()} == {
        ("/api/runs", "post"): "PushPayload", ("/api/published", "post"): "PublishedPayload",
        ("/api/judge-agreement", "post"): "AgreementPayload",
        ("/api/tokens", "post"): "TokenCreate", ("/api/rate/{code}/submit", "post"): "Rating"}
    push = bodies[("/api/runs", "post")]
    assert push["properties"]["model"]["properties"]["kind"]["enum"] == [
        "base", "imitation", "teacher"]  # nested models inlined: no dangling $ref
    assert "$ref" not in json.dumps(list(bodies.values()))
    assert spec["paths"]["/api/runs"]["post"]["security"] == [{"HTTPBearer": []}]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_token_is_checked_before_the_body_is_read(server, tokens):
    big = "x" * 1_100_000  # over the 1 MB limit, and not JSON
    for token, code in ((None, 401), (tokens["read"], 403), (tokens["push"], 413)):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.post(server.url + "/api/runs", data=big, headers=headers, timeout=60)
        assert r.status_code == code


def test_the_rate_limiter_forgets_idle_clients_and_still_limits():
    """Every new client address used to be remembered for ever (memory grew with each one)."""
    from leaderboard.auth import RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    for i in range(500):
        assert limiter.check(f"10.0.{i // 250}.{i % 250}") == 0.0
    assert limiter.check("busy") == 0.0 and limiter.check("busy") == 0.0
    assert limiter.check("busy") > 0  # the limit holds
    assert len(limiter) == 501
    now[0] = 59.0
    assert abs(limiter.check("busy") - 1.0) < 1e-9  # nothing swept before a minute
    now[0] = 61.0
    assert limiter.check("late") == 0.0
    assert len(limiter) == 1  # all idle for a minute: forgotten, only the new key left
    assert limiter.check("late") == 0.0 and limiter.check("late") > 0
