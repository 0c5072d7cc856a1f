"""Importing the suite does no I/O and pulls in no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys
events = []
def hook(event, args):
    if event == "open":
        path = str(args[0])
        if not path.endswith((".py", ".pyc", ".so", ".pth")) and "__pycache__" not in path:
            events.append(("open", path))
    elif event in ("socket.connect", "socket.getaddrinfo", "subprocess.Popen"):
        events.append((event, str(args[:2])))
sys.addaudithook(hook)
import harness_tasks, harness_tasks.data, harness_tasks.presets, harness_tasks.subsets
import harness_tasks.config, harness_tasks.runner, harness_tasks.cli, harness_tasks.catalog
import harness_tasks.tasks
import imitation_train, judges, leaderboard
heavy = sorted(m for m in ("torch", "transformers", "datasets", "lm_eval", "openai") if m in sys.modules)
print(json.dumps({"events": events, "heavy": heavy}))
"""


def test_import_does_no_io_and_loads_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["events"] == []
    assert report["heavy"] == []


def test_task_utils_import_without_io() -> None:
    """Every utils.py in the task folder imports with no file or network access."""
    probe = PROBE.replace(
        "import harness_tasks.tasks\n",
        "import harness_tasks.tasks, importlib, pkgutil\n"
        "for m in pkgutil.walk_packages(harness_tasks.tasks.__path__, 'harness_tasks.tasks.'):\n"
        "    importlib.import_module(m.name)\n",
    ).replace('"lm_eval", ', "")  # task utils may import lm_eval's filter base classes
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert [e for e in report["events"] if "site-packages" not in e[1]] == []
