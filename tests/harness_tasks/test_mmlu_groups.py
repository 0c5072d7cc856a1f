"""Group aggregation through lm-eval with a scripted model: micro and macro averages.

Subjects get different numbers of questions (``samples=``) so that the micro average (per
question) and the macro average (per subject) differ and each can be checked by hand.
"""

from __future__ import annotations

import zlib
from statistics import mean

import pytest
from lm_eval.api.model import LM
from lm_eval.evaluator import simple_evaluate
from lm_eval.tasks import TaskManager

from harness_tasks import task_dir
from harness_tasks.tasks.mmlu.subjects import CATEGORIES, SUBJECTS
from harness_tasks.tasks.mmlu.utils import extract_letter

REPLIES = ["The answer is {L}.", "({L})", "**{L}**", "Answer: {l}", "I am not sure."]


class ScriptedLM(LM):
    """Prefers the letter crc32(prompt) % 4; its replies cycle through REPLIES."""

    @staticmethod
    def _pick(context: str) -> tuple[int, str]:
        code = zlib.crc32(context.encode("utf-8"))
        return code, "ABCD"[code % 4]

    def loglikelihood(self, requests):
        out = []
        for request in requests:
            context, continuation = request.args
            _, letter = self._pick(context)
            out.append((0.0 if continuation == f" {letter}" else -1.0, False))
        return out

    def loglikelihood_rolling(self, requests):  # pragma: no cover - not used by MMLU
        raise NotImplementedError

    def generate_until(self, requests):
        out = []
        for request in requests:
            code, letter = self._pick(request.args[0])
            out.append(REPLIES[code % len(REPLIES)].format(L=letter, l=letter.lower()))
        return out


@pytest.fixture(scope="module")
def manager(data_dir):
    return TaskManager(include_path=str(task_dir() / "mmlu"), include_defaults=False)


def _sizes(prefix: str) -> dict[str, list[int]]:
    return {f"{prefix}_{s}": list(range(1 + i % 4)) for i, s in enumerate(SUBJECTS)}


def _check_group(results, samples, prefix, filter_name):
    per_subject = {s: [x["acc"] for x in samples[f"{prefix}_{s}"]] for s in SUBJECTS}
    for group, members in [(prefix, list(SUBJECTS))] + [
        (f"{prefix}_{c}", [s for s in SUBJECTS if SUBJECTS[s] == c]) for c in CATEGORIES
    ]:
        row = results[group]
        scores = [a for s in members for a in per_subject[s]]
        assert row[f"acc,{filter_name}"] == pytest.approx(mean(scores))  # micro
        macro = mean(mean(per_subject[s]) for s in members)
        assert row[f"acc_macro,{filter_name}"] == pytest.approx(macro)
    top = results[prefix]
    assert top[f"acc,{filter_name}"] != pytest.approx(top[f"acc_macro,{filter_name}"])


def test_loglikelihood_groups_report_micro_and_macro(manager):
    out = simple_evaluate(model=ScriptedLM(), tasks=["imitation_mmlu"], task_manager=manager,
                          samples=_sizes("imitation_mmlu"), log_samples=True, bootstrap_iters=0)
    assert out["n-shot"]["imitation_mmlu_anatomy"] == 5
    _check_group(out["results"], out["samples"], "imitation_mmlu", "none")


def test_generative_groups_score_extracted_letters(manager):
    prefix = "imitation_mmlu_gen"
    out = simple_evaluate(model=ScriptedLM(), tasks=[prefix], task_manager=manager,
                          samples=_sizes(prefix), log_samples=True, bootstrap_iters=0)
    samples = out["samples"]
    _check_group(out["results"], samples, prefix, "letter")
    replies = [x["resps"][0][0] for s in SUBJECTS for x in samples[f"{prefix}_{s}"]]
    letters = [x["filtered_resps"][0] for s in SUBJECTS for x in samples[f"{prefix}_{s}"]]
    assert letters == [extract_letter(r) or "" for r in replies]
    unscored = [x["unscored"] for s in SUBJECTS for x in samples[f"{prefix}_{s}"]]
    assert unscored == [1.0 if r == "I am not sure." else 0.0 for r in replies]
    assert 0 < out["results"][prefix]["unscored,letter"] < 1
    assert out["results"][prefix]["unscored,letter"] == pytest.approx(mean(unscored))
