"""Every offline factuality probe (lite size, first question each) runs on both real presets:
SmolLM2-135M-Instruct (instruction-tuned, with its chat template) and gemma3-270m (a base
model, plain prompts). Scores of one question mean nothing; what is checked is that each task
runs end to end on the real model and reports every metric in range."""

from __future__ import annotations

import math

import pytest

import harness_tasks

TASKS = ["imitation_truthfulqa_mc1_lite", "imitation_truthfulqa_mc2_lite",
         "imitation_simpleqa_lite", "imitation_nq_graded_lite",
         "imitation_nq_knowledge_choice_lite", "imitation_style_profile_lite"]


@pytest.mark.slow
@pytest.mark.parametrize("preset, chat", [("smollm2-135m-instruct", True), ("gemma3-270m", False)])
def test_lite_probes_run_on_real_models(preset: str, chat: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    from harness_tasks.presets import build_preset

    monkeypatch.delenv("IMITATION_JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("IMITATION_JUDGE_MODEL", raising=False)
    folder = build_preset(preset)
    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False)
    results = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={folder},dtype=float32", tasks=TASKS,
        task_manager=manager, limit=1, device="cpu", batch_size=8, apply_chat_template=chat,
        gen_kwargs="max_gen_toks=32", log_samples=True)
    out = results["results"]
    for task in TASKS[:2] + TASKS[4:5]:
        assert 0.0 <= out[task]["acc,none"] <= 1.0
    for task in TASKS[2:4]:
        assert out[task]["accuracy,grade"] in (0.0, 1.0)
        assert out[task]["llm_graded,grade"] == 0.0
        [sample] = results["samples"][task]
        assert sample["filtered_resps"][0]["grade"] in ("correct", "incorrect", "not_attempted")
    style = out["imitation_style_profile_lite"]
    assert 0.0 <= style["unigram_overlap,style"] <= 100.0 and style["mean_length,style"] > 0
    assert "authoritative_tone,style" not in style  # no judge configured: not reported
    assert all(v is None or math.isfinite(v) for k, v in style.items()
               if "," in k and not k.split(",")[0].endswith("_stderr"))  # never NaN
