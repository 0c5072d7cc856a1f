"""Load the base model for training and wrap it so the loss is computed inside ``forward``.

``LossModel.forward`` runs the transformer body, then the output head only at supervised
positions (the vocabulary projection of unsupervised tokens is never computed), and returns the
SUM of token cross-entropies. Computing the loss inside the wrapped module keeps DDP and FSDP
hooks in the path (they wrap this module), and summing lets the trainer divide by the
supervised tokens of the whole optimizer step across micro-batches and ranks.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def resolve_model(name: str) -> str:
    """A preset name, a local model folder or a Hub id (org/name) -> what ``from_pretrained``
    takes: a preset is built once, a folder checked (config and tokenizer), a Hub id passed
    through; a name that cannot be used is a ValueError naming the fix."""
    from harness_tasks.presets import resolve_model as resolve

    return resolve(name)


def make_loss_model(model: Any) -> Any:
    """An nn.Module around a causal LM whose forward returns (sum of CE, supervised count)."""
    import torch
    import torch.nn.functional as F

    class _LossModel(torch.nn.Module):
        def __init__(self, lm: Any) -> None:
            super().__init__()
            self.lm = lm
            hf = lm.get_base_model() if hasattr(lm, "get_base_model") else lm
            self._body = getattr(hf, "base_model", None) if hf.base_model is not hf else None
            self._head = hf.get_output_embeddings()
            self._softcap = getattr(hf.config, "final_logit_softcapping", None)
            self._scale = getattr(hf.config, "logit_scale", None)
            # FSDP's transformer-based auto-wrap reads this from the module it wraps
            self._no_split_modules = getattr(hf, "_no_split_modules", None)

        def forward(self, input_ids: Any, targets: Any, position_ids: Any = None,
                    **attention_kwargs: Any) -> Any:
            selected = targets != -100
            if self._body is None or self._head is None:  # generic path: full logits
                logits = self.lm(input_ids=input_ids, position_ids=position_ids,
                                 use_cache=False, **attention_kwargs).logits[selected]
            else:
                hidden = self._body(input_ids=input_ids, position_ids=position_ids,
                                    use_cache=False, **attention_kwargs).last_hidden_state
                logits = self._head(hidden[selected])
                if self._scale is not None:
                    logits = logits * self._scale
                if self._softcap is not None:
                    logits = torch.tanh(logits / self._softcap) * self._softcap
            if logits.dtype in (torch.bfloat16, torch.float16):
                logits = logits.float()
            return F.cross_entropy(logits, targets[selected], reduction="sum")

    return _LossModel(model)


def load_model(name_or_path: str, *, revision: str | None, attn: str, dtype: str,
               added_tokens: int, tokenizer_len: int, gradient_checkpointing: bool,
               lora: dict[str, Any] | None, seed: int) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    from imitation_train.attention import NAME, register

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(
        name_or_path, revision=revision, attn_implementation="sdpa" if attn == NAME else attn,
        dtype=torch.float32)  # master weights in fp32; bf16 compute through autocast
    if attn == NAME:
        model.set_attn_implementation(register())
    if added_tokens or model.get_input_embeddings().num_embeddings < tokenizer_len:
        model.resize_token_embeddings(tokenizer_len, mean_resizing=True)
    model.config.use_cache = False
    if gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})
    if lora:
        from peft import LoraConfig, get_peft_model

        targets = lora["targets"]
        config = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                            target_modules=targets if targets == "all-linear"
                            else [t.strip() for t in targets.split(",") if t.strip()],
                            task_type="CAUSAL_LM")
        if gradient_checkpointing:
            model.enable_input_require_grads()
        model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log.info("model %s: %.1fM parameters, %.1fM trainable", name_or_path, total / 1e6,
             trainable / 1e6)
    return model


def choose_attention(requested: str, packing: bool) -> tuple[str, str]:
    """(attention implementation, batch layout) for the settings: ``auto`` picks varlen
    attention for packing (flash-attention 2 on a GPU when installed, else ours)."""
    from imitation_train.attention import NAME, flash_varlen_available

    if not packing:
        return ("sdpa" if requested in ("auto", NAME) else requested), "padded"
    if requested == "auto":
        return ("flash_attention_2" if flash_varlen_available() else NAME), "flat"
    if requested in (NAME, "flash_attention_2"):
        return requested, "flat"
    return requested, "rows"


def flops_per_token(model: Any, seq_len: int) -> float:
    """Training FLOPs per token: 6 x (non-embedding params + output head) + attention
    (PaLM appendix B; the head counted as dense even though we skip unsupervised positions)."""
    cfg = getattr(model, "config", None)
    params = sum(p.numel() for n, p in model.named_parameters()
                 if "embed" not in n and "wte" not in n and "wpe" not in n and "lm_head" not in n)
    layers = getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0)
    hidden = getattr(cfg, "hidden_size", 0) or getattr(cfg, "n_embd", 0)
    vocab = getattr(cfg, "vocab_size", 0)
    return 6.0 * (params + vocab * hidden) + 12.0 * layers * hidden * seq_len


PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "H800": 989.0, "A100": 312.0, "A800": 312.0,
                    "L40S": 362.0, "L4": 121.0, "A10": 125.0, "4090": 165.0, "B200": 2250.0}


def peak_tflops(override: float | None) -> float | None:
    import torch

    if override:
        return override
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value
    log.warning("unknown GPU %r: pass --peak-tflops for MFU", name)
    return None
