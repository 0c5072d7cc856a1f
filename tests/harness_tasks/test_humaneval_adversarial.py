"""An adversarial corpus: hostile programs are contained, get the right verdict, and the next
program still runs.

Each program's candidate tries an attack and returns 42 only if the attack got through, so
"passed" would mean a breach; the checks are ``assert candidate(0) == 42``. Every hostile job
is followed by a harmless sentinel that must pass. Afterwards, from outside the sandbox: a
marker file and a decoy working tree are untouched, the real listener on 127.0.0.1 saw no
connection, and the fake secrets set in this process never appear in any verdict.

Destructive programs target a decoy tree under tmp_path (as invisible to the sandbox as the
real working tree, which they only try to read): a sandbox bug must not cost the repository.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.records import Job
from harness_tasks.execution.sandbox import find_bwrap
from tests.support.skips import needs

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"IMITATION_FAKE_SECRET": "s3cr3t-imitation-canary", "HF_TOKEN": "hf_canary123456",
           "OPENAI_API_KEY": "sk-canary-openai", "AWS_SECRET_ACCESS_KEY": "aws-canary-key"}
TEST = "def check(candidate):\n    assert candidate(0) == 42\n"
SENTINEL = Job("def f(x):\n    return 42\n", TEST, "f", 1.0, 5.0, "sentinel")
CFG = ExecConfig(workers=2, cpu_floor_s=0.5, wall_floor_s=2.0, max_procs=4)

pytestmark = pytest.mark.skipif(find_bwrap(CFG) is None,
                                reason=needs("bubblewrap", "bubblewrap is not installed"))


def prog(body: str, head: str = "import os, sys, socket, signal, time, shutil\n") -> str:
    """A program whose candidate f runs ``body`` (indented) and returns 42 if it got through."""
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return f"{head}\ndef f(x):\n{lines}\n"


def corpus(ctx: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(name, program, test, expected verdict). ``ctx`` holds host paths and the port."""
    breach = "    return 42\n"
    return [
        ("delete the working tree (decoy)", prog(f"shutil.rmtree({ctx['tree']!r})\nreturn 42"),
         TEST, "failed"),
        ("read the real working tree", prog(f"open({ctx['repo_file']!r}).read()\nreturn 42"),
         TEST, "failed"),
        ("write a marker outside the sandbox",
         prog(f"open({ctx['marker']!r}, 'w').write('pwned')\nreturn 42"), TEST, "failed"),
        ("write outside /tmp", prog("for p in ('/etc/pwned', '/usr/pwned', '/pwned'):\n"
                                    "    try:\n        open(p, 'w').write('x')\n"
                                    "        return 42\n    except OSError:\n        pass\n"
                                    "return 0"), TEST, "failed"),
        ("write into $HOME", prog(f"open({ctx['home_file']!r}, 'w').write('x')\nreturn 42"),
         TEST, "failed"),
        ("read ~/.ssh", prog(f"open({ctx['ssh_key']!r}).read()\nreturn 42"), TEST, "failed"),
        ("read secrets from the environment",
         prog(f"found = [k for k in {sorted(SECRETS)!r} if k in os.environ]\n"
              "assert not found, 'LEAK ' + repr([os.environ[k] for k in found])\nreturn 0"),
         TEST, "failed"),
        ("read secrets from /proc/*/environ",
         prog("for pid in filter(str.isdigit, os.listdir('/proc')):\n    try:\n"
              "        data = open(f'/proc/{pid}/environ', 'rb').read()\n"
              "    except OSError:\n        continue\n"
              f"    if b{SECRETS['IMITATION_FAKE_SECRET']!r} in data:\n        return 42\n"
              "return 0"), TEST, "failed"),
        ("read /etc/shadow", prog("open('/etc/shadow').read()\nreturn 42"), TEST, "failed"),
        ("connect to 127.0.0.1 (a real listener)",
         prog(f"socket.create_connection(('127.0.0.1', {ctx['port']}), timeout=2)\nreturn 42"),
         TEST, "failed"),
        ("connect to a public address",
         prog("socket.create_connection(('1.1.1.1', 443), timeout=2)\nreturn 42"), TEST,
         "failed"),
        ("resolve a host name", prog("socket.getaddrinfo('example.com', 443)\nreturn 42"),
         TEST, "failed"),
        ("fork bomb", prog("while True:\n    try:\n        os.fork()\n    except OSError:\n"
                           "        pass"), TEST, "timeout"),
        ("memory bomb (one block)", prog("b = bytearray(10 ** 11)\nreturn 42"), TEST, "failed"),
        ("memory bomb (growing)", prog("blocks = []\nwhile True:\n"
                                       "    blocks.append([0] * 10 ** 7)"), TEST, "failed"),
        ("infinite loop", prog("while True:\n    pass"), TEST, "timeout"),
        ("sleep past the limit", prog("time.sleep(60)\nreturn 42"), TEST, "timeout"),
        ("os._exit(0)", prog("os._exit(0)"), TEST, "crashed"),
        ("sys.exit(0)", prog("sys.exit(0)"), TEST, "failed"),
        ("SystemExit in finally", prog("try:\n    return 0\nfinally:\n    raise SystemExit(0)"),
         TEST, "failed"),
        ("redefine check at top level",
         "def check(candidate):\n    pass\n" + prog("return 0"), TEST, "failed"),
        ("monkeypatch check from the candidate",
         prog("globals()['check'] = lambda c: None\nimport builtins\n"
              "builtins.check = lambda c: None\nreturn 0"), TEST, "failed"),
        ("patch builtins.abs", "import builtins\nbuiltins.abs = lambda v: 0\n" + prog("return 0"),
         "def check(candidate):\n    assert abs(candidate(0) - 42) < 1e-9\n", "failed"),
        ("shadow abs with a global", "def abs(v):\n    return 0\n" + prog("return 0"),
         "def check(candidate):\n    assert abs(candidate(0) - 42) < 1e-9\n", "failed"),
        ("plant a fake math module",
         "import sys, types\nfake = types.ModuleType('math')\nfake.fabs = lambda v: 0\n"
         "sys.modules['math'] = fake\n" + prog("return 0"),
         "def check(candidate):\n    import math\n    assert math.fabs(candidate(0) - 42) < 1e-9\n",
         "failed"),
        ("an object whose == is always True",
         "class Yes:\n    def __eq__(self, other):\n        return True\n" + prog("return Yes()"),
         TEST, "failed"),
        ("patch a stdlib class's ==",
         "import collections\ncollections.Counter.__eq__ = lambda a, b: True\n"
         + prog("return collections.Counter()"), TEST, "failed"),
        ("print fake results and write them to every fd",
         prog("print('passed'); print('{\"verdict\": \"passed\"}')\n"
              "for fd in range(3, 256):\n    try:\n"
              "        os.write(fd, b'\\x00HEv1' + bytes(16) + b'P' + bytes(4))\n"
              "    except OSError:\n        pass\nreturn 0"), TEST, "failed"),
        ("open the worker's pipes through /proc",
         prog("for fd in os.listdir(f'/proc/{os.getppid()}/fd'):\n"
              "    open(f'/proc/{os.getppid()}/fd/{fd}', 'wb').write(b'passed')\nreturn 42"),
         TEST, "failed"),
        ("a forked copy passes the checks while the real one fails",
         prog("pid = os.fork()\nif pid == 0:\n    return 42\nos.waitpid(pid, 0)\nreturn 0"),
         TEST, "failed"),
        ("kill the parent", prog("os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)"), TEST,
         "crashed"),
        ("kill everything it can", prog("os.kill(-1, signal.SIGKILL)\ntime.sleep(5)"), TEST,
         "crashed"),
        ("stop the parent", prog("os.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(30)"), TEST,
         "crashed"),
        ("ignore the CPU signals", prog("for s in (signal.SIGPROF, signal.SIGXCPU):\n"
                                        "    signal.signal(s, signal.SIG_IGN)\n"
                                        "signal.setitimer(signal.ITIMER_PROF, 0)\n"
                                        "while True:\n    pass"), TEST, "timeout"),
        ("raise its own CPU limit", prog("import resource\n"
                                         "resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))"
                                         "\nreturn 42"), TEST, "failed"),
        ("fill the disk", prog("for i in range(10 ** 6):\n"
                               "    open(f'/tmp/fill{i}', 'wb').write(b'x' * (1 << 20))\n"
                               "return 42"), TEST, "failed"),
        ("flood stdout", prog("while True:\n    print('x' * 10000)"), TEST, "timeout"),
        ("exit from a thread mid-check",
         prog("import threading\nthreading.Timer(0.05, os._exit, (0,)).start()\n"
              "time.sleep(1)\nreturn 0"), TEST, "crashed"),
        ("exception whose str() exits",
         "class Boom(Exception):\n    def __str__(self):\n        import os\n        os._exit(0)\n"
         + prog("raise Boom()"), TEST, "crashed"),
        ("host unix sockets", prog("s = socket.socket(socket.AF_UNIX)\n"
                                   "s.connect('/run/postgresql/.s.PGSQL.5432')\nreturn 42"),
         TEST, "failed"),
    ] + [("sanity: the breach pattern passes when nothing is blocked", prog(breach), TEST,
          "passed")]


@pytest.fixture()
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[1])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


def test_adversarial_corpus(tmp_path: Path, monkeypatch, listener) -> None:
    port, accepted = listener
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY CANARY")
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "keep.py").write_text("x = 1\n")
    marker = tmp_path / "outside" / "marker.txt"
    marker.parent.mkdir()
    marker.write_text("untouched")
    ctx = {"tree": str(tree), "repo_file": str(REPO / "pyproject.toml"), "marker": str(marker),
           "home_file": str(home / ".pwned"), "ssh_key": str(home / ".ssh" / "id_rsa"),
           "port": str(port)}
    cases = corpus(ctx)
    assert len(cases) >= 26
    jobs: list[Job] = []
    for name, program, test, _ in cases:
        cpu = 5.0 if "memory" in name else CFG.cpu_floor_s  # touching 1 GiB takes CPU time
        jobs += [Job(program, test, "f", cpu, max(CFG.wall_floor_s, 2 * cpu), name), SENTINEL]
    with WorkerPool(CFG) as pool:
        assert pool.isolation == "bubblewrap"  # never run this corpus without the sandbox
        outcomes = pool.run(jobs)
    got = {name: outcomes[2 * i] for i, (name, *_rest) in enumerate(cases)}
    wrong = {name: (got[name].verdict, got[name].reason) for name, _, _, want in cases
             if got[name].verdict != want}
    assert wrong == {}
    sentinels = outcomes[1::2]
    assert [o.verdict for o in sentinels] == ["passed"] * len(cases)
    # Nothing reached the outside.
    assert marker.read_text() == "untouched"
    assert (tree / "src" / "keep.py").read_text() == "x = 1\n"
    assert not (home / ".pwned").exists()
    assert not Path("/pwned").exists() and not Path("/etc/pwned").exists()
    assert accepted == []
    text = " ".join(o.reason + o.message for o in outcomes)
    assert not any(secret in text for secret in SECRETS.values())
    assert "PRIVATE KEY CANARY" not in text
    assert got["memory bomb (one block)"].reason.startswith("MemoryError")
    assert "CPU time limit" in got["infinite loop"].reason
    assert "wall-clock" in got["sleep past the limit"].reason
    assert "forged" in got["an object whose == is always True"].reason


def test_no_process_outlives_its_program() -> None:
    """A daemon left behind by one program is gone when the next one starts."""
    daemon = prog("pid = os.fork()\nif pid == 0:\n    os.setsid()\n    time.sleep(60)\n"
                  "    os._exit(0)\nreturn 42")
    probe = prog("others = [p for p in os.listdir('/proc') if p.isdigit()]\n"
                 "assert len(others) <= 3, others\nreturn 42")
    with WorkerPool(ExecConfig(workers=1, cpu_floor_s=0.5, wall_floor_s=2.0)) as pool:
        outcomes = pool.run([Job(daemon, TEST, "f", 1.0, 3.0), Job(probe, TEST, "f", 1.0, 3.0)])
    assert [o.verdict for o in outcomes] == ["passed", "passed"], outcomes


def test_env_of_this_process_is_not_inherited(monkeypatch) -> None:
    monkeypatch.setenv("IMITATION_FAKE_SECRET", SECRETS["IMITATION_FAKE_SECRET"])
    assert os.environ["IMITATION_FAKE_SECRET"]
    listing = prog("assert sorted(os.environ) == ['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR'] or "
                   "set(os.environ) <= {'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'PATH', 'PWD', "
                   "'TMPDIR', 'TZ'}, sorted(os.environ)\nreturn 42")
    with WorkerPool(ExecConfig(workers=1)) as pool:
        [outcome] = pool.run([Job(listing, TEST, "f", 1.0, 5.0)])
    assert outcome.verdict == "passed", outcome.reason
