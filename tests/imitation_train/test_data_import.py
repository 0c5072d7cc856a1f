"""Importing the data and collection modules does nothing expensive: no file, socket or process,
no heavy library (the HTML, MinHash and HTTP libraries load only when used)."""

from __future__ import annotations

from tests.support.import_probe import HEAVY, probe_imports

MODULES = ("record_loader", "input_formats", "dedup", "budget", "contamination", "prepare",
           "collect", "collect.broad", "collect.nq_synthetic", "prompts", "chat_records")


def test_imports_are_cheap() -> None:
    imports = "\n".join(f"import imitation_train.{m}" for m in MODULES)
    found = probe_imports(imports, heavy=HEAVY + ("datasketch", "markdownify", "bs4", "yaml",
                                                  "tqdm", "scipy", "harness_tasks.data"))
    assert found == {"events": [], "heavy": []}
