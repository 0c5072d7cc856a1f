"""Three-way grades from an LLM judge (``judges.grading.FactualGrader``), for the tasks.

The judge endpoint comes from the same settings as the judge tasks (``judges.endpoint``:
``IMITATION_JUDGE_BASE_URL`` / ``IMITATION_JUDGE_MODEL`` / key in ``OPENAI_API_KEY``, or
``judge_*`` task metadata). SimpleQA and NQ grade deterministically when no judge is set
(:func:`optional_endpoint` gives None); TruthfulQA generation needs one
(:func:`required_endpoint` stops the run before generating). A judge that cannot be used at
all makes every answer "unscored" (logged), never a grade; the generated answers are kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from judges.endpoint import ENV_PREFIX, SETTING_PREFIX, JudgeEndpoint, resolve

log = logging.getLogger(__name__)

FACTUAL_PROMPT = "factual"
_SIGNALS = ("base_url", "model", "config")


def _cache_default() -> dict[str, Any]:
    from harness_tasks.presets import cache_root

    return {"cache_path": str(cache_root() / "judge-cache.sqlite")}


def judge_requested(metadata: Mapping[str, Any],
                    environ: Mapping[str, str] | None = None) -> bool:
    """True when any judge setting (base URL, model or config file) is given."""
    environ = os.environ if environ is None else environ
    return any(environ.get(ENV_PREFIX + name.upper()) or metadata.get(SETTING_PREFIX + name)
               for name in _SIGNALS)


def required_endpoint(metadata: Mapping[str, Any]) -> JudgeEndpoint:
    """The configured judge; raises ``JudgeNotConfigured`` (a ValueError) naming what to set.

    The pairwise-prompt setting of the judge tasks is irrelevant here (the factual prompt is
    used), so it is pinned to keep an ``IMITATION_JUDGE_PROMPT`` meant for them from failing.
    """
    settings = {k: v for k, v in metadata.items() if k.startswith(SETTING_PREFIX)}
    settings[SETTING_PREFIX + "prompt"] = "pairwise"
    return resolve(settings, defaults=_cache_default())


def optional_endpoint(metadata: Mapping[str, Any]) -> JudgeEndpoint | None:
    """The judge when one is requested (errors in its settings are raised), else None."""
    if not judge_requested(metadata):
        return None
    return required_endpoint(metadata)


def grader_name(endpoint: JudgeEndpoint | None) -> str:
    """What a result names as its grader: ``deterministic`` or ``llm:<model>@<prompt>``."""
    if endpoint is None:
        return "deterministic"
    return f"llm:{endpoint.client.model}@{FACTUAL_PROMPT}"


def grade_with_llm(questions: Sequence[str], golds: Sequence[str], answers: Sequence[str],
                   endpoint: JudgeEndpoint, *, progress: bool = True) -> list[dict[str, Any]]:
    """One record per answer: ``{"grade": outcome, "judge_text", "unscored_reason"}``.

    All answers go to the judge as one concurrent, cached batch. If the judge cannot be used
    (bad key, unknown model, unreachable after retries) every answer is "unscored".
    """
    from judges.client import OpenAIChatClient
    from judges.grading import FactItem, FactualGrader
    from judges.records import ChatCallError
    from judges.templates import load_prompt

    items = [FactItem(str(i), q, g, a) for i, (q, g, a) in
             enumerate(zip(questions, golds, answers))]
    client = OpenAIChatClient(endpoint.client)
    grader = FactualGrader(client, endpoint.client.model, load_prompt(FACTUAL_PROMPT))
    try:
        grades = grader.grade(items, progress=progress)
    except (ChatCallError, ValueError) as err:
        log.error("the factual judge could not be used (%s: %s); all %d answers are unscored",
                  type(err).__name__, err, len(items))
        return [{"grade": "unscored", "judge_text": "", "unscored_reason": "api_error"}
                for _ in items]
    finally:
        client.close()
    log.info("factual judge %s: %d answers; %s", endpoint.client.model, len(items),
             client.ledger.summary())
    return [{"grade": g.outcome, "judge_text": g.text, "unscored_reason": g.unscored}
            for g in grades]
