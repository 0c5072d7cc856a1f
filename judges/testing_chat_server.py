"""A testing aid: a real OpenAI-compatible chat-completions server on 127.0.0.1, backed by a
real HF model folder (for the tests and benchmarks, never for a real run).

The tests use it to show that API backends (lm-eval's local-chat-completions) and the judges work
through a real HTTP endpoint; benchmarks/factuality_grader_agreement.py uses it as a stand-in
grader. Greedy decoding with the model's own chat template; honours max_tokens and stop.
Importing it does nothing: transformers and torch load when a ChatModel is built.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class ChatModel:
    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    def reply(self, payload: dict[str, Any]) -> str:
        import torch

        self.requests.append(payload)
        prompt = self.tokenizer.apply_chat_template(payload["messages"], tokenize=False,
                                                    add_generation_prompt=True)
        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with self.lock, torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=int(payload.get("max_tokens", 32)),
                                      do_sample=False)
        text = self.tokenizer.decode(out[0][ids["input_ids"].shape[1]:], skip_special_tokens=True)
        for stop in payload.get("stop") or []:
            if stop and stop in text:
                text = text[: text.index(stop)]
        return text


def serve(model: ChatModel) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            if not self.path.endswith("/chat/completions"):
                self.send_error(404)
                return
            body = json.dumps({"id": "cmpl-test", "object": "chat.completion",
                               "model": payload.get("model", "local"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant",
                                                        "content": model.reply(payload)}}]})
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
