"""Every malformed payload gets a 4xx naming the field, never a 5xx, on SQLite and on PostgreSQL
over real HTTP: wrong nested types in results.json's sections, oversized numbers and strings,
NaN/Infinity anywhere, duplicate sample ids, deep nesting, wrong content type, bodies that are
not UTF-8. And every write route of the app is rate-limited (a new route without a limit fails
``test_every_write_route_is_rate_limited``)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable

import pytest
import requests

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.settings import Settings
from leaderboard.testing_services import ServerThread
from tests.leaderboard.helpers import imitation, payload

TASK = "imitation_mmlu"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def live(engine):
    """A server on SQLite or PostgreSQL (the ``engine`` fixture) and a push token."""
    settings = Settings(db=str(engine.url), max_payload_mb=1.0, push_per_minute=10_000,
                        requests_per_minute=100_000, bootstrap_draws=50)
    token = create_token(engine, "pusher", ["push"])[1]
    with ServerThread(create_app(settings, engine)) as srv:
        yield srv, token


def send(srv, path: str, body: Any, token: str, raw: str | bytes | None = None,
         content_type: str = "application/json") -> requests.Response:
    data = raw if raw is not None else json.dumps(body)
    return requests.post(srv.url + path, data=data, timeout=60, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type})


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: the value at a dotted path (``results.configs.<task>``) replaced."""
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split("|")
        node = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return mutate


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


def _chain(groups: int) -> dict[str, list[str]]:
    return {f"g{k}": [f"g{k + 1}"] for k in range(groups)}


R = f"results|results|{TASK}"
# (mutation of a valid imitation push, the text its 4xx must hold): the field it names
PUSH_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("configs not an object", _set("results|configs", [1]), "results.configs"),
    ("a task config not an object", _set(f"results|configs|{TASK}", "x"),
     f"results.configs.{TASK}"),
    ("metric_list not a list", _set(f"results|configs|{TASK}|metric_list", {"a": 1}),
     f"results.configs.{TASK}.metric_list"),
    ("versions a list", _set("results|versions", [1]), "results.versions must be an object"),
    ("results a string", _set("results|results", "x"), "results.results must be an object"),
    ("no score at all", _set("results|results", {TASK: {"alias": "x"}}),
     "results.results holds no score"),
    ("version an object", _set(f"results|versions|{TASK}", {"v": 1}),
     f"results.versions.{TASK}"),
    ("version too long", _set(f"results|versions|{TASK}", "v" * 51), f"results.versions.{TASK}"),
    ("n-samples not an object", _set("results|n-samples", [1]), "results.n-samples"),
    ("n-samples entry a number", _set(f"results|n-samples|{TASK}", 5),
     f"results.n-samples.{TASK}"),
    ("n-samples beyond INTEGER", _set(f"results|n-samples|{TASK}|effective", 2**40),
     f"results.n-samples.{TASK}.effective"),
    ("higher_is_better a string", _set("results|higher_is_better", "yes"),
     "results.higher_is_better"),
    ("higher_is_better entry a list", _set(f"results|higher_is_better|{TASK}", [1]),
     f"results.higher_is_better.{TASK}"),
    ("higher_is_better flag a string", _set(f"results|higher_is_better|{TASK}|acc", "no"),
     f"results.higher_is_better.{TASK}.acc"),
    ("n-shot huge", _set(f"results|n-shot|{TASK}", 10**6), f"results.n-shot.{TASK}"),
    ("score oversized", _set(f"{R}|acc,none", 1e300), f"{R.replace('|', '.')}.acc,none"),
    ("stderr oversized", _set(f"{R}|acc_stderr,none", 1e300), "acc_stderr"),
    ("metric name too long", _set(f"{R}|{'m' * 101},none", 0.5), "metric name"),
    ("filter name with NUL", _set(f"{R}|acc,x\u0000y", 0.5), "filter name"),
    ("task name with NUL", _set("results|results|bad\u0000task", {"acc,none": 0.5}),
     "task name"),
    ("sample_len beyond INTEGER", lambda b: (b["results"].pop("n-samples"), _set(
        f"{R}|sample_len", 2**40)(b)), f"results.results.{TASK}.sample_len"),
    ("group member an object", _set("results|group_subtasks", {"g": [{"a": 1}]}),
     "results.group_subtasks"),
    ("groups nested 40 deep", _set("results|group_subtasks", _chain(40)), "nest deeper"),
    ("harness version too long", _set("results|lm_eval_version", "9" * 120),
     "results.lm_eval_version"),
    ("duplicate sample id", _set(f"samples|{TASK}|1|doc_id", 0),
     f"samples.{TASK}[1].doc_id: duplicate sample id 0"),
    ("sample id beyond INTEGER", _set(f"samples|{TASK}|0|doc_id", 2**40),
     f"samples.{TASK}[0].doc_id"),
    ("samples not a list", _set(f"samples|{TASK}", {"a": 1}), f"samples.{TASK}"),
    ("sample task name with NUL", lambda b: b["samples"].update(
        {"bad\u0000task": [{"doc_id": 0, "acc": 1}]}), "samples: task name"),
    ("group member with NUL", _set("results|group_subtasks", {TASK: ["x\u0000y"]}),
     "results.group_subtasks"),  # both named in the run's stored detail: 500s on PostgreSQL
    ("sample doc_hash with NUL", _set(f"samples|{TASK}|0|doc_hash", "a\u0000b"),
     f"samples.{TASK}[0].doc_hash"),  # stored (Item.doc_hash): PostgreSQL refuses NUL
    ("sample score oversized", _set(f"samples|{TASK}|2|acc", 1e308), f"samples.{TASK}[2].acc"),
    ("card base too long", _set("card|base_model", "b" * 201), "card.base_model"),
    ("card data kind too long", _set("card|data_kind", "k" * 201), "card.data_kind"),
    ("card data sources too long", lambda b: (b["card"].pop("data_kind"), _set(
        "card|data_sources", ["s" * 50] * 10)(b)), "card.data_sources"),
    ("run_config a list", lambda b: b.update(config={"run_config": [1]}), "config.run_config"),
    ("nesting 100 deep", _set("card|deep", _nested(50)), "nested deeper than 64"),
]
# (raw JSON text spliced into a valid push at a marker, the text its 4xx must hold)
RAW_CASES = [
    ("NaN in a score", f'"{R}|acc,none"', "NaN", f"results.results.{TASK}.acc,none"),
    ("Infinity in a card", '"card|tokens_note"', "-Infinity", "card.tokens_note"),
    ("NaN in a config", '"config|x"', "NaN", "config.x"),
    ("NaN in a sample", f'"samples|{TASK}|0|acc"', "NaN", f"samples.{TASK}[0].acc"),
    ("NaN in a date", '"card|created"', "NaN", "card.created"),
    ("Infinity as the run's date", '"results|date"', "Infinity", "results.date"),
    ("a float that overflows", f'"{R}|acc,none"', "1e999", "overflows a float"),
    ("an int beyond 64 bits", '"card|token_budget"', str(2**64), "card.token_budget"),
    ("an int of 5000 digits", '"card|token_budget"', "9" * 5000, "beyond 64 bits"),
    ("a lone surrogate", '"card|note"', '"\\ud800x"', "card.note"),
]


def _raw_body(marker: str, literal: str) -> str:
    body = imitation("raw", "base-b", "teacher-t", (0.4, 0.6), seed=7) | {"config": {}}
    _set(marker.strip('"'), "@@MARK@@")(body)
    return json.dumps(body).replace('"@@MARK@@"', literal)


def test_malformed_pushes_are_4xx_naming_the_field(live):
    srv, token = live
    assert send(srv, "/api/runs", imitation("ok", "base-b", "teacher-t", (0.4, 0.6), 3), token
                ).status_code == 201  # the payload every case breaks is valid
    for name, mutate, field in PUSH_CASES:
        body = imitation("m", "base-b", "teacher-t", (0.4, 0.6), seed=5)
        mutate(body)
        r = send(srv, "/api/runs", body, token)
        assert r.status_code in (400, 413, 422), (name, r.status_code, r.text[:300])
        assert field in json.dumps(r.json()["detail"], ensure_ascii=False) or field in " ".join(
            r.json()["detail"]), (name, r.json()["detail"])
    for name, marker, literal, field in RAW_CASES:
        r = send(srv, "/api/runs", None, token, raw=_raw_body(marker, literal))
        assert r.status_code == 422, (name, r.status_code, r.text[:300])
        assert field in r.json()["detail"][0], (name, r.json()["detail"])


def test_bodies_that_are_not_json_are_4xx(live):
    srv, token = live
    good = json.dumps(payload("m", seed=1))
    cases = [("not UTF-8", good.encode("utf-8")[:-1] + b"\xff}", "application/json", 400,
              "not UTF-8"),
             ("UTF-16", good.encode("utf-16"), "application/json", 400, "not UTF-8"),
             ("text/plain", good, "text/plain", 415, "Content-Type"),
             ("no content type", good, "", 415, "Content-Type"),
             ("a form", "a=1", "application/x-www-form-urlencoded", 415, "Content-Type"),
             ("nested 100000 deep", "[" * 100_000 + "]" * 100_000, "application/json", 422,
              "nested deeper"),
             ("truncated", good[:-5], "application/json", 400, "malformed JSON at line 1")]
    for name, data, kind, status, text in cases:
        r = send(srv, "/api/runs", None, token, raw=data, content_type=kind)
        assert r.status_code == status, (name, r.status_code, r.text[:200])
        assert text in json.dumps(r.json()["detail"]), (name, r.json())


def _published(**score: Any) -> dict[str, Any]:
    return {"model": {"name": "gpt-x", "kind": "teacher"}, "source": "a paper, Table 1",
            "scores": [{"task": TASK, "metric": "acc", "value": 0.7,
                        "harness_version": "lm-eval 0.4", **score}]}


def test_published_agreement_and_token_bodies_are_4xx_naming_the_field(live, engine):
    srv, token = live
    twice = _published()
    twice["scores"].append(dict(twice["scores"][0], value=0.1))
    report = {"dataset": "pandalm", "judge": "gpt-4 with pairwise v1",
              "judge_vs_majority": {"n": 99, "agreement_with_ties": 0.6}}
    cases = [("/api/published", twice, "scores[1] has the identity of scores[0]"),
             ("/api/published", _published(n=2**40), "scores.0.n"),
             ("/api/published", _published(value=1e300), "scores.0.value"),
             ("/api/published", _published(stderr=1e300), "scores.0.stderr"),
             ("/api/published", _published(filter="a\u0000b"), "scores.0.filter"),
             ("/api/published", _published(judge_model="j" * 201), "scores.0.judge_model"),
             ("/api/judge-agreement", report | {"dataset": "p\u0000"}, "dataset"),
             ("/api/judge-agreement", report | {"judge_vs_majority": {"cohen_kappa": "high"}},
              "judge_vs_majority.cohen_kappa"),
             ("/api/judge-agreement", report | {"judge_vs_majority": {"n": 1e300}},
              "judge_vs_majority.n"),
             ("/api/judge-agreement", report | {"human_vs_human_mean": "most"},
              "human_vs_human_mean")]
    for path, body, field in cases:
        r = send(srv, path, body, token)
        assert r.status_code == 422 and field in " ".join(r.json()["detail"]), (path, r.text)
    raw = json.dumps(report).replace('"n": 99', '"n": NaN')
    r = send(srv, "/api/judge-agreement", None, token, raw=raw)
    assert r.status_code == 422 and "judge_vs_majority.n" in r.json()["detail"][0]
    raw = json.dumps(_published()).replace('"value": 0.7', '"value": -Infinity')
    r = send(srv, "/api/published", None, token, raw=raw)
    assert r.status_code == 422 and "scores[0].value: -Infinity" in r.json()["detail"][0]
    assert send(srv, "/api/published", _published(), token).status_code == 201
    assert send(srv, "/api/judge-agreement", report, token).status_code == 201
    admin = create_token(engine, "root", ["admin"])[1]
    r = send(srv, "/api/tokens", {"user": "u", "scopes": ["read"] * 9}, admin)
    assert r.status_code == 422 and "scopes" in r.json()["detail"][0]
    for method, path in (("delete", "/api/tokens/99999999999999999999999"),
                         ("get", "/api/runs/99999999999999999999999"),
                         ("get", f"/api/runs/{2**31}")):
        r = requests.request(method, srv.url + path, timeout=30,
                             headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 422, (path, r.status_code, r.text[:200])


def _fill(path: str, spec: dict[str, Any], method: str) -> str:
    """``path`` with each path parameter set to a value its schema accepts."""
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    kinds = {p["name"]: p.get("schema", {}).get("type") for p in op.get("parameters", [])
             if p.get("in") == "path"}
    def value(match: re.Match[str]) -> str:  # an id nothing has (no token revokes itself)
        return str(2**31 - 1) if kinds.get(match.group(1)) == "integer" else "abcdefgh12"

    return re.sub(r"\{(\w+)(:\w+)?\}", value, path)


def _routes(app) -> list[Any]:  # noqa: ANN001
    """Every route of the app, through included routers (FastAPI >= 0.160 nests them)."""
    from fastapi import routing

    if hasattr(routing, "iter_route_contexts"):
        return [context.route for context in routing.iter_route_contexts(app.router.routes)]
    return list(app.routes)


def test_every_write_route_is_rate_limited(sqlite_engine):
    """Each POST/PUT/PATCH/DELETE route of the app, with a fresh admin token (admin holds every
    scope) and --push-per-minute 2: the third request within the minute is a 429, whatever the
    first two answered (a route without a per-token limit fails here)."""
    settings = Settings(db=str(sqlite_engine.url), push_per_minute=2,
                        requests_per_minute=100_000)
    app = create_app(settings, sqlite_engine)
    routes = sorted({(method, route.path) for route in _routes(app)
                     for method in getattr(route, "methods", None) or () if method in WRITES})
    assert len(routes) >= 5, routes  # runs, published, judge-agreement, tokens (2)...
    with ServerThread(app) as srv:
        spec = requests.get(srv.url + "/api/openapi.json", timeout=30).json()
        for method, path in routes:
            token = create_token(sqlite_engine, f"admin-{len(path)}", ["admin"])[1]
            url = srv.url + _fill(path, spec, method)
            codes = [requests.request(method, url, data="{}", timeout=30, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            ).status_code for _ in range(3)]
            assert codes[-1] == 429 and 429 not in codes[:2], (method, path, codes)
            assert all(c < 500 for c in codes), (method, path, codes)


def test_every_write_body_is_described_in_openapi(server):
    """A write route whose handler reads a JSON body declares it (typed, inlined)."""
    spec = requests.get(server.url + "/api/openapi.json", timeout=30).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            assert schema.get("properties") and "$ref" not in json.dumps(schema), (path, method)
            assert op.get("security"), (path, method)  # every body is behind a token
    for path in ("/api/runs", "/api/published", "/api/judge-agreement", "/api/tokens"):
        assert "requestBody" in spec["paths"][path]["post"], path
    app = create_app(Settings(db="sqlite:///:memory:"))  # its routes, as the server has them
    for route in _routes(app):  # a route that reads a body (deps.json_body) declares it
        for method in (getattr(route, "methods", None) or set()) & WRITES:
            bodies = [n[:-len("_body")] for n in _dependency_names(route.dependant)
                      if n.endswith("_body")]
            declared = spec["paths"][re.sub(r":\w+\}", "}", route.path)][method.lower()]
            if bodies:
                schema = declared["requestBody"]["content"]["application/json"]["schema"]
                assert schema["title"] == bodies[0], (method, route.path)


def _dependency_names(dependant: Any) -> list[str]:
    out = []
    for sub in dependant.dependencies:
        out.append(getattr(sub.call, "__name__", ""))
        out.extend(_dependency_names(sub))
    return out


def test_limits_match_the_columns():
    """The text limits applied before the database are the column sizes (leaderboard.models),
    so SQLite (which would store anything) and PostgreSQL refuse the same pushes."""
    from leaderboard.models import Benchmark, Checkpoint, Model
    from leaderboard.parse import LIMITS
    from leaderboard.schemas import ModelSpec, PublishedScore

    for field, size in LIMITS.items():
        assert Benchmark.__table__.c[field].type.length == size, field
    fields = PublishedScore.model_fields
    for name in ("task", "metric", "filter", "task_version", "judge_model", "judge_prompt",
                 "harness_version"):
        declared = [m.max_length for m in fields[name].metadata if hasattr(m, "max_length")]
        assert declared == [Benchmark.__table__.c[name].type.length], name
    assert [m.max_length for m in ModelSpec.model_fields["name"].metadata
            if hasattr(m, "max_length")] == [Model.__table__.c["name"].type.length]
    # parse.check_card: the card's base/teacher names and data kind
    assert Model.__table__.c["name"].type.length == 200
    assert Checkpoint.__table__.c["data_kind"].type.length == 200


def test_strict_json_names_the_field_of_each_refusal():
    from leaderboard.parse import PayloadError
    from leaderboard.strict_json import MalformedJSON, loads

    assert loads('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for text, field in (('{"a": {"b": [0, NaN]}}', "a.b[1]"), ('{"a": Infinity}', "a"),
                        ('{"a": [1e400]}', "a[0]"), ('{"x": 18446744073709551616}', "x"),
                        ('{"k": "\\udc00"}', "k")):
        with pytest.raises(PayloadError, match=re.escape(field) + ":"):
            loads(text)
    with pytest.raises(PayloadError, match="nested deeper than 64"):
        loads(json.dumps(_nested(40)))
    with pytest.raises(MalformedJSON, match="not UTF-8"):
        loads(b'{"a": "\xc3("}')
    assert loads(json.dumps(copy.deepcopy(_nested(31))))  # 62 levels: allowed


def test_the_push_command_refuses_nan_in_a_file_naming_file_and_field(tmp_path, capsys):
    """``imitation-leaderboard push`` reads files with the same strict JSON as the server (a
    NaN in a card stored on SQLite broke GET /api/runs/<id> later): one line, exit 2."""
    from leaderboard.cli import main
    from tests.support.careless import assert_refused

    body = imitation("cli-m", "base-b", "teacher-t", (0.4, 0.6), seed=9)
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(body["results"]))
    (run / "imitation_card.json").write_text(json.dumps(body["card"])[:-1] + ', "lr": NaN}')
    (run / "deep.json").write_text(json.dumps(_nested(40)))
    assert_refused(main, ["push", "run", "--db", "lb.sqlite"], tmp_path, capsys,
                   ["run/imitation_card.json: lr: NaN is not a number JSON allows"])
    assert_refused(main, ["push", "run", "--card", "run/deep.json", "--db", "lb.sqlite"],
                   tmp_path, capsys, ["run/deep.json", "nested deeper than 64"])


def test_gap_closed_that_overflows_is_na_not_a_server_error(server, tokens):
    """Base and teacher 1e-300 apart: the share overflows a float; the row says n/a."""
    auth = {"Authorization": f"Bearer {tokens['push']}"}
    for name, kind, value, extra in (("B", "base", 1e-300, {}), ("T", "teacher", 2e-300, {}),
                                     ("I", "imitation", 1e15, {"base": "B", "teacher": "T"})):
        body = {"model": {"name": name, "kind": kind, **extra}, "source": "a table",
                "scores": [{"task": "t", "metric": "acc", "value": value,
                            "harness_version": "h"}]}
        assert requests.post(server.url + "/api/published", json=body, headers=auth,
                             timeout=30).status_code == 201
    r = requests.get(server.url + "/api/leaderboard.json", timeout=30)
    assert r.status_code == 200
    cell = next(x for x in r.json()["rows"] if x["model"] == "I")["scores"]
    [entry] = cell.values()
    assert entry["gap_closed"] is None and "too close" in entry["gap_note"]
    for path in ("/", "/api/leaderboard.csv", "/model/I"):
        assert requests.get(server.url + path, timeout=30).status_code == 200, path
