"""Skips for a missing system package, and the end-of-run list of what was skipped.

A test that needs a system program skips with ``needs(package, why)``: the reason ends with a
machine-readable tag, ``[needs: <package>]``, so the summary finds the install command by the
tag, never by the wording. ``write_skip_summary`` (called from tests/conftest.py's
``pytest_terminal_summary``) ends the run with each skip reason, its count and, for a tagged
one, the command that installs what is missing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

INSTALL = {
    "bubblewrap": "sudo apt-get install bubblewrap",
    "chromium": "sudo apt-get install chromium chromium-driver",
    "postgresql": "sudo apt-get install postgresql",
}
TAG = re.compile(r"\s*\[needs: ([a-z0-9-]+)\]$")


def needs(package: str, why: str) -> str:
    """The skip reason for a test that cannot run without ``package``: ``why [needs: package]``."""
    if package not in INSTALL:
        raise ValueError(f"unknown system package {package!r}: add its install command to "
                         f"tests/support/skips.py INSTALL (known: {', '.join(INSTALL)})")
    return f"{why} [needs: {package}]"


def skip_reason(report: Any) -> str:
    """The reason of a skipped test report (pytest keeps it as (path, line, 'Skipped: ...'))."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def summary_lines(reasons: Iterable[str]) -> list[str]:
    """One line per distinct reason, most frequent first: count, reason and, for a tagged
    reason, ``-> install command``."""
    lines = []
    for reason, count in sorted(Counter(reasons).items(), key=lambda kv: (-kv[1], kv[0])):
        tag = TAG.search(reason)
        text = TAG.sub("", reason)
        if tag:
            text += f"  ->  {INSTALL.get(tag.group(1), 'install ' + tag.group(1))}"
        lines.append(f"{count:4d}  {text}")
    return lines


def write_skip_summary(terminalreporter: Any) -> None:
    """End the run with what was skipped and how to install what the skips need."""
    reports = [r for r in terminalreporter.stats.get("skipped", []) if r.skipped]
    reasons = [skip_reason(r) for r in reports if not hasattr(r, "wasxfail")]
    if not reasons:
        return
    terminalreporter.section(f"{len(reasons)} skipped (count, reason  ->  what installs it)",
                             sep="-")
    for line in summary_lines(reasons):
        terminalreporter.write_line(line)
