"""``imitation-train sft``: supervised fine-tuning read top to bottom: load, prepare, train, save.

Loss: the sum of token cross-entropies of an optimizer step divided by the number of supervised
tokens in that whole step, counted over every micro-batch of the accumulation and every rank
(all-reduced before the first backward), so long and short examples, micro-batches and ranks
weigh exactly as if the step were one big batch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imitation_train.attention import FLEX
from imitation_train.chat_encoding import ChatFormat, pad_id_for, prepare_format
from imitation_train.checkpoint import find_resume, load_checkpoint, save_checkpoint
from imitation_train.pack import MicroBatch, batch_tokens, collate, plan_epoch, to_device
from imitation_train.train_config import SFTConfig
from imitation_train.train_dataset import TrainData, load_train_data

log = logging.getLogger(__name__)
HOLD_ENV = "IMITATION_TRAIN_TEST_HOLD_AT_STEP"  # tests only: park mid-step so a test can kill


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    tokens: int
    supervised_tokens: int
    losses: list[float]
    card: dict[str, Any]


def _resolve_model(name: str) -> str:
    from imitation_train.model_setup import resolve_model

    return resolve_model(name)


def full_plan(lengths: list[int], cfg: SFTConfig, world: int) -> list[MicroBatch]:
    plan: list[MicroBatch] = []
    for epoch in range(cfg.epochs):
        plan += plan_epoch(lengths, packing=cfg.packing, max_seq_len=cfg.max_seq_len,
                           batch_size=cfg.batch_size, seed=cfg.seed, epoch=epoch)
    usable = len(plan) - len(plan) % world  # every rank gets the same number of micro-batches
    if usable == 0:
        raise ValueError(f"too little data: {len(plan)} micro-batch(es) for {world} process(es)")
    return plan[:usable]


def _plan_key(cfg: SFTConfig, data: TrainData, world: int) -> dict[str, Any]:
    return {"data": data.files, "examples": len(data.examples), "seed": cfg.seed,
            "packing": cfg.packing, "max_seq_len": cfg.max_seq_len, "batch_size": cfg.batch_size,
            "grad_accum": cfg.grad_accum, "epochs": cfg.epochs, "world_size": world,
            "token_budget": cfg.token_budget}


def _mixed_precision(cfg: SFTConfig) -> str:
    import torch

    if cfg.precision == "bf16":
        return "bf16"
    if cfg.precision == "auto" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def _hold_if_asked(step: int, output_dir: Path) -> None:
    value = os.environ.get(HOLD_ENV)
    if value and int(value) == step:
        (output_dir / ".held").write_text(str(step), encoding="utf-8")
        while True:
            time.sleep(1)


def backward_step(accelerator: Any, loss_model: Any, batches: Any, step_supervised: float,
                  after_first: Any = None) -> Any:
    """Forward and backward over the micro-batches of one optimizer step; returns the summed
    token loss. Each micro-batch's loss SUM is divided by the supervised tokens of the whole
    step over all ranks (``step_supervised``), times the world size because DDP/FSDP average
    gradients over ranks: the result is the gradient of the mean token loss of the step.
    Gradients are synchronised across ranks only on the last micro-batch."""
    import torch

    batches = list(batches) if not isinstance(batches, list) else batches
    scale = accelerator.num_processes / max(step_supervised, 1.0)
    total = torch.zeros((), device=accelerator.device)
    for j, batch in enumerate(batches):
        sync = j == len(batches) - 1
        with nullcontext() if sync else accelerator.no_sync(loss_model):
            loss_sum = loss_model(**batch)
            accelerator.backward(loss_sum * scale)
        total += loss_sum.detach()
        if j == 0 and after_first is not None:
            after_first()
    return total


@dataclass
class _Run:
    """Everything the loop needs, built once by :func:`_setup`."""

    cfg: SFTConfig
    accelerator: Any
    out: Path
    model_path: str
    chat: ChatFormat
    data: TrainData
    plan: list[MicroBatch]
    total_steps: int
    layout: str
    loss_model: Any
    optimizer: Any
    scheduler: Any
    params: list[Any]
    save_dtype: Any
    flops_per_token: float
    peak_tflops: float | None
    attn: str

    @property
    def per_step(self) -> int:
        return self.cfg.grad_accum * self.accelerator.num_processes


def _setup(cfg: SFTConfig) -> _Run:
    """Load: accelerator, tokenizer and chat format, data and its plan, model, optimizer."""
    import torch
    from accelerate import Accelerator
    from transformers import AutoTokenizer, get_cosine_schedule_with_warmup

    from imitation_train.model_setup import flops_per_token, make_loss_model, peak_tflops

    accelerator = Accelerator(mixed_precision=_mixed_precision(cfg))
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and accelerator.num_processes == 1:  # each would train alone, same folder
        raise ValueError(f"{launched} processes were launched but accelerate sees one; on CPU "
                         "set ACCELERATE_USE_CPU=1 (or launch with accelerate launch --cpu)")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = _resolve_model(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path, revision=cfg.revision)
    chat, added = prepare_format(tokenizer, cfg.chat_template, cfg.eot_token)
    data = load_train_data([p for p in cfg.data.split(",") if p.strip()], cfg.data_format, chat,
                           cfg.max_seq_len, cfg.token_budget, cfg.seed)
    plan = full_plan([len(e) for e in data.examples], cfg, accelerator.num_processes)
    total_steps = math.ceil(len(plan) / (cfg.grad_accum * accelerator.num_processes))
    total_steps = min(total_steps, cfg.max_steps or total_steps)
    model, attn, layout = _build_model(cfg, accelerator.device.type, model_path, len(added),
                                       len(tokenizer))
    fpt = flops_per_token(model, cfg.max_seq_len)
    loss_model = make_loss_model(model, cfg.loss_chunk)
    params = [p for p in loss_model.parameters() if p.requires_grad]
    fused = accelerator.device.type == "cuda"  # one kernel for all parameters
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(0.9, 0.95), fused=fused or None)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else \
        int(cfg.warmup_ratio * total_steps)
    scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total_steps)
    loss_model, optimizer = accelerator.prepare(loss_model, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    params = [p for p in loss_model.parameters() if p.requires_grad]  # FSDP replaces them
    return _Run(cfg, accelerator, out, model_path, chat, data, plan, total_steps, layout,
                loss_model, optimizer, scheduler, params, _base_dtype(model_path, cfg.revision),
                fpt, peak_tflops(cfg.peak_tflops), attn)


def _build_model(cfg: SFTConfig, device: str, model_path: str, added: int,
                 tokenizer_len: int) -> tuple[Any, str, str]:
    """(model, attention implementation, batch layout): the attention path chosen for the
    device and precision, the model loaded with it, its decoder layers compiled if asked."""
    from imitation_train.attention import NAME
    from imitation_train.model_setup import choose_attention, compile_layers, load_model

    attn, layout = choose_attention(cfg.attn_implementation, cfg.packing, device,
                                    _mixed_precision(cfg) == "bf16")
    if cfg.compile_layers and attn == NAME and layout == "flat":
        raise ValueError("--compile-layers with --attn-implementation imitation_varlen would "
                         "recompile for every batch (a Python loop over the examples): use "
                         "auto on a GPU, imitation_flex, imitation_torch_varlen or "
                         "flash_attention_2, or drop --compile-layers")
    log.info("attention: %s, batch layout: %s", attn, layout)
    lora = ({"r": cfg.lora_r, "alpha": cfg.lora_alpha, "dropout": cfg.lora_dropout,
             "targets": cfg.lora_targets} if cfg.lora else None)
    model = load_model(model_path, revision=cfg.revision, attn=attn, dtype=cfg.precision,
                       added_tokens=added, tokenizer_len=tokenizer_len,
                       gradient_checkpointing=cfg.gradient_checkpointing, lora=lora, seed=cfg.seed)
    if cfg.compile_layers:
        log.info("compiled %d decoder layers", compile_layers(model))
    return model, attn, layout


def _optimizer_step(run: _Run, step: int) -> tuple[Any, int, int]:
    """One optimizer step at the plan's position for ``step``: (this rank's summed token loss
    as a device tensor, tokens, supervised tokens over every rank). The token counts come
    from the plan, which every rank holds whole, so nothing waits for the device."""
    acc, examples = run.accelerator, run.data.examples
    first = step * run.per_step
    step_batches = run.plan[first:first + run.per_step]
    counts = [batch_tokens(examples, mb) for mb in step_batches]
    tokens, supervised = sum(c[0] for c in counts), sum(c[1] for c in counts)
    micro = step_batches[acc.process_index::acc.num_processes]
    cuda = acc.device.type == "cuda"
    multiple = (128 if run.attn == FLEX else 8) if cuda else 1
    pad_id = pad_id_for(run.chat)
    batches = (to_device(collate(examples, mb, pad_id, run.layout, multiple), acc.device)
               for mb in micro)
    loss_sum = backward_step(acc, run.loss_model, batches, float(supervised),
                             after_first=lambda: _hold_if_asked(step, run.out))
    if run.cfg.max_grad_norm > 0:
        acc.clip_grad_norm_(run.params, run.cfg.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return loss_sum, tokens, supervised


def _flush(acc: Any, pending: list[tuple[Any, int]], state: dict[str, Any]) -> float:
    """Bring the pending steps' losses to the host (one all-reduce, one copy) into
    ``state["losses"]``; returns the last step's loss. Called at logging and saving only."""
    import torch

    if pending:
        sums = acc.reduce(torch.stack([loss for loss, _ in pending]), reduction="sum")
        state["losses"] += [total / max(sup, 1) for total, (_, sup)
                            in zip(sums.tolist(), pending)]
        pending.clear()
    return state["losses"][-1]


def train(cfg: SFTConfig) -> TrainResult:
    """Load, prepare, train (resuming when a checkpoint is there), save. The loop never
    waits for the device except at logging and checkpoint steps."""
    from tqdm.auto import tqdm

    run = _setup(cfg)
    acc = run.accelerator
    key = _plan_key(cfg, run.data, acc.num_processes)
    state = {"step": 0, "micro_batch": 0, "tokens": 0, "supervised_tokens": 0, "losses": []}
    resume_from = find_resume(run.out, cfg.resume)
    if resume_from is not None:
        state = load_checkpoint(acc, resume_from, key)
    bar = tqdm(total=run.total_steps, initial=state["step"], desc="sft", unit="step",
               disable=not acc.is_main_process)
    window = [time.perf_counter(), 0, 0]  # start, tokens, supervised tokens
    pending: list[tuple[Any, int]] = []  # (device loss sum, supervised tokens) per step
    run.loss_model.train()
    while state["step"] < run.total_steps:
        loss_sum, tokens, supervised = _optimizer_step(run, state["step"])
        pending.append((loss_sum.detach(), supervised))
        state["step"] += 1
        state["micro_batch"] = min(state["step"] * run.per_step, len(run.plan))
        state["tokens"] += tokens
        state["supervised_tokens"] += supervised
        window[1] += tokens
        window[2] += supervised
        bar.update(1)
        done = state["step"] == run.total_steps
        save = (cfg.save_every and state["step"] % cfg.save_every == 0) or done
        if state["step"] % cfg.log_every == 0 or done:
            loss = _flush(acc, pending, state)  # waits for the device: the window is exact
            elapsed = max(time.perf_counter() - window[0], 1e-9)
            bar.set_postfix(loss=f"{loss:.4f}")
            _log_metrics(acc, run.out / "train_log.jsonl", state, loss,
                         run.scheduler.get_last_lr()[0], window[1] / elapsed,
                         window[2] / elapsed, run.flops_per_token, run.peak_tflops,
                         acc.num_processes)
            window = [time.perf_counter(), 0, 0]
        if save:
            _flush(acc, pending, state)
            save_checkpoint(acc, run.out, state["step"], {**state, "plan_key": key},
                            cfg.save_total_limit)
    bar.close()
    return _finish(acc, run.loss_model, cfg, run.chat, run.data, state, run.model_path, run.out,
                   run.total_steps, run.save_dtype)


def _base_dtype(model_path: str, revision: str | None) -> Any:
    """The dtype the base model was stored in: the fine-tuned model is saved the same way
    (training keeps fp32 master weights)."""
    import torch
    from transformers import AutoConfig

    dtype = getattr(AutoConfig.from_pretrained(model_path, revision=revision), "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else None


def _log_metrics(accelerator: Any, path: Path, state: dict[str, Any], loss: float, lr: float,
                 tok_s: float, sup_s: float, fpt: float, peak: float | None, world: int) -> None:
    if not accelerator.is_main_process:
        return
    row = {"step": state["step"], "loss": round(loss, 6), "lr": lr,
           "tokens_per_s": round(tok_s, 1), "supervised_tokens_per_s": round(sup_s, 1),
           "tokens": state["tokens"], "supervised_tokens": state["supervised_tokens"]}
    if peak:
        row["mfu"] = round(tok_s * fpt / (peak * 1e12 * world), 4)
    log.info("step %(step)d loss %(loss).4f tokens/s %(tokens_per_s).0f supervised/s "
             "%(supervised_tokens_per_s).0f", row)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def _finish(accelerator: Any, loss_model: Any, cfg: SFTConfig, chat: ChatFormat, data: TrainData,
            state: dict[str, Any], model_path: str, out: Path, total_steps: int,
            save_dtype: Any = None) -> TrainResult:
    from imitation_train.card import build_card, write_card

    from accelerate.utils import DistributedType

    accelerator.wait_for_everyone()
    lm = accelerator.unwrap_model(loss_model).lm
    sharded = accelerator.distributed_type == DistributedType.FSDP
    # FSDP: gather the full weights (every rank takes part); else the model itself is whole
    state_dict = accelerator.get_state_dict(loss_model) if sharded else None
    card: dict[str, Any] = {}
    if accelerator.is_main_process:
        if cfg.lora:
            lm, state_dict = lm.merge_and_unload(), None
        if state_dict is not None:
            state_dict = {k[len("lm."):]: v for k, v in state_dict.items() if k.startswith("lm.")}
            if getattr(lm.config, "tie_word_embeddings", False):
                state_dict.pop("lm_head.weight", None)
        if save_dtype is not None:
            if state_dict is None:
                lm = lm.to(save_dtype)
            else:
                state_dict = {k: v.to(save_dtype) if v.is_floating_point() else v
                              for k, v in state_dict.items()}
            lm.config.dtype = save_dtype
        final = out / "model"
        lm.config.use_cache = True
        lm.save_pretrained(final, state_dict=state_dict)
        chat.tokenizer.chat_template = chat.template
        chat.tokenizer.save_pretrained(final)
        (final / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n",
                                                 encoding="utf-8")
        card = build_card(cfg, data, chat, state, model_path, total_steps)
        write_card(final, card)
        log.info("model: %s", final)
    accelerator.wait_for_everyone()
    return TrainResult(out / "model", state["step"], state["tokens"], state["supervised_tokens"],
                       list(state["losses"]), card)
