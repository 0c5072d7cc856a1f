"""imitation_train resolves models with the suite's preset resolver: presets, folders and Hub
ids, with its error messages (each naming the fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imitation_train.model_setup import resolve_model


def test_a_checked_folder_resolves_to_itself(tiny_model_dir: Path) -> None:
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir.resolve())


def test_a_preset_resolves_to_its_built_folder(smollm2_dir: Path) -> None:
    assert Path(resolve_model("smollm2-135m-instruct")) == Path(smollm2_dir)


def test_a_hub_id_passes_through() -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_errors_name_the_fix(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="config.json is missing"):
        resolve_model(str(tmp_path))
    with pytest.raises(ValueError, match="is a file"):
        resolve_model(str(tmp_path / "weights.bin"))
    with pytest.raises(ValueError, match="does not exist"):
        resolve_model(str(tmp_path / "nothing-here"))
    with pytest.raises(ValueError, match="smollm2-135m-instruct"):  # lists the presets
        resolve_model("no-such-preset")
