"""Teacher prompts as versioned YAML files (``name``, ``version``, ``system``, ``user``).

A prompt's identity ``name@vN`` goes into every request's cache key, so editing a prompt's text
without bumping its version would replay old replies: the tests pin each file's hash.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from judges.templates import PromptFiles

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
    return TEACHER_PROMPTS.load(name_or_path)


TEACHER_PROMPTS = PromptFiles(  # judges' loader of versioned prompt files
    "teacher prompt", __package__, "", frozenset(KEYS), frozenset({"name", "version", "user"}),
    lambda data, _: TeacherPrompt(str(data["name"]), data["version"],
                                  str(data.get("system") or ""), str(data["user"])))
