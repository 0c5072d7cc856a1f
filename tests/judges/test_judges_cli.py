"""imitation-judge's commands through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judges.cli import main
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer


def test_agreement_on_shipped_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    assert main(["agreement", "--dataset", "pandalm", "--verdicts", "gpt-3.5-turbo",
                 "--output-dir", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "agreement.json").read_text())
    assert printed == saved
    assert saved["judge_vs_majority"]["agreement_with_ties"] == pytest.approx(697 / 974)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["data_dir"] == str(data_dir) and config["verdicts"] == "gpt-3.5-turbo"


def test_agreement_errors_name_the_fix(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["agreement", "--dataset", "autoj", "--verdicts", "pandalm-7b"]) == 2
    assert "are for --dataset pandalm" in capsys.readouterr().err
    assert main(["agreement", "--data-dir", str(tmp_path), "--verdicts", "gpt-3.5-turbo"]) == 2
    assert "PandaLM test set not found" in capsys.readouterr().err


def _verdict_by_answer(body, seen) -> Reply:
    content = body["messages"][-1]["content"]
    a = content.split("## Reply A\n", 1)[1].split("\n\n## Reply B", 1)[0]
    return Reply(text="Verdict: A" if a.startswith("long") else "Verdict: B")


def test_agreement_by_running_a_judge(tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    with ScriptedServer(lambda b, seen: Reply(text="Verdict: tie")) as server:
        assert main(["agreement", "--dataset", "pandalm", "--run-judge", "--limit", "6", "--quiet",
                     "--base-url", server.base_url, "--model", "judge-model", "--api-key-env", KEY_ENV,
                     "--cache-path", str(tmp_path / "c.sqlite"), "--output-dir", str(tmp_path / "out")]) == 0
        # 6 pairs in both orders; pairs whose two responses are identical make one request twice
        assert set(server.hits.values()) == {1} and 6 < sum(server.hits.values()) <= 12
    report = json.loads(capsys.readouterr().out)
    assert report["judge_verdicts"] == {"tie": 6} and report["judge"] == "judge-model with pairwise@v1"
    rows = [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert [r["verdict"] for r in rows] == ["tie"] * 6
    assert SECRET not in (tmp_path / "out" / "config.json").read_text()


def test_pairwise_command(tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    answers = tmp_path / "model.jsonl"
    reference = tmp_path / "teacher.json"
    prompts = [f"prompt {i}" for i in range(8)]
    answers.write_text("".join(json.dumps({"id": f"k{i}", "prompt": p, "response":
                                           ("long " * 30 if i % 2 else "short")}) + "\n"
                               for i, p in enumerate(prompts)))
    reference.write_text(json.dumps([{"id": f"k{i}", "instruction": p, "output": "medium " * 10}
                                     for i, p in enumerate(prompts)] + [{"id": "extra", "instruction": "x", "output": "y"}]))
    out = tmp_path / "run"
    with ScriptedServer(_verdict_by_answer) as server:
        assert main(["pairwise", "--answers", str(answers), "--reference", str(reference), "--quiet",
                     "--base-url", server.base_url, "--model", "judge-model", "--api-key-env", KEY_ENV,
                     "--output-dir", str(out), "--cache-path", str(tmp_path / "c.sqlite")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    assert summary["pairs"] == 8 and summary["unmatched"] == {"answers": 0, "reference": 1}
    # "Verdict: A" whenever A is long: the long answers win in both orders; the short ones get
    # "B" when shown first (a loss) and "B" when shown second (a win): inconsistent.
    assert summary["outcomes"] == {"win": 4, "loss": 0, "tie": 0, "inconsistent": 4, "unscored": 0}
    assert summary["win_rates"]["win_rate"]["value"] == pytest.approx(0.5)
    assert summary["style_control"]["coefficients"]["length"] > 0
    assert summary["position_inconsistency"] == pytest.approx(0.5)
    assert len((out / "verdicts.jsonl").read_text().splitlines()) == 8
    config = json.loads((out / "config.json").read_text())
    assert config["client"]["model"] == "judge-model" and config["prompt"] == "pairwise@v1"
    assert SECRET not in (out / "config.json").read_text()


def test_pairwise_needs_overlapping_ids(tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": 1, "prompt": "p", "response": "r"}\n')
    b.write_text('{"id": 2, "prompt": "p", "response": "r"}\n')
    assert main(["pairwise", "--answers", str(a), "--reference", str(b),
                 "--api-key-env", KEY_ENV]) == 2
    assert "no id is in both" in capsys.readouterr().err


def test_client_config_file_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from judges.config import ClientConfig, add_config_flags, from_args

    parser = argparse.ArgumentParser()
    add_config_flags(parser, ClientConfig, option="--client-config")
    recipe = tmp_path / "judge.yaml"
    recipe.write_text("model: gpt-4o\nconcurrency: 32\nmax-cost: 5\n")
    config = from_args(ClientConfig, parser.parse_args(["--client-config", str(recipe),
                                                         "--concurrency", "4"]))
    assert (config.model, config.concurrency, config.max_cost) == ("gpt-4o", 4, 5.0)  # flags win
    recipe.write_text("modle: gpt-4o\n")
    with pytest.raises(ValueError, match="unknown setting\\(s\\) modle"):
        from_args(ClientConfig, parser.parse_args(["--client-config", str(recipe)]))
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        ClientConfig(concurrency=0)
    for name, value in (("max_cost", float("nan")), ("max_cost", float("inf")),
                        ("rpm", float("nan")), ("timeout", float("nan")), ("timeout", 0.0),
                        ("backoff_base", float("nan")), ("backoff_max", -1.0)):
        with pytest.raises(ValueError, match=f"{name} must be"):  # NaN: a budget never reached
            ClientConfig(**{name: value})


def test_max_cost_nan_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                         api_key: str) -> None:
    answers, reference = _pair_files(tmp_path)
    code = main(["pairwise", "--answers", str(answers), "--reference", str(reference),
                 "--output-dir", str(tmp_path / "out"), "--base-url", "http://127.0.0.1:9/v1",
                 "--api-key-env", KEY_ENV, "--max-cost", "nan"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "max_cost must be" in err[0], err
    assert not (tmp_path / "out").exists()


def _pair_files(tmp_path: Path) -> tuple[Path, Path]:
    answers, reference = tmp_path / "model.jsonl", tmp_path / "teacher.jsonl"
    answers.write_text("".join(json.dumps({"id": f"k{i}", "prompt": f"p{i}", "response": "a"})
                               + "\n" for i in range(3)))
    reference.write_text("".join(json.dumps({"id": f"k{i}", "prompt": f"p{i}", "response": "b"})
                                 + "\n" for i in range(3)))
    return answers, reference


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_fatal_api_error_ends_the_run_with_one_line(tmp_path: Path, api_key: str, status: int,
                                                       capsys: pytest.CaptureFixture) -> None:
    answers, reference = _pair_files(tmp_path)
    with ScriptedServer(lambda body, seen: Reply(status=status)) as server:
        code = main(["pairwise", "--answers", str(answers), "--reference", str(reference),
                     "--quiet", "--base-url", server.base_url, "--api-key-env", KEY_ENV,
                     "--output-dir", str(tmp_path / "o"), "--cache-path", str(tmp_path / "c")])
    err = capsys.readouterr().err  # (the scripted server may log the dropped connections)
    ours = [line for line in err.splitlines() if line.startswith("imitation-judge")]
    assert code == 2 and len(ours) == 1 and f"HTTP {status}" in ours[0]
    assert ours[0].startswith("imitation-judge pairwise: error: ") and SECRET not in err


def test_a_run_in_which_every_call_failed_exits_non_zero(tmp_path: Path, api_key: str,
                                                        capsys: pytest.CaptureFixture) -> None:
    answers, reference = _pair_files(tmp_path)
    out = tmp_path / "o"
    with ScriptedServer(lambda body, seen: Reply(status=400)) as server:  # not retried, not fatal
        code = main(["pairwise", "--answers", str(answers), "--reference", str(reference),
                     "--quiet", "--base-url", server.base_url, "--api-key-env", KEY_ENV,
                     "--output-dir", str(out), "--cache-path", str(tmp_path / "c")])
    captured = capsys.readouterr()
    assert code == 1 and "every judge call failed (6 of 6)" in captured.err
    assert json.loads(captured.out)["outcomes"]["unscored"] == 3  # nothing lost: all written
    assert len((out / "verdicts.jsonl").read_text().splitlines()) == 3
