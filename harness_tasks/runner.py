"""``imitation-eval run``: a thin wrapper over lm-eval's ``simple_evaluate``.

It adds the suite's task folder, resolves model presets, applies the data-directory setting,
logs samples, writes a results folder and prints lm-eval's table. Any lm-eval model backend
works (hf, vllm, local-completions, local-chat-completions, ...): the wrapper only touches
``pretrained=`` for backends that load weights.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness_tasks import __version__, task_dir
from harness_tasks.data import ENV_VAR
from harness_tasks.chat_format import CARD_FILE, apply_per_task, check_mode, model_is_chat
from harness_tasks.presets import cache_root, resolve_model
from harness_tasks.progress import (ResponseCache, RunProgress, loglikelihood_chars,
                                    model_fingerprint, quiet_request_building)
from harness_tasks.summary import summary_table
from judges.data import find_data_dir

log = logging.getLogger(__name__)

RESPONSES_ENV = "IMITATION_SUITE_RESPONSES"  # the response cache folder (default: cache/responses)
CPU_BATCH = 64  # benchmarks/generation_batch.py: 3.5-4.4x the tokens/s of 8 on 2 cores

# Backends whose ``pretrained=`` names weights to load (and so may be a preset).
WEIGHT_BACKENDS = frozenset({"hf", "huggingface", "hf-auto", "vllm", "sglang", "hf-multimodal",
                             "vllm-vlm", "steered", "mamba_ssm"})


@dataclass
class RunConfig:
    model: str = field(default="hf", metadata={"help": "lm-eval model backend: hf, vllm, "
                       "local-completions, local-chat-completions, openai-chat-completions, ..."})
    pretrained: str = field(default="smollm2-135m-instruct", metadata={
        "help": "preset name (smollm2-135m-instruct, gemma3-270m), HF model folder or Hub id; "
                "passed as pretrained= to weight-loading backends (hf, vllm); API backends take "
                "model=... in --model-args instead"})
    model_args: str = field(default="", metadata={
        "help": "extra lm-eval model args, k=v,k=v (e.g. dtype=float32 or base_url=...)"})
    tasks: str = field(default="imitation_suite_lite", metadata={
        "help": "comma-separated tasks or groups (imitation-eval tasks lists ours)"})
    data_dir: str | None = field(default=None, metadata={
        "help": f"offline data folder (sets {ENV_VAR}); unset: the env var, then ../shared/data "
                "if it exists, else the Hugging Face Hub"})
    output_dir: str = field(default="results", metadata={"help": "where the results folder goes"})
    limit: float | None = field(default=None, metadata={
        "help": "max examples per task (or a fraction < 1); for smoke tests only"})
    batch_size: str = field(default="auto-cpu", metadata={
        "help": "batch size, 'auto' (lm-eval finds the largest that fits), or 'auto-cpu': "
                f"{CPU_BATCH} on a CPU (greedy generation there runs 3.5-4.4x faster at 64 "
                "than at 8: benchmarks/generation_batch.py) and 'auto' on a GPU"})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, cuda:0, mps ..."})
    num_fewshot: int | None = field(default=None, metadata={
        "help": "override every task's shot count (default: the task's own protocol)"})
    chat_template: str = field(default="auto", metadata={
        "help": "auto: tasks whose prompt is a chat turn (metadata.prompt_format: chat) go "
                "through the chat template when the model is instruction-tuned, every other "
                "task gets plain text; always / never: the same choice for every task; "
                "declared: each task's declared format whatever the model (to compare a base "
                "model with its fine-tunes under identical prompts)"})
    apply_chat_template: bool = field(default=False, metadata={
        "help": "the chat template on every task (same as --chat-template always)"})
    fewshot_as_multiturn: bool = field(default=False, metadata={
        "help": "with the chat template, give few-shot examples as chat turns"})
    system_instruction: str | None = field(default=None, metadata={"help": "system prompt"})
    gen_kwargs: str | None = field(default=None, metadata={
        "help": "generation overrides, k=v,k=v (e.g. temperature=0.7,do_sample=True)"})
    log_samples: bool = field(default=True, metadata={"help": "write per-sample logs"})
    seed: int | None = field(default=None, metadata={"help": "one seed for python, numpy, torch "
                             "and few-shot sampling (default: lm-eval's defaults)"})
    include_path: str | None = field(default=None, metadata={
        "help": "extra task folder(s), comma-separated, next to ours"})
    confirm_run_unsafe_code: bool = field(default=False, metadata={
        "help": "allow tasks that execute model-written code"})
    cache: bool = field(default=True, metadata={
        "help": "keep every model response in lm-eval's cache format (one file per model "
                "identity under the suite's cache folder) so a rerun reuses finished work"})
    progress: bool = field(default=True, metadata={"help": "one progress bar for the run"})

    def __post_init__(self) -> None:
        check_mode(self.chat_template)
        if self.apply_chat_template:
            self.chat_template = "always"


@dataclass(frozen=True)
class RunOutput:
    folder: Path
    results: dict[str, Any]
    table: str  # the short summary (one line per task or group); table.md has lm-eval's
    chat_template_tasks: dict[str, bool] = field(default_factory=dict)


def parse_kv(text: str) -> dict[str, str]:
    """``a=1,b=x`` -> {"a": "1", "b": "x"}; a malformed pair is an error naming it."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--model-args: {part!r} is not key=value (expected k=v,k=v)")
        out[key.strip()] = value.strip()
    return out


def apply_data_setting(cfg: RunConfig) -> Path | None:
    """Set the env var the tasks read: --data-dir, else the env var, else ../shared/data when
    present (judges.data's resolver; a setting that names no directory is a clear error)."""
    found = find_data_dir(cfg.data_dir, search=True)
    if found is not None:
        if not cfg.data_dir and not os.environ.get(ENV_VAR, "").strip():
            log.info("%s unset: using the offline data at %s", ENV_VAR, found)
        os.environ[ENV_VAR] = str(found)
    return found


def model_args_for(cfg: RunConfig) -> dict[str, str]:
    args = parse_kv(cfg.model_args)
    if cfg.model in WEIGHT_BACKENDS:
        args["pretrained"] = resolve_model(args.get("pretrained", cfg.pretrained))
        if "tokenizer" in args:
            args["tokenizer"] = resolve_model(args["tokenizer"])
    return args


def default_device(cfg: RunConfig) -> str | None:
    """lm-eval's hf backend assumes CUDA when no device is given; pick what this machine has."""
    if cfg.device or cfg.model not in WEIGHT_BACKENDS:
        return cfg.device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name or text).strip("_") or "model"


def _write_json(path: Path, obj: Any) -> None:
    from lm_eval.utils import handle_non_serializable

    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=handle_non_serializable,
                              ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_outputs(folder: Path, cfg: RunConfig, results: dict[str, Any], *,
                  chat_template_tasks: dict[str, bool] | None = None, table: str = "",
                  timing: dict[str, Any] | None = None) -> None:
    """config.json, samples_<task>.jsonl, table.md and results.json, each written whole or
    not at all (results.json last: a folder that has it is complete)."""
    from lm_eval.utils import handle_non_serializable

    folder.mkdir(parents=True, exist_ok=True)
    samples = results.pop("samples", None) or {}
    _write_json(folder / "config.json", {"imitation_suite_version": __version__,
                                         "run_config": asdict(cfg),
                                         "data_dir": os.environ.get(ENV_VAR),
                                         "chat_template_tasks": chat_template_tasks or {},
                                         "timing": timing or {}})
    for task, rows in samples.items():
        path = folder / f"samples_{task}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, default=handle_non_serializable,
                                        ensure_ascii=False) + "\n")
        tmp.replace(path)
    if table:
        tmp = folder / "table.md.tmp"
        tmp.write_text(table, encoding="utf-8")
        tmp.replace(folder / "table.md")
    _write_json(folder / "results.json", results)


def resolve_batch_size(cfg: RunConfig, device: str | None) -> str:
    if cfg.batch_size != "auto-cpu":
        return cfg.batch_size
    return str(CPU_BATCH) if (device or "cpu") == "cpu" else "auto"


def _task_manager(names: list[str], include: list[str]) -> Any:
    """Our task folder alone when every name is ours (indexing lm-eval's thousands of YAML
    files costs seconds), else lm-eval's tasks too. An unknown name fails here, before any
    model is loaded, with the closest known names."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include, include_defaults=False)
    missing = [n for n in names if n not in manager.all_tasks]
    if not missing:
        return manager
    if not all(n.startswith("imitation_") for n in missing):  # maybe one of lm-eval's tasks
        manager = TaskManager(include_path=include)
    unknown = [n for n in names if n not in manager.all_tasks]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, manager.all_tasks, n=3, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise ValueError(f"unknown task(s): {'; '.join(hints)}. `imitation-eval tasks` lists "
                         "the suite's tasks and groups")
    return manager


def _load_lm(cfg: RunConfig, model_args: dict[str, str], device: str | None, batch: str) -> Any:
    from lm_eval.api.registry import get_model

    return get_model(cfg.model).create_from_arg_obj(
        model_args, {"batch_size": batch, "device": device})


def _cache(cfg: RunConfig, model_args: dict[str, str], device: str | None,
           batch: str) -> ResponseCache | None:
    if not cfg.cache:
        return None
    identity = {"model": cfg.model, "model_args": model_args, "device": device,
                "batch_size": batch, "seed": cfg.seed,
                "system_instruction": cfg.system_instruction, "suite": __version__}
    key = model_fingerprint(identity, model_args.get("pretrained"))
    name = _slug(model_args.get("pretrained") or model_args.get("model") or cfg.model)
    folder = os.environ.get(RESPONSES_ENV, "").strip()
    root = Path(folder).expanduser() if folder else cache_root() / "responses"
    return ResponseCache(root / f"{name}-{key}.sqlite")


def _check_paths(cfg: RunConfig, include: list[str]) -> None:
    """Before the model loads: the output folder can be written, every extra task folder is
    a folder (one line naming the flag otherwise)."""
    from judges.paths import output_path

    output_path(cfg.output_dir, "--output-dir", "folder")
    for folder in include:
        if not Path(folder).is_dir():
            raise ValueError(f"--include-path {folder} is not a folder: give folder(s) of task "
                             "YAML files, comma-separated")


def run(cfg: RunConfig, *, progress_stream: Any = None) -> RunOutput:
    from lm_eval.utils import make_table

    include = [str(task_dir())] + [p for p in (cfg.include_path or "").split(",") if p]
    _check_paths(cfg, include[1:])
    local = apply_data_setting(cfg)
    log.info("data: %s", local or "Hugging Face Hub")
    tasks = [t.strip() for t in cfg.tasks.split(",") if t.strip()]
    if not tasks:
        raise ValueError("--tasks is empty; name at least one task or group")
    started = time.monotonic()
    manager = _task_manager(tasks, include)  # before the model: a typo costs no model load
    model_args = model_args_for(cfg)
    device = default_device(cfg)
    batch = resolve_batch_size(cfg, device)
    lm = _load_lm(cfg, model_args, device, batch)
    loaded_at = time.monotonic()
    progress = RunProgress(chunk_size=_chunk(batch), enabled=cfg.progress, stream=progress_stream,
                           loglikelihood_chars=loglikelihood_chars(_vocab_size(lm)))
    cache = _cache(cfg, model_args, device, batch)
    progress.install(lm, cache)
    model_chat = model_is_chat(cfg.model, model_args.get("pretrained"))
    chosen: dict[str, bool] = {}

    def on_load(loaded: dict[str, Any]) -> None:
        chosen.update(apply_per_task(loaded["tasks"], lm, mode=cfg.chat_template,
                                     model_chat=model_chat, backend=cfg.model))
        progress.watch_tasks(loaded["tasks"])

    manager.load = _after(manager.load, on_load)
    results = _evaluate(cfg, lm, tasks, manager, progress, cache)
    finished = time.monotonic()
    timing = {"setup_and_model_load_s": round(loaded_at - started, 2),
              "evaluate_s": round(finished - loaded_at, 2),
              "model_requests_s": round(sum(progress.seconds.values()), 2),
              "model_seconds_per_task": {t: round(v, 2) for t, v in progress.seconds.items()}}
    log.info("model requests: %s; evaluation %.0f s (data, prompts, scoring: %.0f s)",
             progress.summary(), timing["evaluate_s"],
             timing["evaluate_s"] - timing["model_requests_s"])
    if results is None:  # non-zero ranks under accelerate launch
        return RunOutput(Path(cfg.output_dir), {}, "")
    results.setdefault("config", {}).update(model=cfg.model, model_args=model_args,
                                            batch_size=batch, device=device)
    name = _slug(model_args.get("pretrained") or model_args.get("model") or cfg.model)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder = Path(cfg.output_dir) / name / stamp
    suffix = 1
    while folder.exists():  # two runs in one second never share a folder
        suffix += 1
        folder = Path(cfg.output_dir) / name / f"{stamp}-{suffix}"
    full_table = make_table(results) + (make_table(results, "groups")
                                        if "groups" in results else "")
    summary = summary_table(results, chosen)
    write_outputs(folder, cfg, results, chat_template_tasks=chosen, table=full_table,
                  timing=timing)
    copy_card(model_args.get("pretrained"), folder)
    return RunOutput(folder, results, summary, chosen)


def _evaluate(cfg: RunConfig, lm: Any, tasks: list[str], manager: Any, progress: RunProgress,
              cache: ResponseCache | None) -> dict[str, Any] | None:
    """lm-eval's ``simple_evaluate`` on the loaded model; the progress display and the response
    cache are closed after it, whatever happens."""
    from lm_eval import simple_evaluate

    seeds: dict[str, int] = {}
    if cfg.seed is not None:
        seeds = {k: cfg.seed for k in ("random_seed", "numpy_random_seed",
                                       "torch_random_seed", "fewshot_random_seed")}
    try:
        with quiet_request_building(cfg.progress):
            return simple_evaluate(
                model=lm, tasks=tasks, num_fewshot=cfg.num_fewshot, limit=cfg.limit,
                log_samples=cfg.log_samples, apply_chat_template=False,
                fewshot_as_multiturn=cfg.fewshot_as_multiturn,
                system_instruction=cfg.system_instruction, gen_kwargs=cfg.gen_kwargs,
                task_manager=manager, confirm_run_unsafe_code=cfg.confirm_run_unsafe_code,
                **seeds,
            )
    except ValueError as err:
        if "marked as unsafe" in str(err):
            raise ValueError(f"{err} With imitation-eval: pass --confirm-run-unsafe-code "
                             "(HumanEval runs model-written code in the sandbox).") from None
        raise
    finally:
        progress.close()
        if cache is not None:
            cache.close()


def _vocab_size(lm: Any) -> int | None:
    """The loaded model's vocabulary size (None for API backends)."""
    config = getattr(getattr(lm, "model", None), "config", None)
    value = getattr(config, "vocab_size", None) or getattr(
        getattr(config, "text_config", None), "vocab_size", None)
    return value if isinstance(value, int) else None


def _chunk(batch_size: str) -> int:
    return int(batch_size) if batch_size.isdigit() and int(batch_size) > 0 else 64


def _after(method: Any, hook: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        loaded = method(*args, **kwargs)
        hook(loaded)
        return loaded

    return wrapped




def copy_card(pretrained: Any, folder: Path) -> Path | None:
    """Copy a local model folder's imitation card next to its results, so that the lineage
    travels with the scores (the leaderboard reads it from there)."""
    if not pretrained:
        return None
    card = Path(str(pretrained)) / CARD_FILE
    if not card.is_file():
        return None
    target = folder / CARD_FILE
    tmp = target.with_suffix(".json.tmp")
    shutil.copyfile(card, tmp)
    tmp.replace(target)
    return target
