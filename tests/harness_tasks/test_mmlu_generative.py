"""The generative MMLU variant end to end on a real (tiny, random) HF model.

Checks that the generation settings are accepted by lm-eval's HF backend, with and without
a chat template, and that every reply ends up as a letter or as "unscored".
"""

from __future__ import annotations

import pytest
from lm_eval.evaluator import simple_evaluate
from lm_eval.tasks import TaskManager

from harness_tasks import task_dir
from harness_tasks.tasks.mmlu.utils import extract_letter

TASK = "imitation_mmlu_gen_lite_marketing"


@pytest.fixture(scope="module")
def tiny_lm(tiny_model_dir):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model_dir), batch_size=1, device="cpu", max_length=2048)


@pytest.mark.parametrize(("chat", "shots"), [(False, None), (True, 0)])
def test_gen_lite_runs_on_hf(tiny_lm, data_dir, chat, shots):
    manager = TaskManager(include_path=str(task_dir() / "mmlu"), include_defaults=False)
    out = simple_evaluate(model=tiny_lm, tasks=[TASK], task_manager=manager, limit=2,
                          num_fewshot=shots, apply_chat_template=chat, log_samples=True,
                          bootstrap_iters=0)
    assert out["n-shot"][TASK] == (5 if shots is None else 0)
    samples = out["samples"][TASK]
    assert len(samples) == 2
    for sample in samples:
        prompt, gen_kwargs = sample["arguments"][0]
        assert gen_kwargs["until"] == ["\n\n"] and gen_kwargs["max_gen_toks"] == 32
        assert ("<|im_start|>" in prompt) is chat
        reply, letter = sample["resps"][0][0], sample["filtered_resps"][0]
        assert letter == (extract_letter(reply, sample["doc"]["choices"]) or "")
        assert sample["unscored"] == (0.0 if letter else 1.0)
    row = out["results"][TASK]
    assert set(row) >= {"acc,letter", "acc_macro,letter", "unscored,letter"}
