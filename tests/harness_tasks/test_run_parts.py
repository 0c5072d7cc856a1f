"""The run's parts: per-task chat template, one progress display, the response cache, the
short summary and fail-fast task names (harness_tasks.chat_format / progress / summary)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness_tasks.chat_format import (apply_per_task, model_is_chat, prompt_format,
                                       uses_chat_template)
from harness_tasks.progress import ResponseCache, RunProgress, _chunks
from harness_tasks.runner import RunConfig, run
from harness_tasks.summary import summary_table


def _folder(tmp_path: Path, name: str, files: dict[str, Any]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, content in files.items():
        (folder / file).write_text(json.dumps(content), encoding="utf-8")
    return folder


def test_model_is_chat_reads_the_folder(tmp_path: Path) -> None:
    instruct = _folder(tmp_path, "i", {"imitation_preset.json": {"kind": "instruct"},
                                       "tokenizer_config.json": {"chat_template": "x"}})
    base = _folder(tmp_path, "b", {"imitation_preset.json": {"kind": "base"},
                                   "tokenizer_config.json": {"chat_template": "x"}})
    card = _folder(tmp_path, "c", {"imitation_card.json": {}})
    templated = _folder(tmp_path, "t", {"tokenizer_config.json": {"chat_template": "{{x}}"}})
    plain = _folder(tmp_path, "p", {"tokenizer_config.json": {}})
    assert model_is_chat("hf", str(instruct)) and model_is_chat("hf", str(card))
    assert model_is_chat("hf", str(templated))
    assert not model_is_chat("hf", str(base))  # our Gemma template is added, the model is base
    assert not model_is_chat("hf", str(plain)) and not model_is_chat("hf", "org/hub-id")
    assert model_is_chat("local-chat-completions", None)


@pytest.mark.parametrize(("fmt", "mode", "chat_model", "backend", "expected"), [
    ("chat", "auto", True, "hf", True), ("chat", "auto", False, "hf", False),
    ("completion", "auto", True, "hf", False), ("completion", "always", False, "hf", True),
    ("chat", "never", True, "hf", False),
    ("completion", "never", False, "local-chat-completions", True),
    # declared: a base model and its fine-tunes get the same prompts
    ("chat", "declared", False, "hf", True), ("completion", "declared", True, "hf", False)])
def test_uses_chat_template(fmt: str, mode: str, chat_model: bool, backend: str,
                            expected: bool) -> None:
    assert uses_chat_template(fmt, mode, chat_model, backend) is expected


def test_prompt_format_is_checked() -> None:
    task = SimpleNamespace(config=SimpleNamespace(task="t", metadata={"prompt_format": "chatty"}))
    with pytest.raises(ValueError, match="t: metadata.prompt_format 'chatty'"):
        prompt_format(task)
    assert prompt_format(SimpleNamespace(config=SimpleNamespace(metadata=None))) == "completion"


def test_apply_per_task_overrides_the_run_level_choice() -> None:
    seen: dict[str, dict[str, Any]] = {}

    def task(name: str, fmt: str) -> Any:
        obj = SimpleNamespace(config=SimpleNamespace(task=name, metadata={"prompt_format": fmt}))
        obj.build_all_requests = lambda **kw: seen.__setitem__(name, kw)
        return obj

    lm = SimpleNamespace(apply_chat_template=lambda *a: "templated", tokenizer_name="tok")
    tasks = {"a": task("a", "chat"), "b": task("b", "completion")}
    chosen = apply_per_task(tasks, lm, mode="auto", model_chat=True, backend="hf")
    for t in tasks.values():
        t.build_all_requests(apply_chat_template=False, chat_template=None,
                             fewshot_as_multiturn=True)
    assert chosen == {"a": True, "b": False}
    assert seen["a"]["apply_chat_template"] is True and seen["a"]["chat_template"] is not None
    assert seen["b"]["apply_chat_template"] is False and seen["b"]["chat_template"] is None
    assert seen["b"]["fewshot_as_multiturn"] is False  # multi-turn shots need the template


def _req(task: str, doc: int, text: str, reqtype: str = "generate_until") -> Any:
    args = (text, {"until": ["\n"], "max_gen_toks": 8}) if reqtype == "generate_until" \
        else (text, " A")
    return SimpleNamespace(task_name=task, doc_id=doc, args=args, request_type=reqtype)


def test_chunks_group_by_task_and_never_split_a_document() -> None:
    reqs = [_req("a", d, f"a{d}{c}", "loglikelihood") for d in range(3) for c in range(4)]
    reqs += [_req("b", 0, "b0")]
    chunks = list(_chunks(reqs, 5))
    assert [t for t, _ in chunks] == ["a", "a", "b"]
    assert [len(c) for _, c in chunks] == [8, 4, 1]  # docs 0+1 (4 each), doc 2, task b
    assert sorted(i for _, c in chunks for i in c) == list(range(len(reqs)))


def test_the_loglikelihood_cap_counts_the_sequences_the_model_computes() -> None:
    from harness_tasks.progress import loglikelihood_chars

    context = "x" * 90  # with the answer, 100 characters a request
    letters = [SimpleNamespace(task_name="mc", doc_id=d, args=(context, f" {'ABCD'[c]}"),
                               request_type="loglikelihood") for d in range(6) for c in range(4)]
    # one-token answers share their question's context: 2 sequences of 100 characters fit 250
    assert [len(c) for _, c in _chunks(letters, 64, 250)] == [8, 8, 8]
    long = [SimpleNamespace(task_name="mc2", doc_id=d, args=(context[:50], f"long answer {c} " * 4),
                            request_type="loglikelihood") for d in range(3) for c in range(3)]
    # long answers are one sequence each: a question's 3 choices already fill the cap
    assert [len(c) for _, c in _chunks(long, 64, 400)] == [3, 3, 3]
    assert loglikelihood_chars(49_152) == 64_000 and loglikelihood_chars(None) == 64_000
    assert loglikelihood_chars(262_144) < 64_000 * 50_000 // 200_000  # Gemma 3: fewer


class _FlakyLM:
    """A scripted model: answers ``text.upper()``; raises on call number ``fail_on``."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        self.calls.append([r.args[0] for r in requests])
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise RuntimeError("killed")
        return [r.args[0].upper() for r in requests]


def test_a_rerun_after_a_crash_reuses_every_finished_response(tmp_path: Path) -> None:
    reqs = [_req("t", d, f"q{d}") for d in range(10)]
    first = _FlakyLM(fail_on=3)
    cache = ResponseCache(tmp_path / "c.sqlite")
    RunProgress(chunk_size=4, enabled=False).install(first, cache)
    with pytest.raises(RuntimeError, match="killed"):
        first.generate_until(reqs)
    cache.close()
    second = _FlakyLM()
    cache = ResponseCache(tmp_path / "c.sqlite")
    progress = RunProgress(chunk_size=4, enabled=False)
    progress.install(second, cache)
    assert second.generate_until(reqs) == [f"Q{d}" for d in range(10)]
    assert second.calls == [["q8", "q9"]]  # the two chunks that finished were not redone
    assert progress.cached == 8
    cache.close()


def test_sampled_generations_are_never_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    args = ("q", {"do_sample": True})
    cache.put("generate_until", args, "x")
    assert cache.get("generate_until", args) is None
    cache.close()


def test_progress_lines_off_a_terminal_name_the_task_and_have_no_carriage_returns() -> None:
    stream = io.StringIO()
    lm = _FlakyLM()
    progress = RunProgress(chunk_size=2, enabled=True, stream=stream)
    progress.planned = {"t": SimpleNamespace(requests=4, cost=16.0)}  # type: ignore[dict-item]
    progress.install(lm)
    lm.generate_until([_req("t", d, f"q{d}") for d in range(4)])
    progress.close()
    text = stream.getvalue()
    assert "\r" not in text
    assert "progress: t (task 1/1): 4/4 requests, elapsed" in text


def test_summary_shows_groups_that_aggregate_and_tasks() -> None:
    results = {
        "results": {"suite": {"alias": "suite"}, "mmlu": {"acc,none": 0.25},
                    "mmlu_a": {"acc,none": 0.5}, "nq": {"exact_match,remove_whitespace": 0.1,
                                                        "exact_match_stderr,remove_whitespace": 0.01}},
        "groups": {"mmlu": {"acc,none": 0.25, "acc_stderr,none": 0.02}},
        "group_subtasks": {"suite": ["mmlu", "nq"], "mmlu": ["mmlu_a"]},
        "configs": {"nq": {"metric_list": [{"metric": "exact_match"}]}},
        "n-samples": {"mmlu_a": {"effective": 4}, "nq": {"effective": 3}},
    }
    table = summary_table(results, {"mmlu_a": False, "nq": True})
    lines = table.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["mmlu", "nq"]
    assert "0.2500  ± 0.0200" in lines[2] and " 4 " in lines[2] and "plain" in lines[2]
    assert "exact_match,remove_whitespace" in lines[3] and "chat" in lines[3]


def test_an_unknown_task_fails_before_the_model_is_loaded(tmp_path: Path) -> None:
    cfg = RunConfig(pretrained=str(tmp_path / "no-such-model"),
                    tasks="imitation_nq_open_0shot_lite,imitation_nq_opn_chat_lite")
    with pytest.raises(ValueError, match=r"unknown task\(s\): 'imitation_nq_opn_chat_lite' "
                                         r"\(did you mean imitation_nq_open_chat_lite"):
        run(cfg)


def test_chat_tasks_get_the_template_and_completion_tasks_do_not(tmp_path: Path,
                                                                 tiny_model_dir: Path) -> None:
    cfg = RunConfig(pretrained=str(tiny_model_dir), limit=2, output_dir=str(tmp_path / "out"),
                    tasks="imitation_nq_open_0shot_lite,imitation_nq_open_chat_lite",
                    gen_kwargs="max_gen_toks=4", cache=False, progress=False)
    out = run(cfg)
    assert out.chat_template_tasks == {"imitation_nq_open_0shot_lite": False,
                                       "imitation_nq_open_chat_lite": True}
    config = json.loads((out.folder / "config.json").read_text())
    assert config["chat_template_tasks"] == out.chat_template_tasks
    plain = (out.folder / "samples_imitation_nq_open_0shot_lite.jsonl").read_text()
    chat = (out.folder / "samples_imitation_nq_open_chat_lite.jsonl").read_text()
    assert "<|im_start|>" in chat and "<|im_start|>" not in plain
    assert (out.folder / "table.md").is_file() and "imitation_nq_open_chat_lite" in out.table
    never = run(RunConfig(**{**cfg.__dict__, "chat_template": "never"}))
    assert not any(never.chat_template_tasks.values())
    text = (never.folder / "samples_imitation_nq_open_chat_lite.jsonl").read_text()
    assert "<|im_start|>" not in text


def test_a_second_run_answers_from_the_response_cache(tmp_path: Path, tiny_model_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IMITATION_SUITE_RESPONSES", str(tmp_path / "responses"))
    cfg = RunConfig(pretrained=str(tiny_model_dir), limit=2, output_dir=str(tmp_path / "out"),
                    tasks="imitation_nq_open_0shot_lite,imitation_truthfulqa_mc1_lite",
                    gen_kwargs="max_gen_toks=4", progress=False)
    first = run(cfg)
    [cache_file] = (tmp_path / "responses").glob("*.sqlite")
    second = run(cfg)
    assert first.results["results"] == second.results["results"]
    timing = json.loads((second.folder / "config.json").read_text())["timing"]
    assert timing["model_requests_s"] == 0.0  # every response came from the cache
    assert cache_file.stat().st_size > 0


def test_long_log_likelihood_prompts_are_chunked_by_size() -> None:
    long_ctx = "x" * 3000  # a five-shot history question is ~12,000 characters
    reqs = [_req("h", d, long_ctx, "loglikelihood") for d in range(10) for _ in range(4)]
    chunks = [c for _, c in _chunks(reqs, 256, max_chars=10_000)]
    assert [len(c) for c in chunks] == [12, 12, 12, 4]  # 3 documents of 3,002 characters each
    assert all(len({reqs[i].doc_id for i in c}) * 3002 <= 10_000 for c in chunks)
