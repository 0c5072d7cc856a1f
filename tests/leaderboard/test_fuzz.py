"""Schema-driven fuzzing of the whole app over real HTTP, on SQLite and on PostgreSQL: 0 server
errors allowed.

``test_every_route_survives_schemathesis``: schemathesis reads the server's /api/openapi.json
and generates, for EVERY operation in it (a route added later is fuzzed without editing this
file), requests that fit the schema and requests that break it (bodies, path and query
parameters), sent with an admin token to a board that already holds runs. Hypothesis runs
derandomized (the same cases on every run) and bounded (:data:`EXAMPLES` per operation and
mode). ``test_mutated_pushes_never_fail_the_server``: valid pushes with one node anywhere in
results / samples / card / config replaced by arbitrary JSON, where the schema-blind fuzzer
cannot reach. Each test prints how many cases it sent (shown in the CI log).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis  # the dev extra (pyproject.toml)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.settings import Settings
from leaderboard.testing_services import ServerThread
from tests.leaderboard.helpers import imitation, payload

# per operation and generation mode (positive: fits the schema; negative: breaks it), and the
# number of mutated pushes; a longer hunt: LB_FUZZ_EXAMPLES=500 LB_FUZZ_MUTATIONS=3000
EXAMPLES = int(os.environ.get("LB_FUZZ_EXAMPLES", "40"))
MUTATIONS = int(os.environ.get("LB_FUZZ_MUTATIONS", "120"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                print_blob=False)


@pytest.fixture
def board(engine):
    """A live server on the database under test, seeded with a base, a teacher and an
    imitation model (so pages and exports have rows, columns and gaps to compute), and an
    admin token (admin holds every scope)."""
    limits = Settings(db=str(engine.url), max_payload_mb=1.0, push_per_minute=1_000_000,
                      requests_per_minute=1_000_000, bootstrap_draws=50)
    token_id, token = create_token(engine, "fuzz-admin", ["admin"])
    with ServerThread(create_app(limits, engine)) as srv:
        auth = {"Authorization": f"Bearer {token}"}
        for body in (payload("base-b", seed=1, acc=(0.3, 0.4)),
                     payload("teacher-t", kind="teacher", seed=2, acc=(0.8, 0.9)),
                     imitation("imit-i", "base-b", "teacher-t", (0.5, 0.45), seed=3)):
            r = requests.post(srv.url + "/api/runs", json=body, headers=auth, timeout=60)
            assert r.status_code == 201, r.text
        yield srv, token_id, auth


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n{line}", flush=True)


def _fuzz_operation(operation: Any, mode: Any, call: Any) -> int:
    """Run the operation's strategy in one mode; the number of cases sent."""
    sent = [0]

    @FUZZ
    @given(operation.as_strategy(mode))
    def run(case: Any) -> None:
        sent[0] += 1
        call(case)

    try:
        run()
    except Unsatisfiable:  # nothing to break in this mode (an operation without inputs)
        pass
    return sent[0]


def test_every_route_survives_schemathesis(board, db_url, capsys):
    from schemathesis import GenerationMode

    srv, admin_id, auth = board
    spec = requests.get(srv.url + "/api/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    errors: list[str] = []
    statuses: Counter[int] = Counter()

    def call(case: Any) -> None:
        if (case.path_parameters or {}).get("token_id") == admin_id:
            case.path_parameters["token_id"] = admin_id + 1  # the fuzzer keeps its token
        response = case.call(base_url=srv.url, headers=auth, timeout=60)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(f"{case.operation.label}: {response.status_code} for "
                          f"{case.as_curl_command(headers={'Authorization': 'Bearer ...'})}"
                          f"\n  -> {response.text[:300]}")

    operations = [result.ok() for result in schema.get_all_operations()]
    cases = {op.label: sum(_fuzz_operation(op, mode, call) for mode in (
        GenerationMode.POSITIVE, GenerationMode.NEGATIVE)) for op in operations}
    database = db_url.split(":", 1)[0].split("+", 1)[0]
    _report(capsys, f"schemathesis on {database}: {sum(cases.values())} generated cases over "
                    f"{len(cases)} operations, {len(errors)} server errors; statuses "
                    f"{dict(sorted(statuses.items()))}")
    assert len(operations) >= 15 and all(n > 0 for n in cases.values()), cases
    assert not errors, "\n".join(errors[:20])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=30), inner,
                                                                max_size=4),
    max_leaves=8)


@st.composite
def mutated_push(draw: Any) -> tuple[str, dict[str, Any]]:
    """A valid imitation push with one node (anywhere below its top) replaced, or a key
    added to an object on the way (a new task, metric, sample field...)."""
    body = imitation("mut", "base-b", "teacher-t", (0.55, 0.5), seed=draw(st.integers(0, 3)))
    body["config"] = {"run_config": {"apply_chat_template": False},
                      "chat_template_tasks": {"imitation_mmlu": False}}
    body["samples"] = {task: rows[:5] for task, rows in body["samples"].items()}
    node: Any = body[draw(st.sampled_from(["results", "samples", "card", "config"]))]
    path = ""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        if isinstance(node, dict) and draw(st.integers(0, 5)) == 0:
            key = draw(st.text(max_size=40))
            node[key] = draw(JSON)
            path += f".{key}(new)"
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
            node[key] = draw(JSON)
            path += f".{key}"
            break
        node, path = child, f"{path}.{key}"
    return path, body


def test_mutated_pushes_never_fail_the_server(board, db_url, capsys):
    srv, _, auth = board
    statuses: Counter[int] = Counter()
    errors: list[str] = []

    @settings(max_examples=MUTATIONS, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
              print_blob=False)
    @given(mutated_push())
    def push(mutation: tuple[str, dict[str, Any]]) -> None:
        path, body = mutation
        r = requests.post(srv.url + "/api/runs", data=json.dumps(body), timeout=60,
                          headers=auth | {"Content-Type": "application/json"})
        statuses[r.status_code] += 1
        if r.status_code >= 500:
            errors.append(f"{path}: {r.status_code} {r.text[:200]}")
        elif r.status_code in (400, 422):
            assert r.json()["detail"], path  # a refusal says what was wrong

    push()
    database = db_url.split(":", 1)[0].split("+", 1)[0]
    _report(capsys, f"mutated pushes on {database}: {sum(statuses.values())} cases, "
                    f"{len(errors)} server errors; statuses {dict(sorted(statuses.items()))}")
    assert not errors, "\n".join(errors[:20])
    assert statuses[201] and (statuses[422] or statuses[400])  # both kinds were exercised
