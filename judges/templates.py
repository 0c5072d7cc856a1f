"""Judge prompts as versioned data files (``judges/prompts/*.yaml``).

Each file states its own ``name`` and ``version`` (file names are for people, never parsed).
A prompt's identity, ``name@vN``, goes into every request's cache key and next to every number
it produces, so editing a prompt without bumping its version is caught by the tests.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

JudgeKind = Literal["pairwise", "single", "factual"]

PLACEHOLDERS: dict[str, list[set[str]]] = {
    # kind -> the field sets a user template may use (single: without or with a reference)
    "pairwise": [{"question", "answer_a", "answer_b"}],
    "single": [{"question", "answer"}, {"question", "answer", "reference"}],
    "factual": [{"question", "gold", "answer"}],
}
KEYS = {"name", "version", "kind", "description", "system", "user", "max_tokens"}


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    kind: JudgeKind
    description: str
    system: str
    user: str
    max_tokens: int

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def uses_reference(self) -> bool:
        return "reference" in self.fields

    @property
    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.user) if f}

    def messages(self, **values: str) -> list[dict[str, str]]:
        missing = self.fields - set(values)
        if missing:
            raise ValueError(f"prompt {self.id} needs {sorted(missing)}")
        return [{"role": "system", "content": self.system.strip()},
                {"role": "user", "content": self.user.format(**values).strip()}]


def parse_prompt(text: str, source: str) -> Prompt:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a prompt file is a mapping with keys {sorted(KEYS)}")
    unknown, missing = set(data) - KEYS, KEYS - set(data)
    if unknown or missing:
        raise ValueError(f"{source}: unknown keys {sorted(unknown)}, "
                         f"missing keys {sorted(missing)}")
    if data["kind"] not in PLACEHOLDERS:
        raise ValueError(f"{source}: kind must be one of {sorted(PLACEHOLDERS)}, "
                         f"got {data['kind']!r}")
    if not isinstance(data["version"], int) or data["version"] < 1:
        raise ValueError(f"{source}: version must be a whole number >= 1")
    prompt = Prompt(name=str(data["name"]), version=data["version"], kind=data["kind"],
                    description=str(data["description"]), system=str(data["system"]),
                    user=str(data["user"]), max_tokens=int(data["max_tokens"]))
    allowed = PLACEHOLDERS[prompt.kind]
    if prompt.fields not in allowed:
        raise ValueError(f"{source}: the user template of a {prompt.kind} prompt must use exactly "
                         f"{' or '.join(str(sorted(a)) for a in allowed)}; it uses "
                         f"{sorted(prompt.fields)}")
    return prompt


def shipped_prompts() -> dict[tuple[str, int], Prompt]:
    folder = resources.files("judges").joinpath("prompts")
    found: dict[tuple[str, int], Prompt] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            prompt = parse_prompt(entry.read_text(encoding="utf-8"), f"judges/prompts/{entry.name}")
            key = (prompt.name, prompt.version)
            if key in found:
                raise ValueError(f"judges/prompts/{entry.name}: {prompt.id} is defined twice")
            found[key] = prompt
    return found


def load_prompt(name_or_path: str, version: int | None = None) -> Prompt:
    """A shipped prompt by name (latest version unless ``version``), or a YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ValueError(f"prompt file {path} does not exist")
        return parse_prompt(path.read_text(encoding="utf-8"), str(path))
    prompts = shipped_prompts()
    versions = sorted(v for (n, v) in prompts if n == name_or_path)
    if not versions:
        names = sorted({n for n, _ in prompts})
        raise ValueError(f"no prompt named {name_or_path!r}; shipped: {', '.join(names)} "
                         "(or give a path to a .yaml prompt file)")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise ValueError(f"prompt {name_or_path!r} has versions {versions}, not {version}")
    return prompts[(name_or_path, chosen)]
