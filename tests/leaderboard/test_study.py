"""Rating studies on the store (SQLite): Fleiss' kappa against the textbook, a synthetic study
whose raters behave in known ways (hand-computed rates and kappa, with and without the careless
rater the attention checks catch, and an LLM judge's agreement with them), the assignment rules,
the PandaLM import/export read back by the judges' reader, and the CLI's one-line errors."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from judges import agreement as agr
from judges.answers import write_jsonl
from judges.pairwise import Judgment, PairVerdict
from leaderboard.cli import main
from leaderboard.db import read_session, write_session
from leaderboard.models import utcnow
from leaderboard.study import assign, build, results, stats
from leaderboard.study.tables import Assignment, StudyPair
from tests.leaderboard.study_helpers import (CHOICE, answer_files, make_study, rate_all,
                                             side)

# Fleiss (1971) as on Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories
FLEISS_TABLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
                [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
                [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
TRUTH = {"0": "1", "1": "1", "2": "tie", "3": "2", "4": "1", "5": "tie"}
CARELESS = {"0": "2", "1": "tie", "2": "1", "3": "1", "4": "2", "5": "2"}
JUDGE = {"0": "win", "1": "win", "2": "win", "3": "loss", "4": "win", "5": "tie"}


def test_fleiss_kappa_textbook_example():
    got = stats.fleiss_kappa(FLEISS_TABLE)
    assert got.fleiss_kappa == pytest.approx(0.210, abs=5e-4)
    assert got.human_agreement == pytest.approx(0.378, abs=5e-4)
    assert stats.fleiss_kappa([[3, 0, 0], [0, 3, 0], [0, 0, 3]]).fleiss_kappa == 1.0
    assert stats.fleiss_kappa([[1, 0, 0]]).fleiss_kappa is None  # no pair rated twice


@pytest.fixture
def synthetic(sqlite_engine, tmp_path):
    """6 prompts, 4 ratings each, 2 attention checks: three raters who always give the true
    label and one careless rater (fixed arbitrary labels, the broken answer on checks)."""
    made = make_study(sqlite_engine, tmp_path, prompts=6, raters=4, checks=2, total=8)
    code = made["rate_url"].rsplit("/", 1)[1]
    with write_session(sqlite_engine) as s:  # the sample is seeded; pin the keys for TRUTH
        pairs = s.scalars(select(StudyPair).where(StudyPair.kind == "real")
                          .order_by(StudyPair.position)).all()
        for k, pair in enumerate(pairs):
            pair.key = str(k)
    honest = lambda kind, key: "1" if kind == "check" else TRUTH[key]  # noqa: E731
    careless = lambda kind, key: "2" if kind == "check" else CARELESS[key]  # noqa: E731
    for rater in ("honest-1", "honest-2", "honest-3"):
        assert rate_all(sqlite_engine, code, rater, honest) == 8
    assert rate_all(sqlite_engine, code, "careless", careless) == 8
    return sqlite_engine, made


def test_synthetic_study_hand_computed_figures(synthetic, tmp_path):
    engine, made = synthetic
    verdicts = tmp_path / "judge_results" / "verdicts.jsonl"  # written as imitation-judge
    write_jsonl(verdicts, [PairVerdict(k, o, Judgment(o, None, "[[A]]"),  # pairwise does
                                       Judgment(o, None, "[[B]]"), "gpt-4o", "pairwise-v1")
                           for k, o in JUDGE.items()])
    added = results.add_judge_verdicts(engine, str(made["id"]), verdicts)
    assert added["pairs_judged"] == 6 and added["judge"] == "gpt-4o with pairwise-v1"
    res = results.study_results(engine, "vicuna vs chatgpt")
    assert res["failed_raters"] == ["careless"] and res["ratings"] == 24
    checked, everyone = res["results"]["checked raters"], res["results"]["all raters"]
    # the honest raters always agree: kappa 1; win 3/6, equal or better 5/6
    assert checked["fleiss_kappa"] == pytest.approx(1.0) and checked["raters"] == 3
    assert checked["win_rate"]["value"] == pytest.approx(3 / 6)
    assert checked["equal_or_better"]["value"] == pytest.approx(5 / 6)
    # with the careless rater: every pair 3-1, P = 0.5; labels 1: 11, 2: 6, tie: 7 of 24
    expected = 206 / 576
    assert everyone["fleiss_kappa"] == pytest.approx((0.5 - expected) / (1 - expected))
    assert everyone["human_agreement"] == pytest.approx(0.5)
    assert everyone["win_rate"]["value"] == pytest.approx((3 * 0.75 + 2 * 0.25) / 6)
    assert everyone["equal_or_better"]["value"] == pytest.approx(4.5 / 6)
    low, high = everyone["win_rate"]["low"], everyone["win_rate"]["high"]
    assert 0 <= low < everyone["win_rate"]["value"] < high <= 1
    for figures in (checked, everyone):  # the majority is the truth either way
        judge = figures["judges"]["gpt-4o with pairwise-v1"]
        assert judge["agreement_with_ties"] == pytest.approx(5 / 6)
        assert judge["agreement_without_ties"] == pytest.approx(1.0)
        assert judge["n_without_ties"] == 4
    text = results.text_report(res)
    assert "careless" in text and "kappa 1.000" in text
    assert results.panel_rows(engine) == []  # the public panel waits for the study's close
    build.close_study(engine, str(made["id"]))
    rows = results.panel_rows(engine)
    assert {r["source"] for r in rows} == {f"rating study #{made['id']}, all raters",
                                           f"rating study #{made['id']}, checked raters"}


def test_export_is_read_by_the_judges_agreement_reader(synthetic, tmp_path):
    engine, made = synthetic
    verdicts = tmp_path / "v.jsonl"
    verdicts.write_text("".join(json.dumps({"id": k, "verdict": "1"}) + "\n" for k in TRUTH))
    results.add_judge_verdicts(engine, str(made["id"]), verdicts, judge="always-1 with p")
    out = results.export_pandalm(engine, str(made["id"]), tmp_path / "export")
    assert out["pairs"] == 6 and out["left_out_incomplete"] == 0
    items = agr.load_pandalm(tmp_path / "export")
    assert [len(it.humans) for it in items] == [4] * 6
    by_id = {it.id: it for it in items}
    assert {k: agr.majority(by_id[k].humans) for k in TRUTH} == TRUTH
    assert sorted(by_id["3"].humans) == ["1", "2", "2", "2"]
    judged = agr.load_verdicts(Path(out["judge_verdicts"]["always-1 with p"]))
    report = agr.agreement_report(items, judged)
    assert report["judge_vs_majority"]["agreement_with_ties"] == pytest.approx(3 / 6)


def test_pandalm_import_matches_the_judges_agreement(sqlite_engine, data_dir, tmp_path):
    """Imported PandaLM labels + PandaLM's shipped gpt-3.5 verdicts give the figures
    imitation-judge agreement gives on the same 60 pairs; the export round-trips."""
    testset = data_dir / agr.PANDALM_FILES["testset"]
    made = build.import_pandalm(sqlite_engine, testset, "pandalm-60", limit=60)
    assert made == {"id": made["id"], "name": "pandalm-60", "pairs": 60, "raters": 3,
                    "ratings": 180}
    shipped = data_dir / agr.PANDALM_FILES["gpt-3.5-turbo"]
    results.add_judge_verdicts(sqlite_engine, "pandalm-60", shipped, judge="gpt-3.5-turbo")
    ours = results.study_results(sqlite_engine, "pandalm-60")["results"]["all raters"]
    items = agr.load_pandalm(data_dir)[:60]
    theirs = agr.agreement_report(items, agr.load_verdicts(shipped))
    mine = ours["judges"]["gpt-3.5-turbo"]
    for key in ("agreement_with_ties", "agreement_without_ties", "cohen_kappa", "scored"):
        assert mine[key] == pytest.approx(theirs["judge_vs_majority"][key])
    assert ours["fleiss_kappa"] == pytest.approx(theirs["fleiss_kappa_humans"])
    results.export_pandalm(sqlite_engine, "pandalm-60", tmp_path / "out")
    again = agr.load_pandalm(tmp_path / "out")
    assert [(i.id, i.question, i.response1, i.response2, i.humans) for i in again] == [
        (i.id, i.question, i.response1, i.response2, i.humans) for i in items]


def test_assignment_rules(sqlite_engine, tmp_path):
    made = make_study(sqlite_engine, tmp_path, prompts=5, raters=2, checks=1, per_rater=3)
    code = made["rate_url"].rsplit("/", 1)[1]
    first = assign.next_pair(sqlite_engine, code, "ann")
    assert set(first) == {"assignment", "prompt", "left", "right", "progress", "finished"}
    assert first["progress"] == {"done": 0, "total": 4}  # 3 real pairs + 1 check
    assert assign.next_pair(sqlite_engine, code, "ann") == first  # a reload: the same pair
    reference_left, _, _ = side(sqlite_engine, first["assignment"])
    choice = CHOICE[("1", reference_left)]
    assert assign.submit(sqlite_engine, code, "ann", first["assignment"], choice)["stored"]
    again = assign.submit(sqlite_engine, code, "ann", first["assignment"], choice)
    assert again == {"stored": False, "progress": {"done": 1, "total": 4}}  # idempotent
    with pytest.raises(assign.StudyError) as err:
        assign.submit(sqlite_engine, code, "ann", first["assignment"], "equal")
    assert err.value.status == 409
    with pytest.raises(assign.StudyError) as err:  # another rater's assignment
        assign.submit(sqlite_engine, code, "bob", first["assignment"], "equal")
    assert err.value.status == 404
    for rater in ("ann", "bob", "cy", "dee"):
        rate_all(sqlite_engine, code, rater, lambda kind, key: "tie")
    with read_session(sqlite_engine) as s:
        rows = s.execute(select(Assignment.rater, StudyPair.kind, StudyPair.id).join(
            StudyPair, StudyPair.id == Assignment.pair_id)).all()
    real = [(r, p) for r, kind, p in rows if kind == "real"]
    assert len(real) == len(set(real)) == 10  # 5 pairs x 2 raters, nobody twice on a pair
    per_rater = {r: sum(1 for x, _ in real if x == r) for r in ("ann", "bob", "cy", "dee")}
    assert per_rater == {"ann": 3, "bob": 3, "cy": 3, "dee": 1}  # capped at 3 each
    assert sum(1 for _, kind, _ in rows if kind == "check") == 4  # every rater got the check
    build.close_study(sqlite_engine, str(made["id"]))
    assert assign.next_pair(sqlite_engine, code, "eve")["finished"]
    with pytest.raises(assign.StudyError):
        assign.next_pair(sqlite_engine, "no-such-study-code", "eve")


def test_balance_and_expired_holds(engine, tmp_path):  # SQLite and PostgreSQL
    made = make_study(engine, tmp_path, prompts=3, raters=1)
    code = made["rate_url"].rsplit("/", 1)[1]
    held = [assign.next_pair(engine, code, r)["assignment"] for r in ("a", "b", "c")]
    keys = [side(engine, h)[2] for h in held]
    assert len(set(keys)) == 3  # the least-rated pair first: each rater holds another
    assert assign.next_pair(engine, code, "d")["finished"]  # every pair is held
    with write_session(engine) as s:  # a's hold expires
        s.execute(update(Assignment).where(Assignment.public_id == held[0])
                  .values(created_at=utcnow() - timedelta(hours=2)))
    taken = assign.next_pair(engine, code, "d")
    assert side(engine, taken["assignment"])[2] == keys[0]  # d gets a's pair
    with pytest.raises(assign.StudyError) as err:  # a's late answer: the slot went to d
        assign.submit(engine, code, "a", held[0], "left")
    assert err.value.status == 404


def test_create_is_reproducible_and_validated(sqlite_engine, tmp_path):
    model, ref = answer_files(tmp_path, 30)
    spec = build.StudySpec("one", model, ref, prompts=10, attention_checks=3, seed=5)
    keys = []
    for name in ("one", "two"):
        made = build.create_study(sqlite_engine, build.StudySpec(name, model, ref, 10,
                                                                 attention_checks=3, seed=5))
        with read_session(sqlite_engine) as s:
            keys.append([p.key for p in s.scalars(select(StudyPair).where(
                StudyPair.study_id == made["id"]).order_by(StudyPair.position))])
    assert keys[0] == keys[1] and len(keys[0]) == 13
    with pytest.raises(ValueError, match="exists already"):
        build.create_study(sqlite_engine, spec)
    with pytest.raises(ValueError, match="--prompts 31 but only 30 ids"):
        build.create_study(sqlite_engine, build.StudySpec("x", model, ref, 31))
    with pytest.raises(ValueError, match="--raters-per-pair must be at least 1"):
        build.create_study(sqlite_engine, build.StudySpec("x", model, ref, 3,
                                                          raters_per_pair=0))
    broken = build.corrupt("The cat sat on the mat and looked at the bird outside.",
                           random.Random(0))
    assert broken != "The cat sat on the mat and looked at the bird outside."


def test_cli_study_commands_and_errors(tmp_path, capsys):
    model, ref = answer_files(tmp_path, 12)
    db = ["--db", f"sqlite:///{tmp_path / 'lb.sqlite'}"]
    assert main(["study", "create", "--answers", str(model), "--reference", str(ref),
                 "--prompts", "4", "--attention-checks", "1", "--name", "s", *db]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["pairs"] == 4 and made["rate_url"].startswith("/rate/")
    assert main(["study", "list", *db]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "s"
    assert main(["study", "results", "s", *db]) == 0
    assert "4 pairs, 0 with 3 ratings" in capsys.readouterr().out
    assert main(["study", "results", "s", "--format", "json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 4
    assert main(["study", "close", "s", *db]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "closed"
    assert main(["study", "export", "s", "--output", str(tmp_path / "out"), *db]) == 0
    assert json.loads(capsys.readouterr().out)["left_out_incomplete"] == 4
    judged = tmp_path / "judge" / "verdicts.jsonl"  # a judge run on other files
    judged.parent.mkdir()
    judged.write_text(json.dumps({"id": "0", "outcome": "win", "judge": "j", "prompt": "p"}))
    (judged.parent / "config.json").write_text(json.dumps({"answers": str(ref),
                                                           "reference": str(ref)}))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([{"idx": 1, "instruction": "q", "input": "", "response1": "a",
                                   "response2": "b", "annotator1": 1, "annotator2": 7}]))
    binary = tmp_path / "labels.bin"
    binary.write_bytes(b"[\xff\xfe]")
    bad = [(["study", "create", "--answers", str(tmp_path / "none.jsonl"), "--reference",
             str(ref), "--prompts", "2"], "does not exist"),
           (["study", "create", "--answers", str(model), "--reference", str(ref),
             "--prompts", "99"], "--prompts 99 but only 12"),
           (["study", "create", "--answers", str(model), "--reference", str(ref)],
            "needs --prompts"),
           (["study", "results", "nope"], "no study 'nope'"),
           (["study", "export", "s", "--format", "csv", "--output", "x"], "--format 'csv'"),
           (["study", "import", str(model), "--name", "imp"], "not valid JSON"),
           (["study", "import", str(binary), "--name", "imp"], "not UTF-8 text (byte 0xff"),
           (["study", "judge", "s", "--verdicts", str(model)], "expected an imitation-judge"),
           (["study", "judge", "s", "--verdicts", str(judged)], "not the file this study"),
           (["study", "create", "--answers", str(model), "--reference", str(ref), "--prompts",
             "0"], "--prompts must be at least 1"),
           (["study", "import", str(labels), "--name", "imp"], "field annotator2 is 7"),
           (["study", "import", str(labels), "--name", "imp", "--limit", "-1"],
            "--limit must be at least 1")]  # rows[:-1] silently left the last row out
    for argv, message in bad:
        assert main([*argv, *db]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def test_late_answer_racing_the_release_of_its_hold_is_a_404(postgres, tmp_path):
    """PostgreSQL (READ COMMITTED): a's expired hold is released to d between a's SELECT and
    UPDATE of the submission (injected with an engine event); a gets the 404 of a slot gone,
    not a 500 from refreshing a deleted row."""
    from sqlalchemy import event

    from leaderboard.db import make_engine, migrate

    engine = make_engine(postgres.new_database())
    migrate(engine)
    made = make_study(engine, tmp_path, prompts=1, raters=1)
    code = made["rate_url"].rsplit("/", 1)[1]
    held = assign.next_pair(engine, code, "a")["assignment"]
    with write_session(engine) as s:
        s.execute(update(Assignment).where(Assignment.public_id == held)
                  .values(created_at=utcnow() - timedelta(hours=2)))
    taken = []

    def release_first(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.startswith("UPDATE study_assignments SET verdict") and not taken:
            taken.append(assign.next_pair(engine, code, "d"))  # another connection, committed

    event.listen(engine, "before_cursor_execute", release_first)
    try:
        with pytest.raises(assign.StudyError) as err:
            assign.submit(engine, code, "a", held, "left")
    finally:
        event.remove(engine, "before_cursor_execute", release_first)
        engine.dispose()
    assert taken and not taken[0]["finished"]  # d got a's pair
    assert err.value.status == 404


def test_a_nul_in_an_answer_file_is_a_users_error_on_every_database(engine, tmp_path):
    """PostgreSQL cannot store NUL in text: a study whose answers hold one is refused with the
    prompt id and field (a ValueError: one CLI line), on SQLite too, and nothing is stored."""
    model, ref = answer_files(tmp_path, 4)
    rows = [json.loads(line) for line in model.read_text().splitlines()]
    rows[1]["response"] = "an answer\u0000with a NUL"
    model.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = build.StudySpec(name="nul", answers=model, reference=ref, prompts=4,
                           raters_per_pair=1, seed=1)
    with pytest.raises(ValueError, match=r"id '1': its answer holds a NUL character"):
        build.create_study(engine, spec)
    assert build.list_studies(engine) == []


def test_a_nul_in_a_judges_name_is_a_users_error_on_every_database(engine, tmp_path):
    made = make_study(engine, tmp_path, prompts=3, raters=1)
    verdicts = tmp_path / "verdicts.jsonl"
    verdicts.write_text("".join(json.dumps({"id": str(i), "outcome": "win", "judge": "j\u0000x",
                                            "prompt": "p"}) + "\n" for i in range(3)))
    with pytest.raises(ValueError, match="verdicts.jsonl: the judge's name holds a NUL"):
        results.add_judge_verdicts(engine, str(made["id"]), verdicts)


def test_attention_checks_never_reuse_a_rated_prompt(sqlite_engine, tmp_path):
    """A check shows the reference's answer intact; were its prompt also a real pair, a rater
    would meet that same text again there and know which side is the reference. So checks take
    only prompts left out of the sample, and a study without enough of them is refused."""
    model, ref = answer_files(tmp_path, 12)
    made = build.create_study(sqlite_engine, build.StudySpec("ok", model, ref, 9,
                                                             attention_checks=3))
    with read_session(sqlite_engine) as s:
        kinds = dict(s.execute(select(StudyPair.key, StudyPair.kind).where(
            StudyPair.study_id == made["id"])).all())
    assert len(kinds) == 12 and sum(k == "check" for k in kinds.values()) == 3
    with pytest.raises(ValueError, match="--attention-checks 3 needs 3 prompts left out"):
        build.create_study(sqlite_engine, build.StudySpec("all", model, ref, 10,
                                                          attention_checks=3))
