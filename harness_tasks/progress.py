"""One progress display for a whole run, and a response cache that survives a crash.

lm-eval sends all requests of one type (every task's generations, then every task's
log-likelihoods, ...) to the model in one call and shows one bar per call, which never names
the task and whose ETA swings with the request type. :class:`RunProgress` instead

- learns each task's requests when lm-eval builds them (before any model call),
- feeds them to the model task by task, a batch-sized chunk at a time, and
- draws one bar over the whole run: current task, requests done / total, elapsed and an ETA
  from the run's average speed, with requests weighted by their expected model seconds
  (:func:`request_cost`).

The response cache is lm-eval's own format (``lm_eval --use_cache``: a SqliteDict keyed by
``hash_args``), one file per model identity (:func:`model_fingerprint`). Each chunk's
responses are written as soon as the model returns them, so a rerun after a failure, or of
the same tasks, answers the finished requests from the file (an interruption costs at most one
chunk). Sampled generations (``do_sample``) are never
cached: repeats must differ.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUEST_TYPES = ("loglikelihood", "loglikelihood_rolling", "generate_until")
# Characters of prompt (x documents, padded to the longest) in one log-likelihood call: ~16k
# tokens, whose logits over a 50k vocabulary take ~3 GB (see _chunks). A model with a larger
# vocabulary gets proportionally fewer (loglikelihood_chars): Gemma 3's 262k entries at 64k
# characters would need ~17 GB in float32, and an evaluation was killed for memory on 24 GB.
LOGLIKELIHOOD_CHARS = 64_000
REFERENCE_VOCAB = 50_000


def loglikelihood_chars(vocab_size: int | None) -> int:
    """The log-likelihood chunk cap for a model with ``vocab_size`` entries (the default cap
    for a vocabulary of 50k or less, or an unknown one)."""
    if not vocab_size or vocab_size <= REFERENCE_VOCAB:
        return LOGLIKELIHOOD_CHARS
    return max(2_000, LOGLIKELIHOOD_CHARS * REFERENCE_VOCAB // vocab_size)
_WEIGHT_FILES = (".safetensors", ".bin", ".gguf", ".pt", ".json", ".model", ".jinja", ".txt")


def request_cost(reqtype: str, args: Sequence[Any]) -> float:
    """Expected model seconds of one request on a reference CPU (an ETA prior; only the ratios
    matter, the run's own speed scales them). Prompt tokens (~4 characters each) cost ~1/800 s
    each; each generated token ~5 ms (a decoding step of a batch, shared by its sequences)."""
    context = str(args[0]) if args else ""
    if reqtype == "generate_until":
        kwargs = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        return len(context) / 3200 + 0.005 * float(kwargs.get("max_gen_toks", 256))
    continuation = str(args[1]) if len(args) > 1 else ""
    return (len(context) + len(continuation)) / 3200


def model_fingerprint(identity: dict[str, Any], pretrained: str | None) -> str:
    """A short hash of everything that decides a response: backend, model args, batch size,
    device, seed, and for a local folder the size and mtime of its weight/tokenizer files (a
    checkpoint overwritten in place gets a new cache)."""
    files: list[tuple[str, int, int]] = []
    folder = Path(str(pretrained)) if pretrained else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in _WEIGHT_FILES:
                stat = path.stat()
                files.append((path.name, stat.st_size, stat.st_mtime_ns))
    blob = json.dumps({"identity": identity, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


class ResponseCache:
    """lm-eval's response cache file, opened once for a run (``CachingLM``'s format)."""

    def __init__(self, path: Path) -> None:
        from sqlitedict import SqliteDict

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dbdict = SqliteDict(str(path), autocommit=True)

    @staticmethod
    def cacheable(reqtype: str, args: Sequence[Any]) -> bool:
        return not (reqtype == "generate_until" and len(args) > 1
                    and isinstance(args[1], dict) and args[1].get("do_sample"))

    def get(self, reqtype: str, args: Sequence[Any]) -> Any:
        from lm_eval.api.model import hash_args

        if not self.cacheable(reqtype, args):
            return None
        return self.dbdict.get(hash_args(reqtype, args))

    def put(self, reqtype: str, args: Sequence[Any], value: Any) -> None:
        from lm_eval.api.model import hash_args

        if self.cacheable(reqtype, args):
            self.dbdict[hash_args(reqtype, args)] = value

    def close(self) -> None:
        self.dbdict.commit()
        self.dbdict.close()


@dataclass
class _Counts:
    requests: int = 0
    cost: float = 0.0


@dataclass
class RunProgress:
    """The run's plan (requests per task) and its single progress bar."""

    chunk_size: int = 64
    enabled: bool = True
    stream: Any = None
    loglikelihood_chars: int = LOGLIKELIHOOD_CHARS  # see loglikelihood_chars()
    planned: dict[str, _Counts] = field(default_factory=dict)
    done: _Counts = field(default_factory=_Counts)
    cached: int = 0
    cached_cost: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)  # model time per task
    started: float = field(default_factory=time.monotonic)
    _bar: Any = None

    # -- the plan ---------------------------------------------------------------------------
    def watch_tasks(self, tasks: dict[str, Any]) -> None:
        """Count each task's requests right after lm-eval builds them."""
        for name, task in tasks.items():
            build = task.build_all_requests

            def counted(*args: Any, _build: Any = build, _name: str = name,
                        _task: Any = task, **kwargs: Any) -> Any:
                out = _build(*args, **kwargs)
                counts = self.planned.setdefault(_name, _Counts())
                instances = getattr(_task, "instances", []) or []
                shared: dict[tuple[Any, str], int] = {}  # choices computed on one context
                for inst in instances:
                    if inst.request_type == "loglikelihood":
                        key = (inst.doc_id, str(inst.args[0]))
                        shared[key] = shared.get(key, 0) + 1
                for inst in instances:
                    cost = request_cost(inst.request_type, inst.args)
                    if inst.request_type == "loglikelihood":
                        cost /= shared[(inst.doc_id, str(inst.args[0]))]
                    inst.progress_cost = cost
                    counts.requests += 1
                    counts.cost += cost
                return out

            task.build_all_requests = counted

    @property
    def total(self) -> _Counts:
        return _Counts(sum(c.requests for c in self.planned.values()),
                       sum(c.cost for c in self.planned.values()))

    # -- the model calls --------------------------------------------------------------------
    def install(self, lm: Any, cache: ResponseCache | None = None) -> None:
        """Route the model's request methods through :meth:`_runner` (chunked, cached,
        counted); responses are stored per chunk, once."""
        for reqtype in REQUEST_TYPES:
            method = getattr(lm, reqtype, None)
            if method is None:
                continue
            quiet = "disable_tqdm" in inspect.signature(method).parameters

            def call(reqs: list[Any], _m: Callable[..., Any] = method, _q: bool = quiet) -> Any:
                return _m(reqs, disable_tqdm=True) if _q else _m(reqs)

            setattr(lm, reqtype, self._runner(reqtype, call, cache))

    def _runner(self, reqtype: str, call: Callable[[list[Any]], list[Any]],
                cache: ResponseCache | None) -> Callable[..., list[Any]]:
        def run(requests: list[Any], **_ignored: Any) -> list[Any]:
            results: list[Any] = [None] * len(requests)
            # log-likelihood choices of one question share a context that the model computes
            # once, so a chunk of them holds ~4x the requests to fill a batch
            size = self.chunk_size * (1 if reqtype == "generate_until" else 4)
            budget = None if reqtype == "generate_until" else self.loglikelihood_chars
            for task, chunk in _chunks(requests, size, budget):
                self._show(task)
                todo = []
                hits = []
                for i in chunk:
                    hit = cache.get(reqtype, requests[i].args) if cache is not None else None
                    if hit is None:
                        todo.append(i)
                    else:
                        results[i] = hit
                        hits.append(requests[i])
                self._advance(reqtype, hits, cached=True)
                if todo:
                    start = time.monotonic()
                    answers = call([requests[i] for i in todo])
                    self.seconds[task] = self.seconds.get(task, 0.0) + time.monotonic() - start
                    if len(answers) != len(todo):
                        raise RuntimeError(f"{reqtype}: the model returned {len(answers)} "
                                           f"responses for {len(todo)} requests")
                    for i, answer in zip(todo, answers):
                        results[i] = answer
                        if cache is not None:
                            cache.put(reqtype, requests[i].args, answer)
                    self._advance(reqtype, [requests[i] for i in todo])
            return results

        return run

    # -- the display ------------------------------------------------------------------------
    def _ensure_bar(self) -> Any:
        if self._bar is None and self.enabled:
            self.started = time.monotonic()  # the clock of the model work, for the ETA
            stream = self.stream or sys.stderr
            if bool(getattr(stream, "isatty", lambda: False)()):
                from tqdm import tqdm

                self._bar = tqdm(total=max(self.total.cost, 1.0), file=stream, smoothing=0,
                                 mininterval=0.5, dynamic_ncols=True, disable=False,
                                 bar_format="{desc} {percentage:3.0f}%|{bar:20}| {postfix} "
                                            "[{elapsed}<{remaining}]")
            else:  # a log file or CI: a plain line now and then, never a carriage return
                self._bar = _Lines(stream, self)
        return self._bar

    def _show(self, task: str) -> None:
        bar = self._ensure_bar()
        if bar is None:
            return
        bar.set_postfix_str(self._counts(), refresh=False)
        bar.set_description_str(self.position(task), refresh=False)

    def position(self, task: str) -> str:
        names = list(self.planned)
        index = names.index(task) + 1 if task in names else 0
        return f"{task} (task {index}/{len(names)})"

    def _counts(self) -> str:
        text = f"{self.done.requests:,}/{self.total.requests:,} requests"
        return text + (f", {self.cached:,} from cache" if self.cached else "")

    def eta(self) -> float | None:
        """Seconds left at the run's average speed so far (cost-weighted), None before any
        model work was timed."""
        worked = self.done.cost - self.cached_cost
        if worked <= 0:
            return None
        left = max(self.total.cost - self.done.cost, 0.0)
        return (time.monotonic() - self.started) / worked * left

    def _advance(self, reqtype: str, done: list[Any], cached: bool = False) -> None:
        """Count a chunk's finished requests (once per chunk: the display moves per chunk)."""
        if not done:
            return
        cost = sum(_cost(reqtype, req) for req in done)
        self.done.requests += len(done)
        self.done.cost += cost
        if cached:
            self.cached += len(done)
            self.cached_cost += cost
        bar = self._ensure_bar()
        if bar is None:
            return
        if cached:  # instant answers must not speed up the ETA of the work left
            bar.total = max(bar.total - cost, 1.0)
        bar.set_postfix_str(self._counts(), refresh=False)
        bar.update(0 if cached else cost)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def summary(self) -> str:
        seconds = time.monotonic() - self.started
        return (f"{self.done.requests:,} requests ({self.cached:,} from cache) in "
                f"{seconds:.0f} s")


class _Lines:
    """The bar's interface for a stream that is not a terminal: one line every ``every`` s."""

    def __init__(self, stream: Any, progress: RunProgress, every: float = 15.0) -> None:
        self.stream, self.progress, self.every = stream, progress, every
        self.desc, self.postfix, self.total = "", "", 0.0
        self.last = 0.0

    def set_description_str(self, text: str, refresh: bool = False) -> None:
        self.desc = text
        self.update(0)  # a line when a task starts, unless one was written moments ago

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def update(self, _n: float) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line()

    def _line(self) -> None:
        elapsed = time.monotonic() - self.progress.started
        eta = self.progress.eta()
        left = f", ETA {_clock(eta)}" if eta is not None else ""
        print(f"progress: {self.desc}: {self.postfix}, elapsed {_clock(elapsed)}{left}",
              file=self.stream, flush=True)

    def close(self) -> None:
        self._line()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:d}:{secs:02d}"


def _cost(reqtype: str, request: Any) -> float:
    cost = getattr(request, "progress_cost", None)
    return float(cost) if cost is not None else request_cost(reqtype, request.args)


@contextmanager
def quiet_request_building(enabled: bool = True) -> Iterator[None]:
    """lm-eval draws a bar per task while it builds requests (57 of them for MMLU); with our
    one bar those are noise, so they are switched off for the duration of a run."""
    if not enabled:
        yield
        return
    import lm_eval.api.task as task_module

    original = task_module.tqdm
    task_module.tqdm = partial(original, disable=True)
    try:
        yield
    finally:
        task_module.tqdm = original


def _sequence_key(doc: Any, args: Any) -> Any:
    """What the model computes one sequence for: the context once for the one-token answers
    of a question (" A", " B", ...), every choice separately when answers are longer."""
    context = str(args[0]) if args else ""
    answer = str(args[1]) if len(args) > 1 else ""
    return (doc, context) if len(answer.strip()) <= 2 else (doc, context, answer)


def _chunks(requests: list[Any], size: int, max_chars: int | None = None
            ) -> Iterator[tuple[str, list[int]]]:
    """Request indices grouped by task (first-seen order), in chunks of about ``size``.

    A chunk never splits one document's requests (a multiple-choice question's choices share a
    context that the model computes once), so a chunk may run over ``size`` by one document.
    With ``max_chars``, a chunk also closes before (the sequences it makes the model compute:
    one per question for one-token answers, one per choice otherwise) x (its longest prompt)
    would pass that many characters: the model pads a batch to its longest sequence and keeps
    a logit per position and vocabulary entry, so 64 five-shot MMLU history prompts (~3,000 tokens each)
    in one batch need ~37 GB (stock lm_eval at batch 64 is killed for memory on 24 GB).
    """
    order: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        order.setdefault(str(getattr(req, "task_name", "") or "?"), []).append(i)
    for task, indices in order.items():
        chunk: list[int] = []
        seqs: set[Any] = set()
        longest = 0
        last_doc: Any = object()
        for i in indices:
            doc = getattr(requests[i], "doc_id", None)
            length = sum(len(str(a)) for a in requests[i].args[:2]) if max_chars else 0
            key = _sequence_key(doc, requests[i].args) if max_chars else None
            if chunk and doc != last_doc:
                too_big = max_chars is not None and (len(seqs | {key})) * max(
                    longest, length) > max_chars
                if len(chunk) >= size or too_big:
                    yield task, chunk
                    chunk, seqs, longest = [], set(), 0
            seqs.add(key)
            chunk.append(i)
            longest = max(longest, length)
            last_doc = doc
        if chunk:
            yield task, chunk
