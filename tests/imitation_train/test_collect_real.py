"""Collection against real OpenAI-compatible servers on 127.0.0.1 serving the real
SmolLM2-135M-Instruct as a stand-in teacher: `transformers serve` (broad and NQ-synthetic data;
a rerun sends nothing), and the test suite's model-backed server (judges/testing_chat_server.py),
which can hold a request in flight, for a real ``imitation-train collect`` subprocess killed
mid-run and resumed, with every reply counted on the server: none is generated (paid for)
twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from imitation_train.chat_records import read_records
from imitation_train.collect import main
from judges.testing_chat_server import ChatModel, serve
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.support.transformers_serve import TransformersServe

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


class CountingTeacher(ChatModel):
    """The real model; counts each reply it generates (what an API bills) by request body, and
    can hold requests beyond ``limit`` until released (they then fail: nothing is generated)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.paid: Counter[str] = Counter()
        self.limit: int | None = None
        self.started = 0
        self.release = threading.Event()
        self.count_lock = threading.Lock()

    def reply(self, payload: dict[str, Any]) -> str:
        with self.count_lock:
            self.started += 1
            held = self.limit is not None and self.started > self.limit
        if held:
            self.release.wait()
            raise ConnectionAbortedError("held past the kill: never answered")
        text = super().reply(payload)
        with self.count_lock:
            self.paid[json.dumps(payload, sort_keys=True)] += 1
        return text


@pytest.fixture(scope="module")
def teacher(smollm2_dir: Path):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: one thread generates fastest
    model = CountingTeacher(smollm2_dir)
    server, url = serve(model)
    yield model, url.removesuffix("/chat/completions")
    server.shutdown()
    server.server_close()
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


def _short_pool(data_dir: Path, tmp_path: Path, n: int) -> Path:
    rows = json.loads((data_dir / "imitation/sharegpt/ShareGPT_V3_filtered_1000.json").read_text())
    rows = sorted(rows, key=lambda r: len(r["conversations"][0]["value"]))[:n]
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(rows))
    return path


def _flags(url: str, *extra: str, model: str = "smollm2-135m-instruct") -> list[str]:
    return ["--base-url", url, "--model", model, "--api-key-env", KEY_ENV,
            "--max-retries", "0", "--timeout", "300", "--no-progress", *extra]


def test_collection_from_transformers_serve(smollm2_dir: Path, data_dir: Path,
                                            tmp_path: Path) -> None:
    server = TransformersServe(smollm2_dir)
    try:
        flags = _flags(server.base_url, model=server.model_name)
        broad = tmp_path / "broad.jsonl"
        broad_argv = ["broad", "--pool", str(_short_pool(data_dir, tmp_path, 2)), "--output",
                      str(broad), "--max-tokens", "12"] + flags
        assert main(broad_argv) == 0
        records = list(read_records(broad))
        assert len(records) == 2 and all(r.messages[1].content.strip() for r in records)
        nq = tmp_path / "nq.jsonl"
        nq_argv = ["nq-synthetic", "--num-pairs", "1", "--pairs-per-request", "3",
                   "--max-generation-requests", "2", "--generate-max-tokens", "64",
                   "--answer-max-tokens", "12", "--output", str(nq)] + flags
        assert main(nq_argv) == 0
        counts = json.loads((tmp_path / "nq.collect.json").read_text())["counts"]
        assert counts["generated_pairs"] >= 1, counts
        assert all(r.source == "nq_synthetic" for r in read_records(nq))
        sent = server.chat_requests()
        assert sent >= 3  # 2 broad replies + at least one generation request
        # a rerun of both commands is served from the cache and the written records
        assert main(broad_argv) == 0 and main(nq_argv) == 0
        assert server.chat_requests() == sent
        assert SECRET not in server.log()
    finally:
        server.close()


def test_broad_and_nq_synthetic_from_a_real_teacher(teacher, data_dir: Path,
                                                    tmp_path: Path) -> None:
    model, url = teacher
    broad = tmp_path / "broad.jsonl"
    assert main(["broad", "--pool", str(_short_pool(data_dir, tmp_path, 2)), "--output",
                 str(broad), "--max-tokens", "12"] + _flags(url)) == 0
    records = list(read_records(broad))
    assert len(records) == 2 and all(r.messages[1].content.strip() for r in records)
    assert {r.teacher for r in records} == {"smollm2-135m-instruct"}

    nq = tmp_path / "nq.jsonl"
    assert main(["nq-synthetic", "--num-pairs", "2", "--pairs-per-request", "3",
                 "--max-generation-requests", "4", "--generate-max-tokens", "64",
                 "--answer-max-tokens", "12", "--output", str(nq)] + _flags(url)) == 0
    counts = json.loads((tmp_path / "nq.collect.json").read_text())["counts"]
    assert counts["generated_pairs"] >= 1, counts
    made = list(read_records(nq))
    assert len(made) == counts["new_questions"] == counts.get("written", 0) >= 1
    dev = {json.loads(line)["question"].lower() for line in
           (data_dir / "nq_open/NQ-open.dev.jsonl").read_text().splitlines()}
    for record in made:
        assert record.source == "nq_synthetic" and record.messages[1].content.strip()
        assert record.messages[0].content.lower().rstrip("?") not in dev
    assert max(model.paid.values()) == 1


def _worker(url: str, pool: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, KEY_ENV: SECRET, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "imitation_train.collect", "broad", "--pool", str(pool),
         "--output", str(out), "--max-tokens", "8", "--concurrency", "2", *_flags(url)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def test_kill_and_resume_pays_for_no_request_twice(teacher, data_dir: Path,
                                                   tmp_path: Path) -> None:
    model, url = teacher
    n, before_kill = 5, 2
    pool, out = _short_pool(data_dir, tmp_path, n), tmp_path / "killed.jsonl"
    model.paid.clear()
    model.started, model.limit = 0, before_kill
    model.release.clear()
    worker = _worker(url, pool, out)
    try:
        deadline = time.monotonic() + 240
        while _lines(out) < before_kill:  # both paid replies written before the kill
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker wrote nothing"
            time.sleep(0.05)
        assert model.started > before_kill  # a further request is in flight, held
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
        model.limit = None
        model.release.set()
    assert worker.returncode == -signal.SIGKILL
    assert sum(model.paid.values()) == before_kill

    resumed = _worker(url, pool, out)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    counts = json.loads(stdout.splitlines()[0])
    assert counts["already_written"] == before_kill and counts["written"] == n - before_kill
    records = list(read_records(out))
    assert len(records) == n == len({r.id for r in records})
    assert sum(model.paid.values()) == n and max(model.paid.values()) == 1  # none paid twice
