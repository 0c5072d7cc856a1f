"""TruthfulQA MC1 / MC2 (log-likelihood) and generation graded by an LLM judge; see README.md."""
