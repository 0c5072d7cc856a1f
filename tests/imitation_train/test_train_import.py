"""Importing the trainer's modules does nothing expensive: no file, socket or process, and no
torch, transformers, accelerate, peft or trl until a command runs."""

from __future__ import annotations

from tests.support.import_probe import HEAVY, probe_imports

MODULES = ("cli", "chat_encoding", "pack", "attention", "model_setup", "train_config",
           "train_dataset", "trainer", "checkpoint", "card", "sweep")


def test_trainer_imports_are_cheap() -> None:
    imports = "\n".join(f"import imitation_train.{m}" for m in MODULES)
    found = probe_imports(imports, heavy=HEAVY + ("accelerate", "peft", "trl", "tqdm",
                                                  "harness_tasks.runner"))
    assert found == {"events": [], "heavy": []}
