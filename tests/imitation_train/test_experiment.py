"""imitation-train experiment on a tiny random-initialised model with tiny budgets: every stage's
outputs, the leaderboard rows (base, checkpoints, teacher), gap closed recomputed here from the
results files, resume after a kill between stages (nothing retrained, nothing lost) and the
refusal of a changed setting. The evaluations are real (the suite in a child process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from imitation_train.experiment import load_experiment, run_experiment
from imitation_train.experiment.cli import config_path
from imitation_train.experiment.pipeline import plan
from imitation_train.trainer import train
from judges.config import ConfigError
from tests.imitation_train.trainer_support import one_thread, tiny_model

ALPACA = "{data}/imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json"
TASKS = ["imitation_style_profile_gpt4_lite", "imitation_nq_open_0shot_lite"]


class Killed(Exception):
    pass


@pytest.fixture()
def experiment_file(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the evaluation children too
    model = tiny_model(tmp_path / "tiny-llama", data_dir, "llama")
    spec = {"name": "tiny", "output_dir": str(tmp_path / "exp"), "base_models": [str(model)],
            "data": {"broad": {"inputs": ALPACA, "format": "alpaca", "teacher": "gpt-4"}},
            "budgets": [3000, 6000], "data_dir": str(data_dir),
            "prepare": {"dedupe": False},
            "train": {"max_seq_len": 256, "batch_size": 4, "lr": 1e-3, "log_every": 1},
            "eval": {"tasks": TASKS, "limit": 4, "batch_size": "4", "device": "cpu",
                     "gen_kwargs": "max_gen_toks=8", "cache": False},
            "teacher": "gpt-4", "bootstrap_draws": 200}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _counting_train(calls: list[str], fail_after: int | None = None):
    def fn(cfg):
        if fail_after is not None and len(calls) >= fail_after:
            raise Killed("killed between stages")
        calls.append(cfg.output_dir)
        return train(cfg)
    return fn


def test_the_whole_experiment_resumes_and_refuses_a_changed_setting(experiment_file, tmp_path):
    cfg = load_experiment(experiment_file)
    stages = [p.stage.id for p in plan(cfg)]
    assert stages[0] == "prepare broad" and len(stages) == 1 + 1 + 2 * 2
    calls: list[str] = []
    with one_thread(), pytest.raises(Killed):  # killed after the first checkpoint was trained
        run_experiment(cfg, train_fn=_counting_train(calls, fail_after=1))
    ledger = json.loads((cfg.root / "stages.json").read_text())
    assert "train tiny-llama/broad/budget-3000" in ledger
    assert "evaluate tiny-llama/broad/budget-3000" in ledger
    assert "train tiny-llama/broad/budget-6000" not in ledger
    with one_thread():
        out = run_experiment(cfg, train_fn=_counting_train(calls))
    assert calls == [str(cfg.root / "runs/tiny-llama/broad/budget-3000"),
                     str(cfg.root / "runs/tiny-llama/broad/budget-6000")]  # none twice
    _check_outputs(cfg, out)
    with one_thread():  # a third run does nothing again but push (duplicates) and report
        again = run_experiment(cfg, train_fn=_counting_train(calls))
    assert len(calls) == 2 and again["reports"] == out["reports"]
    spec = yaml.safe_load(experiment_file.read_text())
    spec["train"]["lr"] = 5e-4
    experiment_file.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=r"train tiny-llama/broad/budget-3000.*sft\.lr: "
                                          r"0\.001 -> 0\.0005.*new output_dir"):
        run_experiment(load_experiment(experiment_file))


def _check_outputs(cfg, out) -> None:
    root = cfg.root
    stats = json.loads((root / "data" / "broad.stats.json").read_text())
    assert stats["records"] > 0 and "truthfulqa" not in stats["config"]["benchmarks"]
    assert "alpaca_eval" in stats["config"]["benchmarks"]  # the style task's prompts
    cards = {b: json.loads((root / f"runs/tiny-llama/broad/budget-{b}/model/"
                            "imitation_card.json").read_text()) for b in (3000, 6000)}
    assert cards[3000]["imitation_tokens"] <= 3000 < cards[6000]["imitation_tokens"] <= 6000
    ledger = json.loads((root / "stages.json").read_text())
    folders = {k.split(" ", 1)[1]: Path(v["results"]) for k, v in ledger.items()
               if k.startswith("evaluate ")}
    assert set(folders) == {"tiny-llama/base", "tiny-llama/broad/budget-3000",
                            "tiny-llama/broad/budget-6000"}
    # the leaderboard: base, two checkpoints of that base, the teacher's measured row
    from imitation_train.experiment.table import teacher_scores
    from leaderboard.db import make_engine
    from leaderboard.views import build_table

    engine = make_engine(cfg.db)
    table = build_table(engine, draws=50)
    rows = {r.name: r for r in table.rows}
    assert sorted((r.name, r.kind, r.base) for r in table.rows) == [
        ("tiny-llama", "base", ""), ("tiny-llama-broad-budget-3000", "imitation", "tiny-llama"),
        ("tiny-llama-broad-budget-6000", "imitation", "tiny-llama")]
    assert rows["tiny-llama-broad-budget-3000"].teacher == "gpt-4"
    measured = teacher_scores(engine, "gpt-4")  # the teacher's row: its replies' own style
    assert set(measured) == {("imitation_style_profile_gpt4_lite", "summary_paragraph"),
                             ("imitation_style_profile_gpt4_lite", "mean_length")}
    assert all(source.startswith("measured from the teacher's outputs: ")
               for _, source in measured.values())
    # gap closed on mean answer length, recomputed from the results and samples files
    task = "imitation_style_profile_gpt4_lite"
    samples = folders["tiny-llama/base"] / f"samples_{task}.jsonl"
    refs = [json.loads(line)["doc"]["reference"] for line in samples.read_text().splitlines()]
    teacher = sum(len(_words(r)) for r in refs) / len(refs)

    def value(run: str) -> float:
        results = json.loads((folders[run] / "results.json").read_text())["results"][task]
        return results["mean_length,style"]

    base, ckpt = value("tiny-llama/base"), value("tiny-llama/broad/budget-6000")
    rows = json.loads((Path(out["reports"][0]).parent / "table.json").read_text())
    col = next(c for c in rows if c["task"] == task and c["metric"] == "mean_length")
    assert col["teacher"] == pytest.approx(teacher)
    point = next(p for p in col["points"] if p["run"] == "broad-budget-6000")
    assert point["gap"] == pytest.approx((ckpt - base) / (teacher - base))
    assert point["gap_low"] is None and point["gap_note"] == "no standard error: no CI"
    rate = next(c for c in rows if c["task"] == task and c["metric"] == "summary_paragraph")
    assert rate["half_width"] is not None  # a % of answers: binomial CI
    report = Path(out["reports"][0]).read_text()
    assert "What the paper found vs what this run shows" in report
    assert "imitation_nq_open_0shot_lite / exact_match" in report
    assert (Path(out["reports"][0]).parent / "gap_closed.png").is_file()
    assert (Path(out["reports"][0]).parent / "gap_closed.svg").is_file()


def _words(text: str) -> list[str]:
    from harness_tasks.factuality.style_profile import words

    return words(text)


def test_shipped_configs_load_and_plan(tmp_path):
    for name in ("default", "gpu", "hub"):
        cfg = load_experiment(config_path(name), output_dir=str(tmp_path / name))
        assert cfg.eval_settings()["chat_template"] == "declared"
        assert len(plan(cfg)) == 1 + 1 + 2 * len(cfg.budgets)
    with pytest.raises(ValueError, match="default, gpu, hub"):
        config_path("no-such-config")
    with pytest.raises(ConfigError, match="must increase"):
        load_experiment(config_path("default"), budgets=[2, 1])


@pytest.mark.slow
def test_the_default_experiment_on_the_real_gemma3_270m_at_its_smallest_budget(data_dir, tmp_path):
    """The shipped default config, cut to its smallest budget and a few items per task: the real
    base model is prepared for, evaluated, trained, evaluated again, pushed with GPT-4's rows
    and reported."""
    default = load_experiment(config_path("default"))
    smallest = min(b for b in default.budgets if b is not None)
    tasks = [t for t in default.eval["tasks"] if "mmlu" not in t]  # MMLU: 57 long prompts
    cfg = load_experiment(config_path("default"), output_dir=str(tmp_path / "exp"),
                          budgets=[smallest], data_dir=str(data_dir), bootstrap_draws=200,
                          eval={**default.eval, "tasks": tasks, "limit": 3,
                                "gen_kwargs": "max_gen_toks=16", "cache": False})
    with one_thread():
        out = run_experiment(cfg)
    ledger = json.loads((cfg.root / "stages.json").read_text())
    card = json.loads((cfg.root / f"runs/gemma3-270m/broad/budget-{smallest}/model/"
                       "imitation_card.json").read_text())
    assert "gemma" in card["base_model"]
    assert 0 < card["imitation_tokens"] <= smallest and card["teacher"] == "gpt-4"
    assert ledger[f"train gemma3-270m/broad/budget-{smallest}"]["steps"] >= 1
    rows = json.loads((Path(out["reports"][0]).parent / "table.json").read_text())
    length = next(c for c in rows if c["task"] == "imitation_style_profile_gpt4_lite"
                  and c["metric"] == "mean_length")
    assert length["teacher"] > 50  # GPT-4's own replies, measured on the same prompts
    assert len(length["points"]) == 1 and length["points"][0]["delta"] is not None
    assert {c["task"] for c in rows} == set(tasks)
    assert "What the paper found vs what this run shows" in Path(out["reports"][0]).read_text()


def test_standard_errors_are_never_invented_nor_zero_for_a_rate():
    from imitation_train.experiment.table import Point, estimate

    none_seen = estimate(Point("base", None, 0.0, None, 60), "list_when_teacher_lists")
    assert none_seen is not None and 2 < 1.96 * none_seen.se() < 8  # 0 of 60: still +-~4 pts
    assert estimate(Point("base", None, 0.0, None, 57), "acc").se() > 0
    for metric in ("length_pearson", "unigram_overlap", "mean_length"):
        assert estimate(Point("base", None, 0.13, None, 60), metric) is None
    assert estimate(Point("base", None, 0.5, 0.03, 60), "length_pearson").se() == 0.03
