"""``python -m harness_tasks path`` prints the task folder; other words go to imitation-eval."""

from __future__ import annotations

import sys

from harness_tasks.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
