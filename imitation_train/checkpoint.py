"""Resumable checkpoints: accelerate's state (model, optimizer, scheduler, RNG) plus our
``trainer_state.json`` (optimizer step, data position, counters), written to a temporary
folder and renamed into place, so a crash never leaves a half checkpoint that looks whole."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
STATE_FILE = "trainer_state.json"


def checkpoint_root(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    root = checkpoint_root(output_dir)
    if not root.is_dir():
        return []
    done = [p for p in root.glob("step-*") if (p / STATE_FILE).is_file()]
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def find_resume(output_dir: str | Path, resume: str) -> Path | None:
    if resume == "never":
        return None
    if resume == "auto":
        found = list_checkpoints(output_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not (path / STATE_FILE).is_file():
        raise ValueError(f"--resume {resume}: not a checkpoint folder (no {STATE_FILE}); pass "
                         "auto, never, or an output_dir/checkpoints/step-N folder")
    return path


def save_checkpoint(accelerator: Any, output_dir: str | Path, step: int, state: dict[str, Any],
                    keep: int) -> Path:
    root = checkpoint_root(output_dir)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=False)
    accelerator.wait_for_everyone()  # every rank has written its part (RNG states) before the rename
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        for old in list_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("checkpoint: %s", final)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Any, path: Path, plan_key: dict[str, Any]) -> dict[str, Any]:
    state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    saved = state.get("plan_key", {})
    changed = sorted(k for k in set(saved) | set(plan_key) if saved.get(k) != plan_key.get(k))
    if changed:
        raise ValueError(f"cannot resume from {path}: these settings differ from the run that "
                         f"wrote it: {', '.join(changed)} (they decide the data order); use the "
                         "same settings, another --output-dir, or --resume never")
    accelerator.load_state(str(path))
    log.info("resumed from %s at step %d (micro-batch %d)", path, state["step"],
             state["micro_batch"])
    return state
