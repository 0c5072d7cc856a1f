"""The store on SQLite and on a real PostgreSQL: migrations, ingest, verification, duplicates,
number identity, concurrent pushes and inert SQL metacharacters."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leaderboard.db import current_revision, head_revision, migrate, read_session
from leaderboard.ingest import ConflictError, DuplicateRun, store_push
from leaderboard.models import Benchmark, Flag, Item, Model, Run, Score
from leaderboard.parse import PayloadError
from leaderboard.schemas import PushPayload
from tests.leaderboard.helpers import imitation, payload


def push(engine, body):
    return store_push(engine, PushPayload.model_validate(body))


def test_migrations_reach_head_and_are_idempotent(engine):
    assert current_revision(engine) == head_revision()
    migrate(engine)  # a second upgrade changes nothing
    assert current_revision(engine) == head_revision()


def test_push_stores_verbatim_results_scores_items_and_verifies(engine):
    body = payload("base-a", seed=1)
    out = push(engine, body)
    assert out.status == "verified" and out.scores == 2
    with read_session(engine) as s:
        run = s.get(Run, out.run_id)
        assert json.loads(run.results_json) == body["results"]
        assert s.scalar(select(func.count(Score.id))) == 2
        assert s.scalar(select(func.count(Item.id))) == 200  # 2 tasks x 100 items


def test_duplicate_push_is_detected(engine):
    body = payload("base-a", seed=1)
    first = push(engine, body)
    with pytest.raises(DuplicateRun) as err:
        push(engine, copy.deepcopy(body))
    assert err.value.run_id == first.run_id
    with read_session(engine) as s:
        assert s.scalar(select(func.count(Run.id))) == 1


def test_tampered_score_is_flagged_not_verified(engine):
    body = payload("base-a", seed=2)
    body["results"]["results"]["imitation_mmlu"]["acc,none"] += 0.1
    out = push(engine, body)
    assert out.status == "flagged"
    with read_session(engine) as s:
        flags = s.scalars(select(Flag)).all()
    assert len(flags) == 1 and "imitation_mmlu acc,none" in flags[0].detail


def test_without_samples_a_run_is_unverified(engine):
    assert push(engine, payload("base-a", samples=False)).status == "unverified"


def test_numbers_of_different_identity_never_share_a_column(engine):
    plain = payload("m1", seed=3)
    other = payload("m2", seed=4)
    other["results"]["versions"]["imitation_mmlu"] = 2.0  # task version bumped
    other["results"]["n-shot"]["imitation_nq_open_0shot"] = 3
    chat = payload("m3", seed=5)
    chat["config"] = {"imitation_suite_version": "0.1.0",
                      "run_config": {"apply_chat_template": True}}
    for body in (plain, other, chat):
        push(engine, body)
    with read_session(engine) as s:
        rows = s.execute(select(Benchmark.task, func.count(Benchmark.id))
                         .group_by(Benchmark.task)).all()
    counts = dict(rows)
    assert counts == {"imitation_mmlu": 3, "imitation_nq_open_0shot": 3}


def test_malformed_results_name_the_field(engine):
    body = payload("m1")
    body["results"]["results"]["imitation_mmlu"]["acc,none"] = "high"
    with pytest.raises(PayloadError, match=r"results\.results\.imitation_mmlu\.acc,none"):
        push(engine, body)
    del body["results"]["versions"]
    with pytest.raises(PayloadError, match="results.versions is missing"):
        push(engine, body)
    with read_session(engine) as s:  # nothing half-stored
        assert s.scalar(select(func.count(Model.id))) == 0


def test_imitation_links_base_and_teacher_and_kind_conflicts_are_refused(engine):
    push(engine, imitation("imi", "base-b", "gpt", (0.3, 0.5), seed=6))
    with read_session(engine) as s:
        m = s.scalars(select(Model).where(Model.name == "imi")).one()
        assert (m.base.name, m.teacher.name, m.checkpoint.imitation_tokens) == (
            "base-b", "gpt", 1_000_000)
    with pytest.raises(ConflictError, match="stored as a base model"):
        push(engine, payload("base-b", kind="teacher", seed=7))


def test_sql_metacharacters_are_inert(engine):
    name = "x'; DROP TABLE runs; -- \" OR 1=1 %_"
    push(engine, payload(name, seed=8))
    with read_session(engine) as s:
        assert s.scalars(select(Model.name)).all() == [name]
        assert s.scalar(select(func.count(Run.id))) == 1


def test_concurrent_pushes_are_all_stored_once(engine):
    """16 threads push 32 distinct runs sharing 4 models and 2 columns, each run twice."""
    bodies = [payload(f"model-{k % 4}", seed=100 + k) for k in range(32)]
    outcomes, errors = [], []

    def worker(chunk):
        for body in chunk:
            try:
                outcomes.append(push(engine, body).run_id)
            except DuplicateRun:
                outcomes.append("dup")
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(err))

    work = bodies + [copy.deepcopy(b) for b in bodies]
    threads = [threading.Thread(target=worker, args=(work[k::16],)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert outcomes.count("dup") == 32
    with read_session(engine) as s:
        assert s.scalar(select(func.count(Run.id))) == 32
        assert s.scalar(select(func.count(Model.id))) == 4
        assert s.scalar(select(func.count(Benchmark.id))) == 2


def _judged(name: str, judge_model: str, win: float) -> dict:
    """A judge task's results as imitation-eval writes them (rates without stderr, the judge
    recorded in each doc)."""
    task = "imitation_judge_koala"
    judge = json.dumps({"client": {"model": judge_model}, "prompt": "pairwise",
                        "prompt_id": "pairwise@v1"})
    metrics = {"win_rate": win, "win_or_tie_rate": win + 0.1, "position_inconsistency": 0.2,
               "style_controlled_win_rate": win - 0.05, "unscored_rate": 0.0}
    results = {"results": {task: {"alias": task, **{f"{k},judge": v for k, v in metrics.items()},
                                  **{f"{k}_stderr,judge": "N/A" for k in metrics}}},
               "versions": {task: 1.0}, "n-shot": {task: 0}, "lm_eval_version": "0.4.13",
               "configs": {task: {"metric_list": [{"metric": k, "aggregation": "def f(): ..."}
                                                  for k in metrics]}},
               "n-samples": {task: {"original": 2, "effective": 2}}, "date": win}
    samples = {task: [{"doc_id": k, "filter": "judge", "doc": {"judge": judge},
                       "win_rate": "win"} for k in range(2)]}
    return {"model": {"name": name, "kind": "imitation", "base": "b"}, "results": results,
            "samples": samples}


def test_judge_identity_and_judge_runs(engine):
    from leaderboard.models import JudgeRun
    from leaderboard.plots import judge_panel

    push(engine, _judged("m1", "gpt-4o", 0.4))
    out = push(engine, _judged("m2", "gpt-4o-mini", 0.5))
    assert out.status == "unverified"  # judge rates are not means of numbers: not recomputable
    with read_session(engine) as s:
        judges = set(s.execute(select(Benchmark.judge_model, Benchmark.judge_prompt)
                               .where(Benchmark.metric == "win_rate")).all())
        assert judges == {("gpt-4o", "pairwise@v1"), ("gpt-4o-mini", "pairwise@v1")}
        assert s.scalar(select(func.count(JudgeRun.id))) == 2
    panel = judge_panel(engine)
    row = next(j for j in panel["judges"] if j["judge"] == "gpt-4o")
    assert row["position_inconsistency"] == pytest.approx(0.2)
    assert row["style_effect"] == pytest.approx(0.05)


def test_downgrade_to_empty_and_back(engine):
    from sqlalchemy import inspect

    push(engine, payload("m", seed=9))
    from alembic import command

    from leaderboard.db import alembic_config, schema_connection

    cfg = alembic_config(engine)
    with schema_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "runs" not in inspect(engine).get_table_names()
    migrate(engine)
    assert {"runs", "scores", "benchmarks", "tokens"} <= set(inspect(engine).get_table_names())


def test_open_existing_refuses_an_empty_or_unreadable_database(db_url, tmp_path):
    from leaderboard.db import make_engine, open_existing

    if db_url.startswith("sqlite"):
        Path(db_url.split(":///", 1)[1]).touch()  # an empty file: a SQLite database, no tables
    with pytest.raises(ValueError, match=r"holds no leaderboard tables\); push a run first"):
        open_existing(db_url)
    engine = make_engine(db_url)
    migrate(engine)
    engine.dispose()
    open_existing(db_url).dispose()
    (tmp_path / "notes.txt").write_text("not a database")
    with pytest.raises(ValueError, match="notes.txt is not a SQLite database"):
        open_existing(str(tmp_path / "notes.txt"))
