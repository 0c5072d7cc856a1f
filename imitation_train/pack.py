"""Batches: packed rows without cross-contamination, or length-grouped padded rows.

Packed: examples go into rows of at most ``max_seq_len`` tokens by best-fit decreasing; each
example's position ids restart at 0, and each example attends only to itself: either the
micro-batch becomes one unpadded row with its example boundaries (``flat``: our packed
attention paths, or flash-attention 2's varlen kernel; see attention.py), or it stays a batch
of rows (``rows``) and transformers (5.x) turns the restarting position ids into a
block-diagonal causal mask (``masking_utils.find_packed_sequence_indices``: sdpa, eager,
flex). Targets are shifted per example before concatenation, so no example is trained to
predict the next one's first token.

Unpacked: rows of one example each, batched with examples of similar length (fewer pad tokens),
padded on the right. Right padding under a causal mask cannot change any real token's output,
so no attention mask is needed; padded positions carry target -100.

The plan (which examples form which micro-batch, in which order) is a pure function of the
lengths and the seed, so a resumed run rebuilds it exactly and continues at the same position.
"""

from __future__ import annotations

import bisect
import random
from typing import Any, Sequence

from imitation_train.chat_encoding import IGNORE, Example

Row = list[int]  # example indices
MicroBatch = list[Row]


def pack_bfd(lengths: Sequence[int], capacity: int) -> list[Row]:
    """Best-fit decreasing: each example (longest first) goes into the fullest row it fits."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[Row] = []
    free: list[tuple[int, int]] = []  # (remaining capacity, row index), sorted
    for i in order:
        need = lengths[i]
        if need > capacity:
            raise ValueError(f"example {i} has {need} tokens > max_seq_len={capacity}")
        at = bisect.bisect_left(free, (need, -1))
        if at < len(free):
            remaining, row = free.pop(at)
        else:
            remaining, row = capacity, len(rows)
            rows.append([])
        rows[row].append(i)
        remaining -= need
        if remaining > 0:
            bisect.insort(free, (remaining, row))
    return rows


def length_grouped_rows(lengths: Sequence[int], batch_size: int, rng: random.Random,
                        group: int = 64) -> list[MicroBatch]:
    """Shuffle, then sort within windows of ``group`` batches, so batches hold similar lengths."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * group
    batches: list[MicroBatch] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: -lengths[i])
        batches += [[[i] for i in chunk[b:b + batch_size]]
                    for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def plan_epoch(lengths: Sequence[int], *, packing: bool, max_seq_len: int, batch_size: int,
               seed: int, epoch: int) -> list[MicroBatch]:
    """Micro-batches of one epoch, deterministic in (lengths, settings, seed, epoch)."""
    rng = random.Random(f"{seed}:{epoch}")
    if not packing:
        return length_grouped_rows(lengths, batch_size, rng)
    rows = pack_bfd(lengths, max_seq_len)
    rng.shuffle(rows)
    return [rows[b:b + batch_size] for b in range(0, len(rows), batch_size)]


LAYOUTS = ("padded", "rows", "flat")


def collate(examples: Sequence[Example], batch: MicroBatch, pad_id: int, layout: str,
            multiple_of: int = 1) -> dict[str, Any]:
    """Tensors for one micro-batch.

    - ``padded``: one example per row, right-padded (no attention mask needed: causal);
    - ``rows``: packed rows with position ids restarting per example (transformers builds a
      block-diagonal mask from them under sdpa / eager / flex);
    - ``flat``: the whole micro-batch as ONE row without padding, plus the example boundaries
      (``packed_segments`` for imitation_varlen / imitation_flex, ``cu_seq_lens_*`` and
      ``max_length_*`` for imitation_torch_varlen and flash-attention 2).

    Every layout also carries ``supervised_index``, the flat positions where targets are
    not -100 (the loss model reads it instead of a boolean mask on the device).
    """
    import torch

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "flat":
        return _flat(examples, [i for row in batch for i in row], pad_id, multiple_of)
    rows_ids, rows_targets, rows_pos = [], [], []
    for row in batch:
        rows_ids.append([t for i in row for t in examples[i].input_ids])
        rows_targets.append([t for i in row for t in examples[i].targets])
        rows_pos.append([p for i in row for p in range(len(examples[i]))])
    width = max(len(r) for r in rows_ids)
    width = -(-width // multiple_of) * multiple_of
    for ids, targets, pos in zip(rows_ids, rows_targets, rows_pos):
        pad = width - len(ids)
        ids += [pad_id] * pad
        targets += [IGNORE] * pad
        pos += [0] * pad  # each pad token is a segment of its own (and comes last)
    targets = torch.tensor(rows_targets, dtype=torch.long)
    out = {"input_ids": torch.tensor(rows_ids, dtype=torch.long), "targets": targets,
           "supervised_index": _supervised_index(targets)}
    if layout == "rows":
        out["position_ids"] = torch.tensor(rows_pos, dtype=torch.long)
    return out


def _supervised_index(targets: Any) -> Any:
    """Flat positions of the supervised tokens, found on the host so that the loss never
    needs a data-dependent (synchronising) boolean index on the device."""
    return (targets.reshape(-1) != IGNORE).nonzero().reshape(-1)


def _flat(examples: Sequence[Example], order: list[int], pad_id: int,
          multiple_of: int) -> dict[str, Any]:
    """One unpadded row; with ``multiple_of`` > 1 the row is filled up to a multiple of it by
    one trailing pad segment of its own (attends only to itself, target -100)."""
    import torch

    ids = [t for i in order for t in examples[i].input_ids]
    targets = [t for i in order for t in examples[i].targets]
    pos = [p for i in order for p in range(len(examples[i]))]
    bounds = [0]
    for i in order:
        bounds.append(bounds[-1] + len(examples[i]))
    pad = -len(ids) % multiple_of
    if pad:
        ids += [pad_id] * pad
        targets += [IGNORE] * pad
        pos += list(range(pad))
        bounds.append(bounds[-1] + pad)
    cu = torch.tensor(bounds, dtype=torch.int32)
    longest = max(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    target_row = torch.tensor([targets])
    return {"input_ids": torch.tensor([ids]), "targets": target_row,
            "supervised_index": _supervised_index(target_row),
            "position_ids": torch.tensor([pos]),
            "packed_segments": tuple(zip(bounds[:-1], bounds[1:])),
            "cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": longest,
            "max_length_k": longest}


def to_device(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    """Tensors to ``device``; to a GPU through pinned memory without waiting for the copy."""
    if getattr(device, "type", device) != "cuda":
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    return {k: v.pin_memory().to(device, non_blocking=True) if hasattr(v, "to") else v
            for k, v in batch.items()}


def batch_tokens(examples: Sequence[Example], batch: MicroBatch) -> tuple[int, int]:
    """(real tokens, supervised tokens) of a micro-batch."""
    tokens = sum(len(examples[i]) for row in batch for i in row)
    supervised = sum(examples[i].supervised for row in batch for i in row)
    return tokens, supervised
