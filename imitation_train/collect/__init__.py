"""``imitation-train collect``: imitation data from a teacher, through the judges client.

    imitation-train collect broad --pool ShareGPT_V3_filtered_1000.json --output broad.jsonl \\
        --base-url https://api.openai.com/v1 --model gpt-4o-mini --max-cost 5
    imitation-train collect nq-synthetic --num-pairs 6000 --output nq_synthetic.jsonl ...

broad: the teacher replies to a prompt pool (ShareGPT user turns, Alpaca instructions; any
format ``load_records`` reads); a multi-turn pool is answered turn by turn, each turn after the
teacher's own earlier replies. Prompts that are evaluation prompts (Koala, AlpacaEval, Vicuna,
MT-bench, Arena-Hard; n-gram overlap) are dropped with a warning and counted; a pool that is
mostly evaluation prompts (e.g. the Koala test set) is refused (``--eval-prompts refuse``:
refuse any; ``allow``: keep them).

nq-synthetic (Gudibande et al. 2023): 10 seed QA pairs from EfficientQA dev (NQ); the teacher is
shown 5 random seed pairs per request and writes new, similar but distinct pairs; those are
deduplicated against each other, the seeds and the NQ-open dev questions, then answered by the
teacher.

Resume: every paid reply is committed to the client's SQLite cache (default ``<output
stem>.cache.sqlite``) before it is used, and records are appended (fsynced) to the output as
they finish. Rerunning the same command after a crash or a kill skips written records and takes
every reply already paid for from the cache: no request is paid twice. Failed calls are
counted, never written, and retried by the next run. ``<output stem>.collect.json`` holds the
resolved config (never the API key) and the counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from judges.config import ClientConfig, add_config_flags, from_args, run_main
from judges.paths import output_path, sqlite_file

from imitation_train.collect.broad import BroadConfig, collect_broad, load_pool
from imitation_train.collect.nq_synthetic import (NQSyntheticConfig, collect_nq_synthetic,
                                                  load_seeds, parse_pairs)

__all__ = ["BroadConfig", "NQSyntheticConfig", "collect_broad", "collect_nq_synthetic",
           "load_pool", "main", "parse_pairs", "register"]

KINDS = {"broad": (BroadConfig, collect_broad), "nq-synthetic": (NQSyntheticConfig,
                                                                  collect_nq_synthetic)}


def summary_file(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name.removesuffix(".jsonl") + ".collect.json")


def run(args: argparse.Namespace) -> int:
    """Build the configs and the client from the parsed flags, collect, write the summary."""
    from judges.client import OpenAIChatClient
    from judges.records import FatalAPIError

    cls, collect = KINDS[args.collect_kind]
    for name in ("httpx", "httpx2"):  # one INFO line per request otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    cfg = from_args(cls, args)
    client_cfg = from_args(ClientConfig, args)
    output_path(cfg.output, "--output", "file")
    if client_cfg.cache_path is not None:  # a mistyped folder is an error, not a new cache
        sqlite_file(client_cfg.cache_path, "--cache-path")
    else:  # resume needs the cache: keep it next to the output
        cache = Path(cfg.output).with_name(Path(cfg.output).name.removesuffix(".jsonl")
                                           + ".cache.sqlite")
        client_cfg = dataclasses.replace(client_cfg, cache_path=str(cache))
    # Read and check the inputs before the client opens its cache file: a bad pool or seed file
    # fails here, leaving nothing behind.
    if isinstance(cfg, BroadConfig):
        loaded = load_pool(cfg)
        collect = functools.partial(collect_broad, loaded=loaded)
    else:
        load_seeds(cfg)
    from imitation_train.prompts import load_prompt

    for field in ("prompt", "generate_prompt", "answer_prompt"):  # a bad prompt file, too
        if getattr(cfg, field, None):
            load_prompt(getattr(cfg, field))
    client = OpenAIChatClient(client_cfg)
    try:
        counts = collect(cfg, client, client_cfg.model)
    except FatalAPIError as err:  # bad key, unknown model, wrong URL: every call would fail
        raise ValueError(f"the teacher endpoint refused the run ({err}); fix --base-url, "
                         f"--model or the key in ${client_cfg.api_key_env}, then rerun the same "
                         f"command: the records already in {cfg.output} are kept") from None
    finally:
        client.close()
    summary = {"kind": args.collect_kind, "counts": counts, "usage": client.ledger.summary(),
               "config": dataclasses.asdict(cfg), "client": dataclasses.asdict(client_cfg)}
    path = summary_file(cfg.output)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(json.dumps(counts))
    print(f"records in {cfg.output}; summary in {path}")
    failed = sum(v for k, v in counts.items() if k.startswith("failed_"))
    if failed:
        print(f"{failed} call(s) failed and were not written: rerun the same command to retry "
              "them (paid replies come from the cache)", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``collect broad`` and ``collect nq-synthetic`` (handler: ``args.func``)."""
    parser = subparsers.add_parser("collect", help="collect imitation data from a teacher",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_kinds(parser)


def _add_kinds(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="collect_kind", required=True, metavar="KIND")
    helps = {"broad": "teacher replies to a prompt pool",
             "nq-synthetic": "NQ-style QA pairs written, then answered, by the teacher"}
    for name, (cls, _) in KINDS.items():
        sub = kinds.add_parser(name, help=helps[name], description=helps[name])
        add_config_flags(sub, cls, what=name)
        add_config_flags(sub, ClientConfig, option="--client-config", what="teacher-client")
        sub.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imitation-train collect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_kinds(parser)
    return run_main(parser, argv)  # ValueError (RecordError, ConfigError, ...): exit 2
