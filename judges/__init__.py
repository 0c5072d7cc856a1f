"""judges: LLM-as-judge over any OpenAI-compatible endpoint, and how far to trust it.

- ``judges.client``: the chat-completion seam (``ChatClient``) and ``OpenAIChatClient`` on the
  official SDK: concurrency, RPM/TPM limits, bounded retries, a resumable SQLite cache, cost
  accounting with a max-cost guard. Shared with teacher-data collection.
- ``judges.pairwise``: both-order pairwise judging (win / loss / tie / inconsistent / unscored).
- ``judges.grading``: 1-10 grading with or without a reference; factual grading against gold
  answers (correct / incorrect / not attempted).
- ``judges.metrics``: win rates with bootstrap intervals, and the style-controlled win rate.
- ``judges.agreement``: judge-vs-human agreement on PandaLM and Auto-J; ``judges.cli`` is
  ``imitation-judge``.
- ``judges.endpoint``: judge settings from the environment or task metadata;
  ``judges.judging``: one batched judging pass and its metrics (used by the lm-eval judge
  tasks); ``judges.rescore``: re-judge an earlier run's samples file.
- ``judges.config`` and ``judges.paths``: the command-line plumbing of all four commands (config
  dataclasses as flags, ``run_main``) and the checks of the paths a user names (UTF-8 input
  files, SQLite files, writable outputs), each failure one line naming the file or flag.

Prompts are versioned data files in ``judges/prompts``. This package imports no other package
of the suite, and importing it builds no client and reads no secret.
"""
