"""Factuality probes that separate style from substance (issue 5): pure scoring helpers shared
by the task folders ``nq_open``, ``truthfulqa``, ``simpleqa`` and ``factuality`` (task folders
import from here, never the other way round).

- :mod:`~harness_tasks.factuality.scoring`: NQ-open's normalised exact match and token F1.
- :mod:`~harness_tasks.factuality.chat_answer`: the short answer a chat reply commits to.
- :mod:`~harness_tasks.factuality.threeway`: deterministic correct / incorrect / not-attempted
  grading with hedge and abstention detection, and the run metrics (accuracy, accuracy given
  attempted, SimpleQA F1, confident-wrong rate).
- :mod:`~harness_tasks.factuality.llm_grading`: the same three-way grades from an LLM judge
  (``judges.grading.FactualGrader``) when one is configured.
- :mod:`~harness_tasks.factuality.distractors`: multiple-choice distractors for NQ facts.
- :mod:`~harness_tasks.factuality.style_profile`: the paper's Table 2 style features.

Importing any of them does no I/O and builds no client.
"""
