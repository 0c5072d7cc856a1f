"""``imitation-judge rescore``: reading lm-eval samples files and re-judging them against a
scripted OpenAI-compatible server (the re-judging of a real run's samples file is in
test_judges_task_run.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judges.cli import main
from judges.rescore import read_samples, task_name
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer

DOCS = [("d0", "Name a prime number.", "7", "4"),
        ("d1", "What colour is the sky?", "Blue.", "Blue, on a clear day."),
        ("d2", "Say hello.", "Hello!", "Goodbye.")]


def _row(doc_id: int, id_: str, question: str, reference: str, answer: str,
         **doc: Any) -> dict[str, Any]:
    """One line as lm-eval's --log_samples writes it for a generate_until task (its CLI turns
    filtered responses into strings)."""
    return {"doc_id": doc_id, "doc": {"id": id_, "question": question, "reference": reference,
                                      **doc},
            "target": reference, "arguments": [[question, {"until": []}]],
            "resps": [[answer]], "filtered_resps": [str({"outcome": "loss"})], "filter": "judge",
            "metrics": ["win_rate"], "doc_hash": "x", "prompt_hash": "y", "target_hash": "z",
            "win_rate": "loss"}


def _samples(folder: Path, name: str = "samples_mytask_2025-01-02T03-04-05.678901.jsonl",
             rows: list[dict[str, Any]] | None = None) -> Path:
    rows = rows if rows is not None else [_row(i, *d) for i, d in enumerate(DOCS)]
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def candidate_wins(body: dict[str, Any], seen: int) -> Reply:
    """Prefers whichever reply is the model's answer (it is never the reference here)."""
    text = body["messages"][-1]["content"]
    reply_a = text.split("## Reply A", 1)[1].split("## Reply B", 1)[0].strip()
    return Reply(text=f"Verdict: {'B' if reply_a in {d[2] for d in DOCS} else 'A'}")


@pytest.mark.parametrize("name, task", [
    ("samples_imitation_judge_koala_lite_2024-05-01T12-00-00.123456.jsonl",
     "imitation_judge_koala_lite"),
    ("samples_imitation_judge_vicuna.jsonl", "imitation_judge_vicuna"),
    ("answers.jsonl", "answers"),
])
def test_task_name_from_the_file_name(name: str, task: str) -> None:
    assert task_name(Path(name)) == task


def test_read_samples_takes_the_raw_generation_once_per_doc(tmp_path: Path) -> None:
    rows = [_row(i, *d) for i, d in enumerate(DOCS)]
    rows.append(dict(rows[0], filter="another"))  # lm-eval logs one row per filter
    sample_set = read_samples(_samples(tmp_path, rows=rows))
    assert sample_set.task == "mytask" and sample_set.recorded_judge is None
    assert [(i.id, i.question, i.baseline, i.candidate) for i in sample_set.items] == DOCS
    assert len(read_samples(_samples(tmp_path, rows=rows), limit=2).items) == 2


def test_read_samples_errors_name_the_row_and_the_fix(tmp_path: Path) -> None:
    no_reference = _row(0, "d0", "q", "r", "a")
    del no_reference["doc"]["reference"]
    with pytest.raises(ValueError, match=r"row 1 \(doc id d0\) has no reference answer"):
        read_samples(_samples(tmp_path, rows=[no_reference]))
    with pytest.raises(ValueError, match="is not an lm-eval sample"):
        read_samples(_samples(tmp_path, rows=[{"id": "x", "answer": "y"}]))


def test_rescore_with_flags_writes_results_and_never_the_key(
        tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    samples = _samples(tmp_path)
    out = tmp_path / "out"
    with ScriptedServer(candidate_wins) as server:
        assert main(["rescore", str(samples), "--base-url", server.base_url, "--model", "j",
                     "--api-key-env", KEY_ENV, "--output-dir", str(out), "--quiet"]) == 0
        assert len(server.bodies) == 6  # 3 pairs x 2 orders
    printed = json.loads(capsys.readouterr().out)
    results = json.loads((out / "results.json").read_text())
    assert printed == results
    assert results["judge"] == {"model": "j", "base_url": server.base_url,
                                "prompt": "pairwise@v1", "both_orders": True}
    metrics = results["results"]["mytask"]
    assert metrics["win_rate"] == 1.0 and metrics["unscored"] == 0
    assert metrics["position_inconsistency"] == 0.0
    assert results["details"]["mytask"]["outcomes"]["win"] == 3
    assert len((out / "verdicts_mytask.jsonl").read_text().splitlines()) == 3
    for path in out.iterdir():
        assert SECRET not in path.read_text()


def test_rescore_against_another_reference_file(tmp_path: Path, api_key: str) -> None:
    reference = tmp_path / "teacher.jsonl"
    reference.write_text("".join(json.dumps({"id": d[0], "output": d[3]}) + "\n" for d in DOCS))
    out = tmp_path / "out"
    with ScriptedServer(lambda body, seen: Reply(text="Verdict: tie")) as server:
        main(["rescore", str(_samples(tmp_path)), "--reference", str(reference),
              "--base-url", server.base_url, "--model", "j", "--api-key-env", KEY_ENV,
              "--output-dir", str(out), "--quiet", "--one-order"])
        assert len(server.bodies) == 3  # one order only
        # requests run concurrently, so find d0's by its question, not by arrival order
        [sent] = [b["messages"][-1]["content"] for b in server.bodies
                  if "Name a prime number." in b["messages"][-1]["content"]]
    assert "## Reply B\n4" in sent  # the new reference, not the doc's "7"
    metrics = json.loads((out / "results.json").read_text())["results"]["mytask"]
    assert metrics["win_or_tie_rate"] == 1.0
    assert metrics["position_inconsistency"] is None  # nothing judged in both orders: unknown


def test_rescore_errors_exit_with_the_fix(tmp_path: Path, api_key: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    samples = _samples(tmp_path)
    assert main(["rescore", str(samples), str(samples), "--output-dir", str(tmp_path / "o")]) == 2
    assert "same task" in capsys.readouterr().err
    monkeypatch.delenv(KEY_ENV)
    assert main(["rescore", str(samples), "--base-url", "http://127.0.0.1:9/v1", "--api-key-env",
                 KEY_ENV, "--output-dir", str(tmp_path / "o")]) == 2
    assert f"{KEY_ENV} is not set" in capsys.readouterr().err
    monkeypatch.setenv(KEY_ENV, SECRET)
    with ScriptedServer(lambda body, seen: Reply(status=401)) as server:
        assert main(["rescore", str(samples), "--base-url", server.base_url, "--api-key-env",
                     KEY_ENV, "--output-dir", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the judge failed" in err and "401" in err and SECRET not in err
