"""Leaderboard integrity over real HTTP (uvicorn on 127.0.0.1) on SQLite and PostgreSQL: model
ownership (a takeover is refused with 403, an admin may; a base or teacher row is never
re-pointed by a non-owner), versioned lineage cards with their history on the page and in the
API, the verified / unverified (with the reason) / flagged rules, the migration of a database
with data to owners and card versions, and the CLI's local push (user "local")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from leaderboard.app import create_app
from leaderboard.auth import create_token
from leaderboard.settings import Settings
from leaderboard.synthetic import card
from leaderboard.testing_services import ServerThread
from tests.leaderboard.helpers import imitation, payload


@pytest.fixture
def board(engine):
    """A server on the parametrised engine and three users' tokens: alice and bob (push),
    root (admin)."""
    settings = Settings(db=str(engine.url), push_per_minute=1000, requests_per_minute=10_000,
                        bootstrap_draws=100)
    tokens = {user: create_token(engine, user, [scope])[1]
              for user, scope in (("alice", "push"), ("bob", "push"), ("root", "admin"))}
    with ServerThread(create_app(settings, engine)) as srv:
        yield srv, tokens


def post(srv, token, body, path="/api/runs"):
    return requests.post(srv.url + path, json=body, timeout=60,
                         headers={"Authorization": f"Bearer {token}"})


def get(srv, path):
    r = requests.get(srv.url + path, timeout=60)
    assert r.status_code == 200, (path, r.text[:300])
    return r.json() if path.startswith("/api/") else r.text


def test_a_takeover_is_refused_and_an_admin_may(board):
    srv, tok = board
    assert post(srv, tok["alice"], imitation("alice-imi", "alice-base", "gpt", (0.3, 0.5), 1)
                ).status_code == 201
    before = get(srv, "/api/models/alice-imi")
    assert before["owner"] == "alice" and before["card_version"] == 1
    hijack = imitation("alice-imi", "bob-base", "bob-teacher", (0.9, 0.9), 2, tokens=1)
    r = post(srv, tok["bob"], hijack)
    assert r.status_code == 403
    assert r.json()["detail"].startswith("model 'alice-imi' belongs to alice, not bob")
    assert get(srv, "/api/models/alice-imi") == before  # card, base, teacher, runs unchanged
    for name in ("nobody", "x%00y", "y" * 300, "%C3%A9%E2%80%8B%F0%9F%98%80", "z%7F"):
        for route in ("/api/models/", "/model/"):  # no database error on PostgreSQL (NUL)
            assert requests.get(f"{srv.url}{route}{name}", timeout=30).status_code == 404
    for body, path in ((payload("alice-base", seed=3), "/api/runs"),  # her base row
                       ({"model": {"name": "gpt", "kind": "teacher"}, "source": "a paper",
                         "scores": [{"task": "imitation_mmlu", "metric": "acc", "value": 0.9,
                                     "harness_version": "lm-eval 0.4.13"}]}, "/api/published")):
        r = post(srv, tok["bob"], body, path)
        assert r.status_code == 403 and "belongs to alice" in r.json()["detail"], path
    board_rows = {row["model"]: row for row in get(srv, "/api/leaderboard.json")["rows"]}
    assert board_rows["alice-imi"]["base"] == "alice-base" and "bob-base" not in board_rows
    r = post(srv, tok["root"], hijack)  # an admin may change anyone's model
    assert r.status_code == 201
    after = get(srv, "/api/models/alice-imi")
    assert after["owner"] == "alice" and after["base"] == "bob-base"
    assert [v["user"] for v in after["card_history"]] == ["root", "alice"]


def test_base_and_teacher_rows_are_never_re_pointed_by_a_non_owner(board):
    srv, tok = board
    assert post(srv, tok["alice"], imitation("alice-imi", "llama", "gpt", (0.3, 0.5), 1)
                ).status_code == 201
    body = payload("alice-imi", kind="imitation", seed=4, base="other-base", teacher="other")
    r = post(srv, tok["bob"], body)  # re-pointing her model's base and teacher
    assert r.status_code == 403 and "alice-imi" in r.json()["detail"]
    body = payload("llama", kind="base", seed=5, base="tiny", teacher="gpt")
    r = post(srv, tok["bob"], body)  # re-pointing the base row her push created
    assert r.status_code == 403 and "'llama' belongs to alice" in r.json()["detail"]
    r = post(srv, tok["bob"], imitation("bob-imi", "llama", "gpt", (0.4, 0.6), 6))
    assert r.status_code == 201  # naming her rows as his base and teacher is fine
    llama, mine = get(srv, "/api/models/llama"), get(srv, "/api/models/bob-imi")
    assert (llama["owner"], llama["base"], llama["teacher"], llama["runs"]) == (
        "alice", None, None, [])
    assert (mine["owner"], mine["base"], mine["teacher"]) == ("bob", "llama", "gpt")
    assert get(srv, "/api/models/alice-imi")["base"] == "llama"


def test_card_versions_are_kept_and_shown(board):
    srv, tok = board
    first = imitation("imi", "base", "gpt", (0.3, 0.5), 1, tokens=1_000_000)
    runs = [post(srv, tok["alice"], first).json()["run_id"]]
    again = imitation("imi", "base", "gpt", (0.35, 0.5), 2, tokens=1_000_000)
    runs.append(post(srv, tok["alice"], again).json()["run_id"])  # the same card: no version
    newer = imitation("imi", "base", "gpt", (0.4, 0.5), 3, tokens=2_000_000, data="self-instruct")
    runs.append(post(srv, tok["alice"], newer).json()["run_id"])
    model = get(srv, "/api/models/imi")
    assert model["card_version"] == 2 and model["card"]["token_budget"] == 2_000_000
    assert [(v["version"], v["user"], v["current"]) for v in model["card_history"]] == [
        (2, "alice", True), (1, "alice", False)]
    assert model["card_history"][1]["card"] == card("imi", "base", "gpt", 1_000_000)
    assert [get(srv, f"/api/runs/{r}")["card_version"] for r in runs] == [1, 1, 2]
    assert [r["card_version"] for r in model["runs"]] == [1, 1, 2]
    page = get(srv, "/model/imi")
    assert 'id="card-version">card version 2, pushed by alice' in page
    history = page.split('id="card-history"', 1)[1].split("</ul>", 1)[0]
    assert "version 2 (current)" in history and "version 1: pushed by alice" in history
    assert "sharegpt-mix" in history and "self-instruct" in history  # both cards, whole
    row = next(r for r in get(srv, "/api/leaderboard.json")["rows"] if r["model"] == "imi")
    assert row["imitation_tokens"] == 2_000_000 and row["data"] == "self-instruct"


def _with_acc_norm(body: dict) -> dict:
    """MMLU also reporting acc_norm (a mean) as its displayed metric, per sample too."""
    results = body["results"]
    task = "imitation_mmlu"
    results["results"][task]["acc_norm,none"] = results["results"][task]["acc,none"]
    results["configs"][task]["metric_list"].append({"metric": "acc_norm", "aggregation": "mean"})
    results["configs"][task]["metadata"] = {"primary_metric": "acc_norm"}
    for row in body["samples"][task]:
        row["acc_norm"] = row["acc"]
    return body


def _cases() -> dict[str, tuple[dict, str, str]]:
    """name -> (push body, expected status, a phrase of the expected detail)."""
    count = payload("count", seed=11)
    count["results"]["n-samples"]["imitation_mmlu"]["effective"] = 101
    null = payload("null-item", seed=12)
    null["samples"]["imitation_nq_open_0shot"][7]["acc"] = None
    primary = _with_acc_norm(payload("primary", seed=13))
    for row in primary["samples"]["imitation_mmlu"]:
        del row["acc_norm"]  # the displayed metric has no per-sample values
    tampered = payload("tampered", seed=14)
    tampered["results"]["results"]["imitation_nq_open_0shot"]["acc,none"] -= 0.05
    half = payload("half", seed=15)
    del half["samples"]["imitation_nq_open_0shot"]
    nocount = payload("no-count", seed=16)
    del nocount["results"]["n-samples"]["imitation_mmlu"]
    notmean = payload("not-a-mean", seed=17)
    notmean["results"]["configs"]["imitation_mmlu"]["metric_list"][0]["aggregation"] = "pass@k"
    copies = payload("copies", seed=18)  # one document logged 100 times, without its id
    for task, rows in copies["samples"].items():
        one = {k: v for k, v in rows[0].items() if k != "doc_id"}
        rows[:] = [dict(one) for _ in rows]
        for key in ("acc,none",):
            copies["results"]["results"][task][key] = float(one["acc"])
    return {
        "complete": (_with_acc_norm(payload("complete", seed=10)), "verified",
                     "all 3 reported metric(s) of 2 task(s) recomputed"),
        "count": (count, "flagged", "imitation_mmlu acc,none (the displayed metric): 100 "
                                    "samples logged, results.json says n=101"),
        "null": (null, "unverified", "imitation_nq_open_0shot acc,none (the displayed metric): "
                                     "1 of 100 samples have no numeric value"),
        "primary": (primary, "unverified", "imitation_mmlu acc_norm,none (the displayed "
                                           "metric): 100 of 100 samples have no numeric value"),
        "tampered": (tampered, "flagged", "imitation_nq_open_0shot acc,none (the displayed "
                                          "metric): reported"),
        "half": (half, "unverified", "imitation_nq_open_0shot: no samples logged"),
        "no-count": (nocount, "unverified", "imitation_mmlu: no sample count"),
        "not-a-mean": (notmean, "unverified", "imitation_mmlu acc,none (the displayed metric): "
                                              "not an lm-eval 'mean'"),
        "copies": (copies, "unverified", "imitation_mmlu acc,none (the displayed metric): 100 "
                                         "of 100 samples have no doc_id"),
    }


def test_verified_means_every_metric_recomputed_from_complete_samples(board):
    srv, tok = board
    for name, (body, status, phrase) in _cases().items():
        r = post(srv, tok["alice"], body)
        assert r.status_code == 201, (name, r.text)
        out = r.json()
        assert out["status"] == status and phrase in out["detail"], (name, out)
        stored = get(srv, f"/api/runs/{out['run_id']}")
        assert (stored["status"], stored["detail"]) == (status, out["detail"]), name
        page = get(srv, f"/model/{body['model']['name']}")
        assert f'class="status-{status}">{status}<' in page, name
        assert phrase.replace("'", "&#39;") in page, name  # the reason, on the model page
    rules = get(srv, "/").split('id="status-rules"', 1)[1].split("</p>", 1)[0]
    for phrase in ("every reported metric of every task", "the displayed one included",
                   "sample count is given and equals the documents evaluated",
                   "<strong>flagged</strong>", "<strong>unverified</strong>: anything less"):
        assert phrase in rules, phrase


def test_the_migration_keeps_data_and_backfills_owners_and_cards(db_url):
    """A 0001 database with runs by a token, a local run, a named-only teacher and an orphan,
    upgraded to head: owners as documented, each card version 1, pushes then checked."""
    import sqlalchemy as sa

    from leaderboard.db import make_engine, migrate, read_session
    from leaderboard.ingest import store_push
    from leaderboard.lineage import OwnershipError, Pusher, model_json
    from leaderboard.models import CardVersion, Run
    from leaderboard.schemas import PushPayload

    engine = make_engine(db_url)
    migrate(engine, "0001")
    now = sa.func.now()
    t = {name: sa.table(name, *(sa.column(c) for c in cols)) for name, cols in {
        "users": ("id", "name", "created_at"),
        "tokens": ("id", "user_id", "token_hash", "prefix", "scopes", "created_at"),
        "models": ("id", "name", "kind", "base_id", "teacher_id", "created_at"),
        "runs": ("id", "model_id", "content_sha256", "results_json", "harness_version",
                 "status", "status_detail", "source", "token_id", "created_at")}.items()}
    ckpts = sa.table("checkpoints", sa.column("id"), sa.column("model_id"),
                     sa.column("card", sa.JSON), sa.column("data_kind"))
    with engine.begin() as conn:
        conn.execute(t["users"].insert().values(id=1, name="alice", created_at=now))
        conn.execute(t["tokens"].insert().values(id=1, user_id=1, token_hash="h" * 64,
                                                 prefix="lb_x", scopes="push", created_at=now))
        for mid, name, kind, base, teacher in ((1, "base", "base", None, None),
                                               (2, "gpt", "teacher", None, None),
                                               (3, "imi", "imitation", 1, 2),
                                               (4, "orphan", "base", None, None)):
            conn.execute(t["models"].insert().values(id=mid, name=name, kind=kind, base_id=base,
                                                     teacher_id=teacher, created_at=now))
        for rid, mid, token in ((1, 3, 1), (2, 1, None), (3, 3, None)):
            conn.execute(t["runs"].insert().values(
                id=rid, model_id=mid, content_sha256=str(rid) * 64, results_json="{}",
                harness_version="lm-eval", status="verified", status_detail="", source="",
                token_id=token, created_at=now))
        conn.execute(ckpts.insert().values(id=1, model_id=3, card={"base_model": "base"},
                                           data_kind="x"))
        if engine.dialect.name == "postgresql":  # the ids above bypassed the sequences
            for name in ("users", "tokens", "models", "runs", "checkpoints"):
                conn.exec_driver_sql(f"SELECT setval('{name}_id_seq', 100)")
    migrate(engine)
    owners = {m: model_json(engine, m)["owner"] for m in ("imi", "base", "gpt", "orphan")}
    assert owners == {"imi": "alice", "base": "local", "gpt": "alice", "orphan": None}
    with read_session(engine) as s:
        [v1] = s.scalars(sa.select(CardVersion)).all()
        assert (v1.version, v1.user.name, v1.card) == (1, "alice", {"base_model": "base"})
        assert dict(s.execute(sa.select(Run.id, Run.card_version)).all()) == {
            1: 1, 2: None, 3: 1}
        old = s.get(Run, 1)
        assert old.status == "unverified" and old.status_detail.startswith(
            "not verified: checked before migration 0003 under looser rules")
    body = PushPayload.model_validate(payload("orphan", seed=20))
    with pytest.raises(OwnershipError, match="'orphan' has no known owner"):
        store_push(engine, body, Pusher("alice", 1))
    assert store_push(engine, body, Pusher("root", None, admin=True)).status == "verified"
    assert store_push(engine, PushPayload.model_validate(payload("base", seed=21))
                      ).status == "verified"  # a local push to the local user's model
    engine.dispose()


def test_cli_local_push_is_the_local_user(tmp_path: Path, capsys, monkeypatch):
    from leaderboard.cli import main
    from leaderboard.db import make_engine, migrate
    from leaderboard.ingest import store_push
    from leaderboard.lineage import Pusher, model_json
    from leaderboard.schemas import PushPayload
    from tests.leaderboard.test_cli import write_run

    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    engine = make_engine(db)
    migrate(engine)
    token_id, _ = create_token(engine, "alice", ["push"])
    store_push(engine, PushPayload.model_validate(payload("alice-model", seed=1)),
               Pusher("alice", token_id))
    folder = write_run(tmp_path / "run", seed=2)
    assert main(["push", str(folder), "--db", db, "--model", "alice-model"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "model 'alice-model' belongs to alice, not local" in err
    assert main(["push", str(folder), "--db", db, "--model", "mine"]) == 0
    assert json.loads(capsys.readouterr()[0])["status"] == "verified"
    assert model_json(engine, "mine")["owner"] == "local"
    assert len(model_json(engine, "alice-model")["runs"]) == 1  # nothing half-stored
    monkeypatch.setenv("IMITATION_LEADERBOARD_TOKEN", create_token(engine, "bob", ["push"])[1])
    with ServerThread(create_app(Settings(db=db), engine)) as srv:  # over HTTP: bob's token
        assert main(["push", str(folder), "--url", srv.url, "--model", "alice-model"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1
        assert "(403)" in err and "model 'alice-model' belongs to alice, not bob" in err
    engine.dispose()


def test_concurrent_claims_and_cards_lose_nothing(engine):
    """Eight users push a new model name at once: one owns it, seven get the 403 error; then
    its owner pushes six different cards at once: seven versions, none overwritten."""
    import threading

    from leaderboard.ingest import store_push
    from leaderboard.lineage import OwnershipError, Pusher, model_json
    from leaderboard.schemas import PushPayload

    won, refused, errors = [], [], []

    def claim(k: int) -> None:
        try:
            store_push(engine, PushPayload.model_validate(payload("contested", seed=k)),
                       Pusher(f"user{k}"))
            won.append(f"user{k}")
        except OwnershipError as err:
            refused.append(str(err))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(err))

    def card_push(k: int) -> None:
        try:
            store_push(engine, PushPayload.model_validate(imitation(
                "imi", "b", "t", (0.3, 0.5), 100 + k, tokens=1000 + k)), Pusher("alice"))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(err))

    for target, count in ((claim, 8), (card_push, 6)):
        if target is card_push:
            card_push(-1)  # alice's first card: version 1
        threads = [threading.Thread(target=target, args=(k,)) for k in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and len(won) == 1 and len(refused) == 7
    assert model_json(engine, "contested")["owner"] == won[0]
    assert all(f"belongs to {won[0]}" in text for text in refused)
    history = model_json(engine, "imi")["card_history"]
    assert [v["version"] for v in history] == list(range(7, 0, -1))
    assert sorted(v["imitation_tokens"] for v in history) == sorted(1000 + k for k in range(-1, 6))


def test_card_names_are_read_as_the_models_own(board):
    """A card's base_model and teacher are model names as the body's are: stripped, and a blank
    one is no name (an imitation push then needs model.base), never a model called ' '."""
    srv, tok = board
    assert post(srv, tok["alice"], payload("llama", seed=1)).status_code == 201
    body = imitation("imi", " llama ", "gpt ", (0.4, 0.5), 2)
    assert post(srv, tok["alice"], body).status_code == 201
    model = get(srv, "/api/models/imi")
    assert (model["base"], model["teacher"]) == ("llama", "gpt")  # the stored rows, not copies
    row = next(r for r in get(srv, "/api/leaderboard.json")["rows"] if r["model"] == "imi")
    assert row["scores"] and all(c.get("gap_note") != "no base score in this column"
                                 for c in row["scores"].values())
    blank = imitation("imi-2", "  ", "gpt", (0.4, 0.5), 3)
    r = post(srv, tok["alice"], blank)
    assert r.status_code == 422 and "model.base is missing" in r.text, r.text
