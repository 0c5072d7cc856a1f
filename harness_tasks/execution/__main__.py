"""``python -m harness_tasks.execution SAMPLES.jsonl``: the same as ``imitation-eval humaneval-exec``."""

import sys

from harness_tasks.execution.cli import main

sys.exit(main())
