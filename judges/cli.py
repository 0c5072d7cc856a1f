"""imitation-judge: pairwise judging and judge-vs-human agreement from the command line.

    imitation-judge agreement --dataset pandalm --verdicts gpt-3.5-turbo
    imitation-judge agreement --dataset autoj --run-judge --base-url URL --model gpt-4o --limit 200
    imitation-judge pairwise --answers model.jsonl --reference teacher.jsonl --model gpt-4o
    imitation-judge rescore results/MODEL/TIME/samples_imitation_judge_koala.jsonl
    imitation-judge susceptibility --dataset nq --limit 100 --base-url URL --model gpt-4o
    imitation-judge prompts

Every command that writes results writes ``config.json`` (the resolved settings, never the API
key) next to them. ``python -m judges.cli --help`` works the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from judges import agreement as agr
from judges.answers import load_answers, load_questions, write_jsonl
from judges.config import ClientConfig, add_config_flags, from_args, given_values, run_main
from judges.data import DATA_ENV, data_dir
from judges.paths import output_path, sqlite_file

NOISY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai")

log = logging.getLogger("judges")
OUTCOME_TO_LABEL = {"win": "1", "loss": "2", "tie": "tie", "inconsistent": "tie",
                    "unscored": "unscored"}


def _client(args: argparse.Namespace):
    from judges.client import OpenAIChatClient

    config = from_args(ClientConfig, args)
    _check_cache(config)
    return OpenAIChatClient(config), config


def _check_cache(config: ClientConfig) -> None:
    """A given --cache-path must be a SQLite file (or a new one) in a folder that exists: a
    mistyped folder is an error, never a new empty cache somewhere else."""
    if config.cache_path:
        sqlite_file(config.cache_path, "--cache-path")


def _check_output(folder: str | None, *names: str) -> None:
    """Refuse an --output-dir that cannot take ``names`` before any judge call is paid for."""
    if folder:
        output_path(folder, "--output-dir", "folder")
        for name in names:
            output_path(Path(folder) / name, "--output-dir", "file")


def _judge(args: argparse.Namespace, client):
    from judges.pairwise import PairwiseJudge
    from judges.templates import load_prompt

    if args.max_tokens is not None and args.max_tokens < 1:
        raise ValueError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    return PairwiseJudge(client, client.config.model, load_prompt(args.prompt),
                         both_orders=not args.one_order, max_tokens=args.max_tokens)


def _write_config(out: Path, args: argparse.Namespace, config: ClientConfig | None,
                  **extra: Any) -> None:
    resolved = {"command": args.command, **extra}
    if config is not None:
        resolved["client"] = dataclasses.asdict(config)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(resolved, indent=2, default=str) + "\n")


def cmd_agreement(args: argparse.Namespace) -> dict[str, Any]:
    _check_output(args.output_dir, "agreement.json", "config.json", "verdicts.jsonl")
    root = data_dir(args.data_dir)
    items = agr.DATASETS[args.dataset](root)
    if args.limit:
        items = items[: args.limit]
    config = None
    if args.run_judge:
        from judges.pairwise import PairItem, summarize_pairs

        client, config = _client(args)
        judge = _judge(args, client)
        pairs = [PairItem(it.id, it.question, it.response1, it.response2) for it in items]
        verdicts = judge.judge(pairs, progress=not args.quiet)
        client.close()
        stopped = _budget_stop(verdicts, config)  # pairs it stopped are left out, as unjudged
        kept = {v.id for v in verdicts if not v.over_budget}
        verdicts, items = [v for v in verdicts if v.id in kept], [i for i in items if i.id in kept]
        labels = {v.id: OUTCOME_TO_LABEL[v.outcome] for v in verdicts}
        source = f"{config.model} with {judge.prompt.id}"
        extra = {"judge_summary": summarize_pairs(verdicts), "stopped_by_budget": stopped,
                 "usage": client.ledger.summary()}
        if args.output_dir:
            write_jsonl(Path(args.output_dir) / "verdicts.jsonl",
                        [{"verdict": labels[v.id], **dataclasses.asdict(v)} for v in verdicts])
    else:
        if not args.verdicts:
            raise ValueError("give --verdicts (a file, or gpt-3.5-turbo / pandalm-7b for PandaLM's "
                             "shipped verdicts) or --run-judge")
        if args.verdicts in agr.PANDALM_FILES and args.verdicts != "testset":
            if args.dataset != "pandalm":
                raise ValueError(f"the shipped {args.verdicts} verdicts are for --dataset pandalm")
            path = root / agr.PANDALM_FILES[args.verdicts]
        else:
            path = Path(args.verdicts)
        labels, source, extra = agr.load_verdicts(path), str(path), {}
    report = {"dataset": args.dataset, "judge": source, **agr.agreement_report(items, labels),
              **extra}
    if args.output_dir:
        out = Path(args.output_dir)
        judged = {"prompt": args.prompt, "one_order": args.one_order,
                  "max_tokens": judge.max_tokens} if args.run_judge else {
            "verdicts": args.verdicts}
        _write_config(out, args, config, dataset=args.dataset, data_dir=str(root),
                      limit=args.limit, **judged)
        (out / "agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _pair_items(args: argparse.Namespace) -> tuple[list[Any], dict[str, int]]:
    """The pairs to judge (answers joined to the reference on id) and how many rows of each
    file found no partner."""
    from judges.pairwise import PairItem

    questions = load_questions(Path(args.questions)) if args.questions else None
    answers = load_answers(Path(args.answers), questions)
    reference = load_answers(Path(args.reference), questions)
    shared = [key for key in answers if key in reference]
    if not shared:
        raise ValueError(f"no id is in both {args.answers} and {args.reference}; ids are joined "
                         "on id / question_id / idx, else on the prompt text")
    unmatched = {"answers": len(answers) - len(shared), "reference": len(reference) - len(shared)}
    if args.limit:
        shared = shared[: args.limit]
    items = []
    for key in shared:
        prompt = answers[key].prompt or reference[key].prompt
        if prompt is None:
            raise ValueError(f"id {key!r} has no prompt in either file: pass --questions")
        items.append(PairItem(key, prompt, answers[key].answer, reference[key].answer))
    return items, unmatched


def _budget_stop(verdicts: list[Any], config: ClientConfig) -> dict[str, Any] | None:
    """What the summary says when --max-cost stopped the run: how many pairs were left
    unjudged (neither order sent) and how to judge them. None when it did not stop."""
    left = sum(v.over_budget for v in verdicts)
    if not left:
        return None
    if left == len(verdicts):
        raise ValueError(f"--max-cost {config.max_cost} stopped the run before one pair was "
                         f"judged (the worst-case cost of one pair, both orders, is more): "
                         "raise --max-cost")
    how = ("rerun the same command with a higher --max-cost: the pairs judged here come from "
           "--cache-path at no cost" if config.cache_path else "rerun with a higher --max-cost "
           "(give --cache-path to keep what was paid for)")
    log.warning("--max-cost $%s reached: %d of %d pairs left unjudged (not written); %s",
                config.max_cost, left, len(verdicts), how)
    return {"max_cost": config.max_cost, "unjudged_pairs": left, "resume": how}


def cmd_pairwise(args: argparse.Namespace) -> dict[str, Any] | int:
    from judges.metrics import style_controlled, win_rates
    from judges.pairwise import summarize_pairs

    _check_output(args.output_dir, "verdicts.jsonl", "summary.json", "config.json")
    items, unmatched = _pair_items(args)
    client, config = _client(args)
    judge = _judge(args, client)
    verdicts = judge.judge(items, progress=not args.quiet)
    client.close()
    stopped = _budget_stop(verdicts, config)
    # a pair the budget stopped was not judged (neither order): it is left out, never half kept
    judged = [(it, v) for it, v in zip(items, verdicts) if not v.over_budget]
    verdicts = [v for _, v in judged]
    outcomes = [v.outcome for v in verdicts]
    rates = win_rates(outcomes, seed=args.seed)
    style = style_controlled(outcomes, [it.candidate for it, _ in judged],
                             [it.baseline for it, _ in judged], seed=args.seed)
    summary = {"judge": config.model, "prompt": judge.prompt.id, "pairs": len(items),
               "unmatched": unmatched, "stopped_by_budget": stopped,
               **summarize_pairs(verdicts), "win_rates": dataclasses.asdict(rates),
               "style_control": dataclasses.asdict(style) if style else None,
               "usage": client.ledger.summary()}
    out = Path(args.output_dir)
    _write_config(out, args, config, answers=args.answers, reference=args.reference,
                  questions=args.questions, limit=args.limit, prompt=judge.prompt.id,
                  max_tokens=judge.max_tokens, one_order=args.one_order, seed=args.seed)
    write_jsonl(out / "verdicts.jsonl", verdicts)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return _failed_if_every_call_failed(summary, verdicts, "pairwise")


def _failed_if_every_call_failed(summary: dict[str, Any], verdicts: list[Any],
                                 command: str) -> dict[str, Any] | int:
    """The summary (exit 0), or, when not one judge call succeeded, the summary printed and
    exit code 1 with one line saying so (the verdicts file keeps every error)."""
    errors = [j.error for v in verdicts for j in (v.candidate_first, v.candidate_second)
              if j is not None and j.error]
    calls = sum(1 for v in verdicts for j in (v.candidate_first, v.candidate_second)
                if j is not None)
    if not verdicts or len(errors) < calls:
        return summary
    print(json.dumps(summary, indent=2))
    print(f"imitation-judge {command}: error: every judge call failed ({len(errors)} of "
          f"{calls}); the first: {errors[0]}", file=sys.stderr)
    return 1


def cmd_rescore(args: argparse.Namespace) -> dict[str, Any]:
    """Re-judge the samples files of earlier lm-eval runs (one batch for all of them)."""
    from judges.judging import judge_run
    from judges.records import ChatCallError
    from judges.rescore import endpoint_for, read_samples, task_report, write_verdicts

    _check_output(args.output_dir, "results.json", "config.json")
    reference = Path(args.reference) if args.reference else None
    sets = [read_samples(Path(p), reference, args.limit) for p in args.samples]
    tasks = [s.task for s in sets]
    if len(set(tasks)) < len(tasks):
        raise ValueError(f"two samples files are for the same task ({', '.join(tasks)}); "
                         "rescore them one at a time")
    given = given_values(ClientConfig, args)
    recorded = next((s.recorded_judge for s in sets if s.recorded_judge), None)
    endpoint = endpoint_for(recorded, given, args.prompt)
    _check_cache(endpoint.client)
    _check_output(args.output_dir, *(f"verdicts_{s.task}.jsonl" for s in sets))
    items = [item for s in sets for item in s.items]
    try:
        verdicts, usage = judge_run(items, endpoint, both_orders=not args.one_order,
                                    progress=not args.quiet, keep_going=False)
    except ChatCallError as err:
        raise ValueError(f"the judge failed: {err}") from None
    out = Path(args.output_dir)
    report: dict[str, Any] = {"judge": {"model": endpoint.client.model,
                                        "base_url": endpoint.client.base_url,
                                        "prompt": endpoint.prompt_id,
                                        "both_orders": not args.one_order},
                              "results": {}, "details": {}, "usage": usage}
    left = sum(v.over_budget for v in verdicts)  # whole pairs: unscored, neither order sent
    report["stopped_by_budget"] = ({"max_cost": endpoint.client.max_cost, "unjudged_pairs": left,
                                    "resume": "rerun with a higher --max-cost"} if left else None)
    start = 0
    for sample_set in sets:
        mine = verdicts[start:start + len(sample_set.items)]
        start += len(sample_set.items)
        detail = task_report(sample_set, mine, args.seed, both_orders=not args.one_order)
        report["results"][sample_set.task] = detail.pop("metrics")
        report["details"][sample_set.task] = detail
        write_verdicts(out / f"verdicts_{sample_set.task}.jsonl", sample_set, mine)
    _write_config(out, args, endpoint.client, samples=args.samples, reference=args.reference,
                  limit=args.limit, prompt=endpoint.prompt_id, one_order=args.one_order,
                  seed=args.seed, judge_from_samples=recorded is not None)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def cmd_susceptibility(args: argparse.Namespace) -> dict[str, Any]:
    """How often the judge prefers a wrong-but-ChatGPT-styled answer (judges.susceptibility)."""
    import random

    from judges import susceptibility as sus

    _check_output(args.output_dir, "summary.json", "rewrites.jsonl", "verdicts.jsonl",
                  "config.json")
    root = data_dir(args.data_dir)
    pairs = sus.make_pairs(sus.read_rows(args.dataset, root), seed=args.seed)
    if args.limit:
        pairs = random.Random(args.seed).sample(pairs, min(args.limit, len(pairs)))
    client, config = _client(args)
    judge = _judge(args, client)
    rewrite_model = args.rewrite_model or config.model
    try:
        result = sus.run(pairs, judge, client, rewrite_model, progress=not args.quiet)
    finally:
        client.close()
    left = sum(v.over_budget for v in result["verdicts"])  # whole pairs, counted as unscored
    summary = {**result["summary"], "dataset": args.dataset, "usage": client.ledger.summary(),
               "stopped_by_budget": {"max_cost": config.max_cost, "unjudged_pairs": left}
               if left else None}
    out = Path(args.output_dir)
    _write_config(out, args, config, dataset=args.dataset, data_dir=str(root), limit=args.limit,
                  seed=args.seed, prompt=judge.prompt.id, max_tokens=judge.max_tokens,
                  one_order=args.one_order, rewrite_model=rewrite_model,
                  rewrite_prompt=sus.REWRITE_PROMPT_ID)
    write_jsonl(out / "rewrites.jsonl", result["rewrites"])
    write_jsonl(out / "verdicts.jsonl", result["verdicts"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def cmd_prompts(args: argparse.Namespace) -> dict[str, Any]:
    from judges.templates import shipped_prompts

    return {p.id: {"kind": p.kind, "description": p.description}
            for p in shipped_prompts().values()}


def _add_judge_flags(parser: argparse.ArgumentParser, verdict_budget: bool = True) -> None:
    """Endpoint, prompt and run flags; ``--max-tokens`` unless ``verdict_budget`` is False
    (rescore keeps the recorded judge's budget so its cached calls match)."""
    group = parser.add_argument_group("judge endpoint")
    add_config_flags(group, ClientConfig, option="--client-config", what="endpoint")
    parser.add_argument("--prompt", default="pairwise", help="shipped prompt name or a .yaml file")
    parser.add_argument("--one-order", action="store_true",
                        help="judge each pair in one order only (position bias left in)")
    if verdict_budget:
        parser.add_argument("--max-tokens", type=int, default=None,
                            help="token budget of each verdict (default: the prompt's "
                            "max_tokens)")
    parser.add_argument("--limit", type=int, default=None, help="first N pairs only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_agreement(sub: Any) -> None:
    p = sub.add_parser("agreement", help="judge-vs-human agreement on PandaLM or Auto-J")
    p.add_argument("--dataset", choices=sorted(agr.DATASETS), default="pandalm")
    p.add_argument("--verdicts", default=None,
                   help="verdict file (PandaLM's JSON or our JSONL), or gpt-3.5-turbo / pandalm-7b")
    p.add_argument("--run-judge", action="store_true", help="judge the pairs now instead")
    p.add_argument("--data-dir", default=None,
                   help=f"shared data folder (default: ${DATA_ENV})")
    p.add_argument("--output-dir", default=None,
                   help="write agreement.json, config.json (and verdicts.jsonl)")
    _add_judge_flags(p)
    p.set_defaults(func=cmd_agreement)


def _add_pairwise(sub: Any) -> None:
    p = sub.add_parser("pairwise", help="judge a model's answers against reference answers")
    p.add_argument("--answers", required=True, help="the evaluated model's answers (JSONL/JSON)")
    p.add_argument("--reference", required=True, help="the baseline's (teacher's) answers")
    p.add_argument("--questions", default=None,
                   help="prompts by id, when the answer files lack them")
    p.add_argument("--output-dir", default="judge_results", help="where verdicts and summary go")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    _add_judge_flags(p)
    p.set_defaults(func=cmd_pairwise)


def _add_rescore(sub: Any) -> None:
    p = sub.add_parser("rescore", help="re-judge the samples file(s) of an earlier lm-eval run",
                       description="Re-judge the answers logged by an lm-eval run "
                       "(--log_samples; imitation-eval logs them by default) without "
                       "regenerating. Judge settings not given here default to those the run "
                       "recorded in its samples (the judge tasks record them), so with the same "
                       "cache no call is repeated; --cache-path '' disables the cache.")
    p.add_argument("samples", nargs="+", metavar="SAMPLES.jsonl",
                   help="samples_<task>[_<timestamp>].jsonl files, one per task")
    p.add_argument("--reference", default=None,
                   help="judge against these answers instead of the docs' references "
                        "(joined on the doc's id, else the prompt)")
    p.add_argument("--output-dir", default="rescore_results",
                   help="where results.json, verdicts_<task>.jsonl and config.json go")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    _add_judge_flags(p, verdict_budget=False)
    p.set_defaults(func=cmd_rescore, prompt=None)


def _add_susceptibility(sub: Any) -> None:
    p = sub.add_parser("susceptibility",
                       help="how often the judge prefers a wrong-but-ChatGPT-styled answer",
                       description="Style susceptibility of a judge: does a ChatGPT-styled "
                       "wrong answer beat a terse right one? (judges/susceptibility.py)")
    p.add_argument("--dataset", choices=("nq", "simpleqa"), default="nq")
    p.add_argument("--data-dir", default=None,
                   help=f"shared data folder (default: ${DATA_ENV})")
    p.add_argument("--rewrite-model", default=None,
                   help="model for the style rewrite (default: the judge model, same endpoint)")
    p.add_argument("--seed", type=int, default=0, help="seed of the wrong-answer and item draws")
    p.add_argument("--output-dir", default="susceptibility_results",
                   help="where summary.json, rewrites.jsonl, verdicts.jsonl, config.json go")
    _add_judge_flags(p)
    p.set_defaults(func=cmd_susceptibility, limit=100)


def _add_prompts(sub: Any) -> None:
    p = sub.add_parser("prompts", help="list the shipped judge prompts")
    p.set_defaults(func=cmd_prompts)


COMMANDS = (_add_agreement, _add_pairwise, _add_rescore, _add_susceptibility, _add_prompts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imitation-judge", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``imitation-judge`` command; its result is printed as JSON (exit 0), a
    user-fixable error is one ``imitation-judge COMMAND: error: ...`` line (exit 2)."""
    return run_main(build_parser(), argv, quiet=NOISY_LOGGERS)


if __name__ == "__main__":
    raise SystemExit(main())
