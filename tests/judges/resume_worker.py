"""Run one batch through OpenAIChatClient and print the replies as JSON (for the kill test).

    python -m tests.judges.resume_worker BASE_URL CACHE_PATH N
"""

from __future__ import annotations

import json
import sys

from judges.client import OpenAIChatClient
from judges.config import ClientConfig
from tests.judges.fake_key import KEY_ENV


def main(base_url: str, cache_path: str, n: int) -> None:
    client = OpenAIChatClient(ClientConfig(base_url=base_url, model="judge-model",
                                           api_key_env=KEY_ENV, concurrency=4,
                                           max_retries=0, timeout=60, cache_path=cache_path))
    requests = [client.request([{"role": "user", "content": f"question {i}"}], max_tokens=8)
                for i in range(n)]
    results = client.run_batch(requests, progress=False)
    sys.stdout.write(json.dumps([getattr(r, "text", None) for r in results]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
