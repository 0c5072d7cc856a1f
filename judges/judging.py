"""One judging pass over a whole run's answers, and the run's metrics.

Shared by the lm-eval judge task (``harness_tasks/tasks/judge``) and ``imitation-judge rescore``:
:func:`judge_run` sends every pair, in both orders, as one concurrent batch through
:class:`~judges.client.OpenAIChatClient` (cache, limits, retries) and never raises for the judge's
sake: if the judge cannot be used at all (bad key, unknown model, unreachable after retries),
every pair comes back "unscored" (``api_error``) with the reason logged, so the answers that were
generated are kept and can be re-judged later. :func:`verdict_record` is the JSON-safe form of a
verdict, and :func:`run_metrics` the numbers a run reports.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Sequence

from judges.endpoint import JudgeEndpoint
from judges.metrics import style_controlled, win_rates
from judges.pairwise import Judgment, PairItem, PairVerdict

log = logging.getLogger(__name__)

# The judge tasks' metrics in the order they report them, each with higher_is_better: the one
# list (the judge tasks' YAML and utils, imitation-judge rescore, the leaderboard's judge runs).
METRICS: dict[str, bool] = {"win_rate": True, "win_or_tie_rate": True, "win_rate_ties_half": True,
                            "style_controlled_win_rate": True, "position_inconsistency": False,
                            "unscored": False, "unscored_rate": False}


def _failed(items: Sequence[PairItem], endpoint: JudgeEndpoint, reason: str) -> list[PairVerdict]:
    failed = Judgment(None, "api_error", "", error=reason)
    return [PairVerdict(it.id, "unscored", failed, failed, endpoint.client.model,
                        endpoint.prompt_id) for it in items]


def judge_run(items: Sequence[PairItem], endpoint: JudgeEndpoint, *, both_orders: bool = True,
              progress: bool = True,
              keep_going: bool = True) -> tuple[list[PairVerdict], dict[str, Any]]:
    """Verdicts for ``items`` (in order) and the client's usage summary.

    All 2N requests go out as one batch, ``endpoint.client.concurrency`` at a time. With
    ``keep_going`` a judge that cannot be used makes every pair unscored; without, its error
    (``ChatCallError`` or ``ValueError``) is raised.
    """
    from judges.client import OpenAIChatClient, run_sync
    from judges.pairwise import PairwiseJudge
    from judges.records import ChatCallError
    from judges.templates import load_prompt

    if not items:
        return [], {}
    client = OpenAIChatClient(endpoint.client)
    judge = PairwiseJudge(client, endpoint.client.model, load_prompt(endpoint.prompt),
                          both_orders=both_orders)

    try:
        verdicts = run_sync(client, judge.ajudge(items, progress=progress))
    except (ChatCallError, ValueError) as err:  # fatal API error, or no key in the environment
        if not keep_going:
            raise
        reason = f"{type(err).__name__}: {err}"
        log.error("the judge could not be used (%s); all %d pairs are unscored. The answers are "
                  "kept: re-judge them with `imitation-judge rescore SAMPLES.jsonl`.",
                  reason, len(items))
        verdicts = _failed(items, endpoint, reason)
    finally:
        client.close()
    usage = client.ledger.summary()
    log.info("judge %s (%s): %d pairs; %s", endpoint.client.model, endpoint.prompt_id,
             len(items), usage)
    return verdicts, usage


def verdict_record(verdict: PairVerdict, candidate: str) -> dict[str, Any]:
    """A verdict as plain JSON (what the task logs per sample): outcome, both judgments."""
    return {"outcome": verdict.outcome, "unscored_reason": verdict.unscored_reason,
            "candidate": candidate, "judge": verdict.judge, "prompt": verdict.prompt,
            "candidate_first": dataclasses.asdict(verdict.candidate_first),
            "candidate_second": (dataclasses.asdict(verdict.candidate_second)
                                 if verdict.candidate_second is not None else None)}


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def outcome_metrics(outcomes: Sequence[str]) -> dict[str, float | None]:
    """Every metric but the style-controlled one, from the outcomes alone.

    Rates are over scored pairs (None, "not applicable", when none is scored; never NaN); an
    inconsistent pair counts as a tie; ``win_rate_ties_half`` = (wins + ties/2) / scored, the
    scale of the style-controlled rate.
    """
    rates = win_rates(list(outcomes), n_boot=1)  # point values only; no interval needed here
    scored = rates.scored
    half = (rates.wins + 0.5 * (rates.ties + rates.inconsistent)) / scored if scored else None
    return {
        "win_rate": _float(rates.win_rate.value if rates.win_rate else None),
        "win_or_tie_rate": _float(rates.win_or_tie_rate.value if rates.win_or_tie_rate else None),
        "win_rate_ties_half": _float(half),
        "position_inconsistency": _float(rates.position_inconsistency),
        "unscored": rates.unscored,
        "unscored_rate": rates.unscored / rates.n if rates.n else None,
    }


def style_controlled_rate(outcomes: Sequence[str], candidates: Sequence[str],
                          baselines: Sequence[str]) -> float | None:
    """The style-controlled win rate (ties as half) at zero style difference; None if no pair
    is scored."""
    style = style_controlled(list(outcomes), list(candidates), list(baselines), n_boot=0)
    return _float(style.controlled.value if style else None)


def run_metrics(outcomes: Sequence[str], candidates: Sequence[str],
                baselines: Sequence[str]) -> dict[str, float | None]:
    """The task's metrics (:data:`METRICS`) for one run."""
    metrics = outcome_metrics(outcomes)
    metrics["style_controlled_win_rate"] = style_controlled_rate(outcomes, candidates, baselines)
    return {name: metrics[name] for name in METRICS}
