"""``imitation-leaderboard study ...``: make, list, close, report, export and import rating
studies, and attach an LLM judge's verdicts to one.

    study create --name NAME --answers model.jsonl --reference teacher.jsonl --prompts 255 \\
                 --raters-per-pair 3 --attention-checks 5 [--seed 0] [--per-rater M]
    study list | study close ID | study results ID [--format json]
    study judge ID --verdicts judge_results/verdicts.jsonl     # imitation-judge pairwise output
    study export ID --format pandalm --output DIR              # DIR/judge_human/pandalm/...
    study import testset-v1.json --format pandalm --name NAME  # existing human labels

ID is a study's id or name. Every mistake is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

Engines = tuple[Callable[[argparse.Namespace], Any], Callable[[argparse.Namespace], Any]]


def run(args: argparse.Namespace, engines: Engines) -> Any:
    """The chosen action; ``engines`` = (migrating engine, existing-database engine)."""
    from leaderboard.study import build, results

    fresh, existing = engines
    action = args.action
    if action == "create":
        return build.create_study(fresh(args), _spec(args))
    if action == "import":
        _pandalm_only(args)
        if not args.name:
            raise ValueError("study import needs --name NAME for the new study")
        if not args.study:
            raise ValueError("study import needs the PandaLM-format FILE")
        return build.import_pandalm(fresh(args), Path(args.study), args.name, args.limit)
    if action == "list":
        return build.list_studies(existing(args))
    if not args.study:
        raise ValueError(f"study {action} needs the study's id or name (see `study list`)")
    engine = existing(args)
    if action == "close":
        return build.close_study(engine, args.study)
    if action == "judge":
        if not args.verdicts:
            raise ValueError("study judge needs --verdicts FILE (imitation-judge pairwise's "
                             "verdicts.jsonl)")
        return results.add_judge_verdicts(engine, args.study, Path(args.verdicts), args.judge)
    if action == "export":
        _pandalm_only(args)
        if not args.output:
            raise ValueError("study export needs --output DIR")
        return results.export_pandalm(engine, args.study, Path(args.output))
    report = results.study_results(engine, args.study)
    if args.format not in (None, "text", "json"):
        raise ValueError(f"--format {args.format!r}: study results writes text or json")
    if args.format == "json":
        return report
    print(results.text_report(report), file=sys.stdout)
    return 0


def _pandalm_only(args: argparse.Namespace) -> None:
    if args.format not in (None, "pandalm"):
        raise ValueError(f"--format {args.format!r} is not supported: use --format pandalm")


def _spec(args: argparse.Namespace) -> Any:
    from leaderboard.study.build import StudySpec

    missing = [flag for flag, value in (("--answers", args.answers),
                                        ("--reference", args.reference),
                                        ("--prompts", args.prompts)) if value is None]
    if missing:
        raise ValueError(f"study create needs {', '.join(missing)}")
    name = args.name or f"{Path(args.answers).stem} vs {Path(args.reference).stem}"
    return StudySpec(name=name, answers=Path(args.answers), reference=Path(args.reference),
                     prompts=args.prompts, raters_per_pair=args.raters_per_pair,
                     attention_checks=args.attention_checks, per_rater=args.per_rater,
                     seed=getattr(args, "seed", 0),
                     questions=Path(args.questions) if args.questions else None,
                     hold_minutes=args.hold_minutes)


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None],
               func: Callable[[argparse.Namespace], Any]) -> None:
    p = sub.add_parser("study", help="blind pairwise human rating studies (create, list, close, "
                       "results, judge, export, import)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("create", "list", "close", "results", "judge", "export",
                                      "import"))
    p.add_argument("study", nargs="?", help="the study's id or name (close, results, judge, "
                   "export); import: the PandaLM-format file")
    p.add_argument("--name", help="create/import: the study's name (admin pages only; default "
                   "for create: 'ANSWERS vs REFERENCE')")
    p.add_argument("--answers", help="create: the model's answers (a file imitation-judge "
                   "pairwise reads)")
    p.add_argument("--reference", help="create: the reference's (e.g. the teacher's) answers")
    p.add_argument("--questions", help="create: prompts by id, when the answer files lack them")
    p.add_argument("--prompts", type=int, help="create: how many prompts to sample")
    p.add_argument("--raters-per-pair", type=int, default=3)
    p.add_argument("--attention-checks", type=int, default=0,
                   help="create: hidden checks (a visibly broken answer) every rater sees")
    p.add_argument("--per-rater", type=int, default=None,
                   help="create: real pairs one rater rates at most (default: all)")
    p.add_argument("--hold-minutes", type=int, default=30,
                   help="create: an unanswered pair goes to another rater after this long")
    p.add_argument("--format", default=None,
                   help="results: text (default) or json; export/import: pandalm (default)")
    p.add_argument("--output", help="export: the folder to write")
    p.add_argument("--verdicts", help="judge: imitation-judge pairwise's verdicts.jsonl")
    p.add_argument("--judge", help="judge: its name, 'MODEL with PROMPT' (default: from the file)")
    p.add_argument("--limit", type=int, default=None, help="import: first N rows only")
    common(p)  # its --seed (the settings' bootstrap seed) is also create's sampling seed
    p.set_defaults(func=func)
