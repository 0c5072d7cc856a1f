"""Prompts as versioned data files: the judge prompts (``judges/prompts/*.yaml``) and, through
the same loader (:class:`PromptFiles`), every other family of versioned prompt files (the
teacher prompts of ``imitation_train.prompts``).

Each file states its own ``name`` and ``version`` (file names are for people, never parsed).
A prompt's identity, ``name@vN``, goes into every request's cache key and next to every number
it produces, so editing a prompt without bumping its version is caught by the tests.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

JudgeKind = Literal["pairwise", "single", "factual"]

PLACEHOLDERS: dict[str, list[set[str]]] = {
    # kind -> the field sets a user template may use (single: without or with a reference)
    "pairwise": [{"question", "answer_a", "answer_b"}],
    "single": [{"question", "answer"}, {"question", "answer", "reference"}],
    "factual": [{"question", "gold", "answer"}],
}
KEYS = frozenset({"name", "version", "kind", "description", "system", "user", "max_tokens"})


class Versioned(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...


P = TypeVar("P", bound=Versioned)


@dataclass(frozen=True)
class PromptFiles(Generic[P]):
    """One family of versioned prompt files: YAML mappings with at least ``name`` and a
    ``version`` >= 1, shipped as the ``*.yaml`` files of a package folder or given by path."""

    what: str  # how messages name one: "prompt", "teacher prompt"
    package: str  # the shipped files are in this package's ...
    folder: str  # ... folder ("" for the package's own)
    keys: frozenset[str]  # the keys a file may have
    required: frozenset[str]  # the keys it must have
    make: Callable[[dict[str, Any], str], P]  # (checked mapping, source) -> prompt

    def parse(self, text: str, source: str) -> P:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{source}: not valid YAML ({err})") from None
        found = set(data) if isinstance(data, dict) else set()
        unknown, missing = found - self.keys, self.required - found
        if not isinstance(data, dict) or unknown or missing:
            optional = sorted(self.keys - self.required)
            raise ValueError(f"{source}: a {self.what} is a mapping with keys "
                             f"{sorted(self.required)}" + (f" (optional: {optional})" if
                                                           optional else "") +
                             f"; unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"{source}: version must be a whole number >= 1")
        return self.make(data, source)

    def shipped(self) -> dict[tuple[str, int], P]:
        """Every shipped file's prompt by (name, version); a pair defined twice is an error."""
        folder = resources.files(self.package).joinpath(self.folder)
        where = "/".join(filter(None, (self.package.replace(".", "/"), self.folder)))
        found: dict[tuple[str, int], P] = {}
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith((".yaml", ".yml")):
                source = f"{where}/{entry.name}"
                prompt = self.parse(entry.read_text(encoding="utf-8"), source)
                key = (prompt.name, prompt.version)
                if key in found:
                    raise ValueError(f"{source}: {prompt.name}@v{prompt.version} is defined twice")
                found[key] = prompt
        return found

    def load(self, name_or_path: str, version: int | None = None) -> P:
        """A shipped prompt by name (latest version unless ``version``), or a YAML file by path."""
        path = Path(name_or_path)
        if path.suffix in (".yaml", ".yml"):
            from judges.paths import read_text

            if not path.exists():
                raise ValueError(f"{self.what} file {path} does not exist")
            return self.parse(read_text(path, f"{self.what} file"), str(path))
        prompts = self.shipped()
        versions = sorted(v for (n, v) in prompts if n == name_or_path)
        if not versions:
            names = sorted({n for n, _ in prompts})
            raise ValueError(f"no {self.what} {name_or_path!r}; shipped: {', '.join(names)} "
                             "(or give a path to a .yaml file)")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise ValueError(f"{self.what} {name_or_path!r} has versions {versions}, not {version}")
        return prompts[(name_or_path, chosen)]


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


def _judge_prompt(data: dict[str, Any], source: str) -> Prompt:
    if data["kind"] not in PLACEHOLDERS:
        raise ValueError(f"{source}: kind must be one of {sorted(PLACEHOLDERS)}, "
                         f"got {data['kind']!r}")
    prompt = Prompt(name=str(data["name"]), version=data["version"], kind=data["kind"],
                    description=str(data["description"]), system=str(data["system"]),
                    user=str(data["user"]), max_tokens=int(data["max_tokens"]))
    allowed = PLACEHOLDERS[prompt.kind]
    if prompt.fields not in allowed:
        raise ValueError(f"{source}: the user template of a {prompt.kind} prompt must use exactly "
                         f"{' or '.join(str(sorted(a)) for a in allowed)}; it uses "
                         f"{sorted(prompt.fields)}")
    return prompt


JUDGE_PROMPTS: PromptFiles[Prompt] = PromptFiles("prompt", "judges", "prompts", KEYS, KEYS,
                                                 _judge_prompt)


def parse_prompt(text: str, source: str) -> Prompt:
    return JUDGE_PROMPTS.parse(text, source)


def shipped_prompts() -> dict[tuple[str, int], Prompt]:
    return JUDGE_PROMPTS.shipped()


def load_prompt(name_or_path: str, version: int | None = None) -> Prompt:
    """A shipped judge prompt by name (latest version unless ``version``), or a YAML file by
    path."""
    return JUDGE_PROMPTS.load(name_or_path, version)
