"""The settings of ``imitation-train sft``: one dataclass, each field a CLI flag (judges.config),
optionally read from YAML (unknown keys are an error). Written as ``train_config.json`` next to
the output and inside ``imitation_card.json``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _h(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class SFTConfig:
    model: str = field(default="smollm2-135m-instruct", metadata=_h(
        "base model: preset name (smollm2-135m-instruct, gemma3-270m), HF folder or Hub id"))
    data: str = field(default="", metadata=_h(
        "training data file(s), comma-separated: normalised JSONL (imitation-train prepare) "
        "or any raw format imitation_train.record_loader reads"))
    data_format: str = field(default="auto", metadata=_h(
        "format of --data files: auto, normalised, or a raw format of "
        "imitation_train.record_loader"))
    output_dir: str = field(default="checkpoints/sft", metadata=_h(
        "where the model folder, checkpoints/ and imitation_card.json go"))
    revision: str | None = field(default=None, metadata=_h("Hub revision of --model"))
    chat_template: str = field(default="auto", metadata=_h(
        "auto (the model's own, else vicuna), model, vicuna, chatml, or a .jinja file"))
    eot_token: str | None = field(default=None, metadata=_h(
        "end-of-turn token (default: the template's: <|im_end|> for chatml, eos for vicuna)"))
    max_seq_len: int = field(default=2048, metadata=_h(
        "tokens per row; longer conversations are cut after the last whole reply that fits"))
    packing: bool = field(default=True, metadata=_h(
        "pack examples into rows (each attends only to itself); off: length-grouped batches"))
    batch_size: int = field(default=8, metadata=_h("rows per micro-batch per device"))
    grad_accum: int = field(default=1, metadata=_h("micro-batches per optimizer step"))
    epochs: int = field(default=1, metadata=_h("passes over the data"))
    max_steps: int | None = field(default=None, metadata=_h(
        "stop after this many optimizer steps (default: all epochs)"))
    lr: float = field(default=2e-5, metadata=_h("peak learning rate (AdamW)"))
    weight_decay: float = field(default=0.0, metadata=_h("AdamW weight decay"))
    warmup_steps: int | None = field(default=None, metadata=_h(
        "linear warm-up steps (default: warmup_ratio of all steps)"))
    warmup_ratio: float = field(default=0.03, metadata=_h("warm-up share when steps not given"))
    max_grad_norm: float = field(default=1.0, metadata=_h("gradient clipping (0: off)"))
    precision: str = field(default="auto", metadata=_h(
        "auto (bf16 on a GPU that supports it, else fp32), bf16 or fp32"))
    gradient_checkpointing: bool = field(default=False, metadata=_h(
        "recompute activations in the backward pass (less memory, ~30% slower)"))
    attn_implementation: str = field(default="auto", metadata=_h(
        "auto (packing: flash_attention_2 on a GPU when installed, else "
        "imitation_torch_varlen on a bf16 GPU, else imitation_varlen; no packing: sdpa), or "
        "imitation_varlen (per-example SDPA on one unpadded row, the reference), "
        "imitation_flex (flex_attention, document mask; compiled on a GPU), "
        "imitation_torch_varlen (torch.nn.attention.varlen, GPU bf16), flash_attention_2, "
        "sdpa, eager, flex_attention (sdpa/eager/flex_attention: packed rows with a "
        "block-diagonal mask); every choice keeps packed examples apart"))
    loss_chunk: int = field(default=4096, metadata=_h(
        "supervised tokens per chunk of the output head + cross-entropy (gradients computed "
        "chunk by chunk, no full-vocabulary logits kept); 0: one pass over full logits"))
    compile_layers: bool = field(default=False, metadata=_h(
        "torch.compile each decoder layer (GPU; not with imitation_varlen, whose per-example "
        "loop recompiles for every batch)"))
    lora: bool = field(default=False, metadata=_h("train LoRA adapters (peft) instead of all"))
    lora_r: int = field(default=16, metadata=_h("LoRA rank"))
    lora_alpha: int = field(default=32, metadata=_h("LoRA alpha"))
    lora_dropout: float = field(default=0.05, metadata=_h("LoRA dropout"))
    lora_targets: str = field(default="all-linear", metadata=_h(
        "LoRA target modules, comma-separated, or all-linear"))
    seed: int = field(default=1234, metadata=_h("seed of the data order and initialisation"))
    token_budget: int | None = field(default=None, metadata=_h(
        "train on a deterministic subset of about this many tokens (nested across budgets; "
        "needs imitation_train.budget)"))
    data_kind: str | None = field(default=None, metadata=_h(
        "data kind recorded in the card, e.g. broad or local (default: the sources' names)"))
    teacher: str | None = field(default=None, metadata=_h(
        "teacher recorded in the card (default: the records' teacher field)"))
    contamination_report: str | None = field(default=None, metadata=_h(
        "JSON file with contamination-filter counts to record in the card"))
    save_every: int = field(default=0, metadata=_h(
        "save a resumable checkpoint every N optimizer steps (0: only at the end)"))
    save_total_limit: int = field(default=2, metadata=_h("checkpoints to keep"))
    resume: str = field(default="auto", metadata=_h(
        "auto (continue from the newest checkpoint in output_dir), never, or a checkpoint"))
    log_every: int = field(default=10, metadata=_h("log every N optimizer steps"))
    peak_tflops: float | None = field(default=None, metadata=_h(
        "accelerator peak TFLOP/s for MFU (default: looked up from the GPU name)"))

    def __post_init__(self) -> None:
        positive = ("max_seq_len", "batch_size", "grad_accum", "epochs", "lora_r", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or unset, got {self.max_steps}")
        if not 0 < self.lr < math.inf:  # NaN fails every comparison: it trained NaNs
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        for name in ("weight_decay", "max_grad_norm"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.peak_tflops is not None and not 0 < self.peak_tflops < math.inf:
            raise ValueError(f"peak_tflops must be a finite number > 0 or unset, got "
                             f"{self.peak_tflops}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.loss_chunk < 0:
            raise ValueError(f"loss_chunk must be >= 0 (0: no chunking), got {self.loss_chunk}")
        if self.save_every < 0 or self.save_total_limit < 1:
            raise ValueError("save_every must be >= 0 and save_total_limit >= 1")
