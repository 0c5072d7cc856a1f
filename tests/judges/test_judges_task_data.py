"""The judge task's prompt sets (real shared data), its judge settings, and its YAMLs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from harness_tasks.data import DataError
from harness_tasks.tasks.judge import prompt_sets
from judges.endpoint import JudgeEndpoint, JudgeNotConfigured, resolve
from tests.judges.fake_key import KEY_ENV, SECRET

ENDPOINT = {"IMITATION_JUDGE_BASE_URL": "http://127.0.0.1:8000/v1",
            "IMITATION_JUDGE_MODEL": "judge", "IMITATION_JUDGE_API_KEY_ENV": KEY_ENV,
            KEY_ENV: SECRET}
TASKS = {"imitation_judge_koala": None, "imitation_judge_koala_lite": 20,
         "imitation_judge_alpaca_eval": None, "imitation_judge_alpaca_eval_lite": 20,
         "imitation_judge_vicuna": None, "imitation_judge_vicuna_lite": 20}


def test_prompt_set_sizes_and_fields(data_dir: Path) -> None:
    koala, alpaca, vicuna = (prompt_sets.koala_rows(), prompt_sets.alpaca_eval_rows(),
                             prompt_sets.vicuna_rows())
    assert (len(koala), len(alpaca), len(vicuna)) == (156, 805, 80)
    for rows, source, model in ((koala, "koala", "gpt-3.5-turbo-0301"),
                                (alpaca, "alpaca_eval", "gpt-3.5-turbo-0301"),
                                (vicuna, "vicuna", "gpt-3.5-turbo:20230327")):
        assert {r["source"] for r in rows} == {source}
        assert {r["reference_model"] for r in rows} == {model}
        assert all(r["question"].strip() and r["reference"].strip() for r in rows)
        assert len({r["id"] for r in rows}) == len(rows)
    assert vicuna[0]["id"] == "vicuna_1" and vicuna[0]["category"] == "generic"


def test_default_koala_reference_is_alpaca_evals_koala_subset(data_dir: Path) -> None:
    """All 156 prompts of AlpacaEval's koala subset are Koala test prompts; the 24 Koala prompts
    it lacks are the longest ones (over 1,000 characters)."""
    path = data_dir / prompt_sets.ALPACA_FILE
    subset = [r for r in json.load(gzip.open(path, "rt")) if r["dataset"] == "koala"]
    koala = prompt_sets.koala_rows()
    by_key = {prompt_sets.match_key(r["question"]): r for r in koala}
    assert len(subset) == 156
    for row in subset:
        assert by_key[prompt_sets.match_key(row["instruction"])]["reference"] == row["output"]
    identical = sum(by_key[prompt_sets.match_key(s["instruction"])]["question"] == s["instruction"]
                    for s in subset)
    assert identical == 155  # the other one keeps its "#2." label, which AlpacaEval dropped
    kept = {r["id"] for r in koala}
    left_out = [p for p in prompt_sets.koala_prompts() if p["id"] not in kept]
    assert len(left_out) == 24
    assert min(len(p["prompt"]) for p in left_out) > 1000 > max(len(r["question"]) for r in koala)


def test_koala_prompts_lose_sharegpts_regeneration_counter(data_dir: Path) -> None:
    assert prompt_sets.clean_koala_prompt("2 / 2Write a poem") == "Write a poem"
    assert prompt_sets.clean_koala_prompt("10 / 10 apples") == "10 / 10 apples"  # not stuck on
    raw = [json.loads(line)["prompt"] for line in (data_dir / prompt_sets.KOALA_FILE).open()]
    assert sum(p.startswith(("2 / 2", "3 / 3", "4 / 4", "7 / 7")) for p in raw) == 13
    assert not any(p["prompt"][:5] in ("2 / 2", "3 / 3") for p in prompt_sets.koala_prompts())


def test_koala_reference_file(tmp_path: Path, data_dir: Path) -> None:
    prompts = prompt_sets.koala_prompts()
    path = tmp_path / "teacher.jsonl"
    rows = [{"id": "koala_3", "output": "by id", "generator": "my-teacher"},
            {"instruction": " 4 / 4" + prompts[12]["prompt"] + "\n", "response": "by text"},
            {"prompt": prompts[5]["prompt"], "answer": "by prompt"},
            {"id": "koala_999", "text": "matches nothing"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = prompt_sets.koala_rows(str(path))
    assert [(r["id"], r["reference"], r["reference_model"]) for r in got] == [
        ("koala_3", "by id", "my-teacher"), ("koala_5", "by prompt", "my-teacher"),
        ("koala_12", "by text", "my-teacher")]
    with pytest.raises(DataError, match="does not exist"):
        prompt_sets.koala_rows(str(tmp_path / "missing.jsonl"))
    path.write_text(json.dumps({"id": "koala_999", "output": "x"}) + "\n")
    with pytest.raises(DataError, match="no row matches a Koala test prompt"):
        prompt_sets.koala_rows(str(path))
    path.write_text(json.dumps({"id": "koala_1"}) + "\n")
    with pytest.raises(DataError, match="row 1 needs an id"):
        prompt_sets.koala_rows(str(path))


def test_prompt_sets_need_the_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMITATION_SUITE_DATA")
    with pytest.raises(DataError, match="IMITATION_SUITE_DATA is not set"):
        prompt_sets.vicuna_rows()


@pytest.mark.parametrize("task, size", sorted(TASKS.items()))
def test_loaders_give_docs_with_the_judge_and_lite_subsets(
        task: str, size: int | None, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    from harness_tasks.tasks.judge import utils

    for name, value in ENDPOINT.items():
        monkeypatch.setenv(name, value)
    loader = {"koala": utils.load_koala, "alpaca": utils.load_alpaca_eval,
              "vicuna": utils.load_vicuna}[task.split("_")[2]]
    full = loader(version=1.0)["test"]
    docs = loader(lite_size=size, version=1.0, pretrained="ignored")["test"] if size else full
    assert len(docs) == (size or {"koala": 156, "alpaca": 805, "vicuna": 80}[task.split("_")[2]])
    assert set(docs["id"]) <= set(full["id"])
    assert docs["id"] == [i for i in full["id"] if i in set(docs["id"])]  # file order
    judge = JudgeEndpoint.parse(docs[0]["judge"])
    assert (judge.client.base_url, judge.client.model, judge.prompt_id) == (
        "http://127.0.0.1:8000/v1", "judge", "pairwise@v1")
    assert judge.client.cache_path and judge.client.cache_path.endswith("judge-cache.sqlite")
    assert SECRET not in docs[0]["judge"]


def test_endpoint_settings_layer_file_then_environment_then_metadata(tmp_path: Path) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text("base_url: http://file/v1\nmodel: file-model\nconcurrency: 3\nrpm: 60\n")
    env = {"IMITATION_JUDGE_CONFIG": str(config), "IMITATION_JUDGE_MODEL": "env-model",
           "IMITATION_JUDGE_CONCURRENCY": "5", "IMITATION_JUDGE_RPM": "none",
           "OPENAI_API_KEY": "k"}
    got = resolve({"judge_model": "meta-model", "version": 1.0, "base_url": "not ours"},
                  environ=env, defaults={"cache_path": "/c.sqlite", "concurrency": 1})
    client = got.client
    assert (client.base_url, client.model, client.concurrency, client.rpm, client.cache_path) == (
        "http://file/v1", "meta-model", 5, None, "/c.sqlite")
    assert client.api_key_env == "OPENAI_API_KEY" and got.prompt_id == "pairwise@v1"
    assert JudgeEndpoint.parse(got.to_json()) == got


def test_judge_record_has_one_reader() -> None:
    """doc["judge"]: JudgeEndpoint.to_json's string, or "" (no judge); parse reads both."""
    assert JudgeEndpoint.parse("") is None and JudgeEndpoint.parse(None) is None
    partial = JudgeEndpoint.parse('{"client": {"model": "m"}, "prompt": "p", "prompt_id": "p@v1"}')
    assert (partial.client.model, partial.prompt_id) == ("m", "p@v1")
    for bad in ("{not json", '{"client": {"model": "m"}}', '{"client": {"colour": 1}, '
                '"prompt": "p", "prompt_id": "p@v1"}', 7):
        with pytest.raises(ValueError, match="not a judge record"):
            JudgeEndpoint.parse(bad)


@pytest.mark.parametrize("settings, env, message", [
    ({}, {}, "missing: base_url, model"),
    ({"judge_base_url": "http://x/v1"}, {}, "missing: model"),
    ({"judge_base_url": "http://x/v1", "judge_model": "m"}, {}, "OPENAI_API_KEY is not set"),
    ({"judge_base_url": "ftp://x", "judge_model": "m"}, {"OPENAI_API_KEY": "k"}, "http://"),
    ({"judge_base_url": "http://x/v1", "judge_model": "m", "judge_concurrency": "many"},
     {"OPENAI_API_KEY": "k"}, "expected int"),
    ({"judge_base_url": "http://x/v1", "judge_model": "m", "judge_prompt": "single"},
     {"OPENAI_API_KEY": "k"}, "needs a pairwise one"),
    ({"judge_config": "/no/such.yaml"}, {}, "does not exist"),
])
def test_endpoint_errors_say_what_to_set(settings: dict, env: dict, message: str) -> None:
    with pytest.raises(JudgeNotConfigured, match=message):
        resolve(settings, environ=env)


def test_yamls_define_the_family_with_versions() -> None:
    import harness_tasks
    from harness_tasks.catalog import entries

    ours = {e.name: e for e in entries() if e.name.startswith("imitation_judge")}
    assert set(ours) == set(TASKS)
    assert all(e.kind == "task" and e.version == 1.0 for e in ours.values())
    readme = (harness_tasks.task_dir() / "judge" / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in TASKS)


def test_the_judge_template_declares_judges_metrics() -> None:
    """judges.judging.METRICS is the one list of judge metrics: the template reports exactly
    those, in that order, with the same higher_is_better."""
    import harness_tasks
    from harness_tasks.catalog import read_yaml
    from judges.judging import METRICS

    template = read_yaml(harness_tasks.task_dir() / "judge" / "_template.yaml")
    assert {m["metric"]: m["higher_is_better"] for m in template["metric_list"]} == METRICS
    assert [m["metric"] for m in template["metric_list"]] == list(METRICS)
