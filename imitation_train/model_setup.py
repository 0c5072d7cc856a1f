"""Load the base model for training and wrap it so the loss is computed inside ``forward``.

``LossModel.forward`` runs the transformer body, then the output head only at supervised
positions (the vocabulary projection of unsupervised tokens is never computed), and returns the
SUM of token cross-entropies (in chunks of supervised tokens: head_loss.py). Computing the
loss inside the wrapped module keeps DDP and FSDP hooks in the path (they wrap this module),
and summing lets the trainer divide by the supervised tokens of the whole optimizer step
across micro-batches and ranks.
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


def make_loss_model(model: Any, loss_chunk: int = 0) -> Any:
    """An nn.Module around a causal LM whose forward returns the sum of token cross-entropies
    at supervised positions; ``loss_chunk`` > 0: the head and loss in chunks of that many
    tokens (head_loss.py), 0: full logits of the supervised positions."""
    import torch

    from imitation_train.attention import packed_kwargs
    from imitation_train.head_loss import head_loss

    class _LossModel(torch.nn.Module):
        def __init__(self, lm: Any) -> None:
            super().__init__()
            self.lm = lm
            hf = lm.get_base_model() if hasattr(lm, "get_base_model") else lm
            self._config = hf.config
            self._body = getattr(hf, "base_model", None) if hf.base_model is not hf else None
            self._head = hf.get_output_embeddings()
            self._softcap = getattr(hf.config, "final_logit_softcapping", None)
            self._scale = getattr(hf.config, "logit_scale", None)
            # FSDP's transformer-based auto-wrap reads this from the module it wraps
            self._no_split_modules = getattr(hf, "_no_split_modules", None)

        def forward(self, input_ids: Any, targets: Any, position_ids: Any = None,
                    supervised_index: Any = None, **attention_kwargs: Any) -> Any:
            if supervised_index is None:
                supervised_index = (targets.reshape(-1) != -100).nonzero().reshape(-1)
            wanted = targets.reshape(-1).index_select(0, supervised_index)
            attention_kwargs = packed_kwargs(self._config._attn_implementation,
                                             attention_kwargs, input_ids.shape[1],
                                             input_ids.device)
            plain = isinstance(self._head, torch.nn.Linear) and self._head.bias is None
            if self._body is None or not plain:  # generic path: the model's own logits
                logits = self.lm(input_ids=input_ids, position_ids=position_ids,
                                 use_cache=False, **attention_kwargs).logits
                logits = logits.reshape(-1, logits.shape[-1]).index_select(0, supervised_index)
                logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
                return torch.nn.functional.cross_entropy(logits, wanted, reduction="sum")
            hidden = self._body(input_ids=input_ids, position_ids=position_ids,
                                use_cache=False, **attention_kwargs).last_hidden_state
            hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, supervised_index)
            return head_loss(hidden, self._head.weight, wanted, chunk=loss_chunk,
                             scale=self._scale, softcap=self._softcap)

    return _LossModel(model)


def load_model(name_or_path: str, *, revision: str | None, attn: str, dtype: str,
               added_tokens: int, tokenizer_len: int, gradient_checkpointing: bool,
               lora: dict[str, Any] | None, seed: int) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    from imitation_train.attention import OURS, register

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(
        name_or_path, revision=revision, attn_implementation="sdpa" if attn in OURS else attn,
        dtype=torch.float32)  # master weights in fp32; bf16 compute through autocast
    if attn in OURS:
        register()
        model.set_attn_implementation(attn)
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


def choose_attention(requested: str, packing: bool, device: str = "cpu",
                     bf16: bool = False) -> tuple[str, str]:
    """(attention implementation, batch layout) for the settings. ``auto`` with packing:
    flash-attention 2 on a GPU when installed, else PyTorch's varlen_attn on a GPU that runs
    it in bf16, else the per-example SDPA reference (attention.py). A path that cannot run
    here is a ValueError naming the flag and the fix."""
    from imitation_train import attention as a

    if not packing:
        return ("sdpa" if requested in ("auto",) + a.OURS else requested), "padded"
    gpu = device == "cuda"
    if requested == "auto":
        if gpu and a.flash_varlen_available():
            return a.FLASH, "flat"
        if gpu and bf16 and a.torch_varlen_available():
            return a.TORCH_VARLEN, "flat"
        return a.NAME, "flat"
    if requested == a.TORCH_VARLEN and not (gpu and bf16 and a.torch_varlen_available()):
        raise ValueError(f"--attn-implementation {a.TORCH_VARLEN} needs a CUDA GPU of compute "
                         "capability >= 8.0 and bf16 (--precision bf16 or auto): PyTorch's "
                         "varlen_attn is a flash-attention kernel; use auto or imitation_varlen")
    if requested == a.FLEX and not a.flex_available():
        raise ValueError(f"--attn-implementation {a.FLEX} needs torch.nn.attention."
                         "flex_attention (torch >= 2.5); use auto or imitation_varlen")
    if requested in a.FLAT:
        return requested, "flat"
    return requested, "rows"


def compile_layers(model: Any) -> int:
    """torch.compile each decoder layer in place (the classes in ``_no_split_modules``);
    returns how many were compiled."""
    hf = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(hf, "_no_split_modules", None) or ())
    layers = [m for m in model.modules() if type(m).__name__ in names]
    for layer in layers:
        layer.compile()
    return len(layers)


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
