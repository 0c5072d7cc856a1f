"""imitation-train sweep: base models x budgets x data kinds, each trained and then evaluated
by the suite in a child process on a tiny model, pushed into a real SQLite leaderboard with
their lineage; resumable; bad eval and push settings refused before training; a failed
evaluation raises the suite's own error, also kept in the run's eval.log."""

from __future__ import annotations

import json

import pytest
import yaml

from imitation_train.cli import main
from imitation_train.evaluation import run_config
from imitation_train.sweep import SweepConfig, load_sweep, plan_runs, run_one
from judges.config import ConfigError
from tests.imitation_train.trainer_support import one_thread, tiny_model, training_file


@pytest.fixture()
def sweep_file(data_dir, tmp_path):
    model = tiny_model(tmp_path / "tiny-llama", data_dir, "llama")
    data = training_file(data_dir, tmp_path / "broad.jsonl")
    spec = {"output_dir": str(tmp_path / "sweep"), "base_models": [str(model)],
            "budgets": [4000, None], "data": {"broad": str(data)}, "evaluate_base": True,
            "train": {"max_seq_len": 512, "batch_size": 2, "lr": 1e-3, "max_steps": 2},
            "eval": {"tasks": "imitation_nq_open_0shot", "limit": 2, "batch_size": "1",
                     "device": "cpu", "gen_kwargs": "max_gen_toks=8"},
            "push": True, "push_db": f"sqlite:///{tmp_path / 'leaderboard.sqlite'}"}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_sweep_trains_evaluates_and_resumes(sweep_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the imitation-eval subprocesses too
    with one_thread():
        assert main(["sweep", str(sweep_file)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in rows] == ["done"] * 3
    resolved = json.loads((tmp_path / "sweep" / "sweep_config.json").read_text())
    assert resolved["budgets"] == [4000, None]
    assert [r["run"].split("/", 1)[1] for r in rows] == ["base", "broad/budget-4000",
                                                         "broad/budget-all"]
    small, full = (tmp_path / "sweep" / "tiny-llama" / "broad" / f"budget-{b}" / "model"
                   for b in ("4000", "all"))
    card_small = json.loads((small / "imitation_card.json").read_text())
    card_full = json.loads((full / "imitation_card.json").read_text())
    assert card_small["token_budget"] == 4000 and card_small["imitation_tokens"] <= 4000
    assert card_small["data_kind"] == "broad"
    assert card_small["imitation_tokens"] < card_full["imitation_tokens"]
    for row in rows:
        results = json.loads(open(f"{row['results']}/results.json").read())
        assert "imitation_nq_open_0shot" in results["results"]
    eval_log = (small.parent / "eval.log").read_text()
    assert "imitation_nq_open_0shot" in eval_log and "results:" in eval_log
    # the lineage sits next to the scores it explains
    assert json.loads(open(f"{rows[1]['results']}/imitation_card.json").read()) == card_small
    # ... and reached the leaderboard: one base row, two imitation rows of that base
    from leaderboard.cli import main as leaderboard_main

    site = tmp_path / "site"
    assert leaderboard_main(["export", "--html", str(site), "--db",
                             f"sqlite:///{tmp_path / 'leaderboard.sqlite'}"]) == 0
    capsys.readouterr()
    board = json.loads((site / "leaderboard.json").read_text())
    kinds = sorted((row["model"], row["kind"], row["base"]) for row in board["rows"])
    assert kinds == [("tiny-llama", "base", None),
                     ("tiny-llama-broad-budget-4000", "imitation", "tiny-llama"),
                     ("tiny-llama-broad-budget-all", "imitation", "tiny-llama")]
    tokens = {row["model"]: row["imitation_tokens"] for row in board["rows"]}
    assert tokens["tiny-llama-broad-budget-4000"] == card_small["imitation_tokens"]
    with one_thread():
        assert main(["sweep", str(sweep_file)]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in again] == ["skipped (done)"] * 3


def test_sweep_config_errors(sweep_file, tmp_path, capsys):
    spec = yaml.safe_load(sweep_file.read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**spec, "budget": [1]}))
    with pytest.raises(ConfigError, match="unknown setting"):
        load_sweep(bad)
    bad.write_text(yaml.safe_dump({**spec, "train": {"model": "x"}}))
    with pytest.raises(ConfigError, match="the sweep sets them"):
        load_sweep(bad)
    bad.write_text(yaml.safe_dump({**spec, "train": {"learning_rate": 1}}))
    assert main(["sweep", str(bad)]) == 2
    assert "unknown sft setting" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**spec, "push_db": None}))
    assert main(["sweep", str(bad)]) == 2
    assert "exactly one of push_url" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**spec, "push_db": None, "push_url": "http://127.0.0.1:9",
                                   "push_token_env": "NO_SUCH_TOKEN_VARIABLE"}))
    assert main(["sweep", str(bad)]) == 2
    assert "$NO_SUCH_TOKEN_VARIABLE" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**spec, "eval": {"no_such_setting": 1}}))
    assert main(["sweep", str(bad)]) == 2
    assert "unknown or reserved setting(s) ['no_such_setting']" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**spec, "eval": {"output_dir": "x"}}))
    with pytest.raises(ConfigError, match="the sweep sets them"):
        load_sweep(bad)
    assert len(plan_runs(load_sweep(sweep_file))) == 3
    assert main(["sweep", str(sweep_file), "--dry-run"]) == 0
    assert not (tmp_path / "sweep").exists()


def test_eval_settings_become_the_suites_run_config(tmp_path):
    cfg = run_config({"tasks": ["a", "b"], "limit": 2, "apply_chat_template": True,
                      "log_samples": False, "device": None, "system_instruction": "-be brief"},
                     "/m", tmp_path / "eval")
    assert (cfg.pretrained, cfg.output_dir, cfg.tasks) == ("/m", str(tmp_path / "eval"), "a,b")
    assert (cfg.limit, cfg.chat_template, cfg.log_samples) == (2, "always", False)
    assert cfg.device is None and cfg.system_instruction == "-be brief"
    with pytest.raises(ConfigError, match=r"reserved setting\(s\) \['pretrained'\]"):
        run_config({"pretrained": "x"}, "/m", tmp_path)
    with pytest.raises(ConfigError, match="eval: .*chat"):
        run_config({"chat_template": "sometimes"}, "/m", tmp_path)


def test_a_failed_evaluation_raises_the_suites_error_and_logs_it(sweep_file, tmp_path):
    spec = yaml.safe_load(sweep_file.read_text())
    cfg = SweepConfig(**{**spec, "push": False, "push_db": None,
                         "eval": {**spec["eval"], "data_dir": str(tmp_path / "no-such-data")}})
    base = plan_runs(cfg)[0]
    assert base.kind == "base"
    with pytest.raises(ValueError, match="no-such-data.*is not a directory"):
        run_one(cfg, base, None)
    assert "is not a directory" in (base.folder / "eval.log").read_text()
    assert not (base.folder / "eval_done.json").exists()  # not marked done: a rerun retries
