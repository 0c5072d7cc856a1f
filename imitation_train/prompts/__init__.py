"""Teacher prompts as versioned YAML files (``name``, ``version``, ``system``, ``user``).

A prompt's identity ``name@vN`` goes into every request's cache key, so editing a prompt's text
without bumping its version would replay old replies: the tests pin each file's hash.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

KEYS = {"name", "version", "description", "system", "user"}


@dataclass(frozen=True)
class TeacherPrompt:
    name: str
    version: int
    system: str
    user: str

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.user) if f}

    def user_text(self, **values: str) -> str:
        missing = self.fields - set(values)
        if missing:
            raise ValueError(f"teacher prompt {self.id} needs {sorted(missing)}")
        return self.user.strip().format(**values)  # the template is stripped, never the values

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The system message (when the prompt has one) and the user message."""
        system = [{"role": "system", "content": self.system.strip()}] if self.system.strip() else []
        return system + [{"role": "user", "content": self.user_text(**values)}]


def load_prompt(name_or_path: str) -> TeacherPrompt:
    """A shipped prompt by name (``nq_synthetic_generate``) or a YAML file of the same shape."""
    import yaml

    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        shipped = resources.files(__package__).joinpath(f"{name_or_path}.yaml")
        if not shipped.is_file():
            known = sorted(p.name[:-5] for p in resources.files(__package__).iterdir()
                           if p.name.endswith(".yaml"))
            raise ValueError(f"no teacher prompt {name_or_path!r}: give a YAML file or one of "
                             f"{', '.join(known)}")
        text = shipped.read_text(encoding="utf-8")
        source = f"imitation_train/prompts/{name_or_path}.yaml"
    data = yaml.safe_load(text)
    required = {"name", "version", "user"}
    if not isinstance(data, dict) or set(data) - KEYS or not required <= set(data):
        raise ValueError(f"{source}: a teacher prompt is a mapping with name, version, user "
                         f"(and optional system, description); got keys {sorted(data or {})}")
    if not isinstance(data["version"], int):
        raise ValueError(f"{source}: version must be an integer")
    return TeacherPrompt(str(data["name"]), data["version"], str(data.get("system") or ""),
                         str(data["user"]))
