"""imitation-leaderboard: store, serve and export evaluation results around "gap closed".

    imitation-leaderboard push results/MODEL/TIME/            # results.json + samples + config
    imitation-leaderboard push results.json --samples DIR --card imitation_card.json
    imitation-leaderboard push --checkpoint ckpt/ --tasks imitation_suite_lite --confirm-run-unsafe-code
    imitation-leaderboard push results/... --url http://HOST:8000   # over HTTP (token in env)
    imitation-leaderboard publish teacher_numbers.json        # published numbers + source
    imitation-leaderboard publish --teacher gpt-3.5-turbo --columns-of results/MODEL/TIME/
    imitation-leaderboard push-agreement judge_out/agreement.json
    imitation-leaderboard token create --user alice --scopes push,read
    imitation-leaderboard serve --db sqlite:///leaderboard.sqlite --port 8000
    imitation-leaderboard export --html site/
    imitation-leaderboard study create --answers model.jsonl --reference teacher.jsonl --prompts 255

Every command takes --db (default sqlite:///leaderboard.sqlite) and --settings FILE.yaml;
``python -m leaderboard.cli --help`` works the same.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from judges.config import add_config_flags, from_args, one_line, run_main
from leaderboard.push import TOKEN_ENV
from leaderboard.settings import Settings
from leaderboard.study.cli import add_parser as add_study_parser

log = logging.getLogger("leaderboard")


def _settings(args: argparse.Namespace) -> Settings:
    return from_args(Settings, args)


def _creating_settings(args: argparse.Namespace) -> Settings:
    """Settings of a command that may create the database: a --db in a folder that does not
    exist, a folder or a file that is not SQLite is one line naming it, never a new board."""
    from leaderboard.db import check_new_sqlite

    settings = _settings(args)
    args._new_db = check_new_sqlite(settings.db)
    return settings


def _drops_unused_new_db(command: Any) -> Any:
    """``command``, except that when it fails with a user's error (a payload the store
    refuses) after creating a new SQLite database in which it stored nothing, that database
    is removed again: a refused push leaves no empty board behind."""

    def run(args: argparse.Namespace) -> Any:
        try:
            return command(args)
        except ValueError:
            new = getattr(args, "_new_db", None)
            if new is not None and getattr(args, "_engine", None) is not None and not getattr(
                    args, "_stored", False):
                args._engine.dispose()
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{new}{suffix}").unlink(missing_ok=True)
            raise

    return run


def _engine(args: argparse.Namespace):
    from leaderboard.db import make_engine, migrate

    if getattr(args, "_engine", None) is None:
        args._engine = make_engine(_creating_settings(args).db)
        migrate(args._engine)
    return args._engine


def _existing_engine(args: argparse.Namespace):
    """For commands that only read: the database must exist at this code's schema (a mistyped
    --db is an error naming it, never a new empty board); nothing is created or migrated."""
    from leaderboard.db import open_existing

    return open_existing(_settings(args).db)


def _target(args: argparse.Namespace) -> Any:
    from leaderboard.push import Target

    return (Target(url=args.url, token_env=args.token_env) if args.url
            else Target(db=_settings(args).db))


def _run_checkpoint(args: argparse.Namespace) -> Path:
    from harness_tasks.runner import RunConfig, run

    ckpt = Path(args.checkpoint)
    if not ckpt.is_dir():
        raise ValueError(f"--checkpoint {ckpt} is not a folder (an HF model folder)")
    cfg = RunConfig(pretrained=str(ckpt), tasks=args.tasks, output_dir=args.output_dir,
                    limit=args.limit, apply_chat_template=args.apply_chat_template,
                    confirm_run_unsafe_code=args.confirm_run_unsafe_code)
    out = run(cfg)
    print(out.table, file=sys.stderr)  # stdout stays the JSON outcome
    return out.folder


def cmd_push(args: argparse.Namespace) -> Any:
    from leaderboard.payload import CARD_FILE

    if not args.url:
        _creating_settings(args)  # a bad --db fails before any file is read or model evaluated
    card = Path(args.card) if args.card else None
    if args.checkpoint:
        results = _run_checkpoint(args)
        if card is None and (Path(args.checkpoint) / CARD_FILE).is_file():
            card = Path(args.checkpoint) / CARD_FILE
    elif args.results:
        results = Path(args.results)
        if results.is_dir() and not (results / "results.json").is_file():
            return _push_tree(args, results)
    else:
        raise ValueError("give a results.json (or its folder), or --checkpoint DIR")
    return _push_one(args, results, card)


def _push_tree(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    """Every results folder under ``root`` (e.g. imitation-eval's --output-dir), oldest first;
    runs stored before are reported as duplicates."""
    found = sorted(root.rglob("results.json"), key=lambda p: p.parent.name)
    if not found:
        raise ValueError(f"{root}: no results.json in this folder or below")
    if args.model or args.card:
        raise ValueError("--model and --card name one run: push its folder, not a tree")
    return [{"folder": str(p.parent), **_push_one(args, p.parent, None)} for p in found]


def _push_one(args: argparse.Namespace, results: Path, card: Path | None) -> dict[str, Any]:
    from leaderboard.payload import build_payload
    from leaderboard.push import push_body

    # the files are read and checked first: a bad one leaves no new, empty database behind
    body = build_payload(results, [Path(p) for p in args.samples or []], card, name=args.model,
                         kind=args.kind, base=args.base, teacher=args.teacher,
                         params=args.params)
    outcome = push_body(_target(args), body, None if args.url else _engine(args))
    args._stored = True
    return outcome


def cmd_publish(args: argparse.Namespace) -> dict[str, Any]:
    from leaderboard.payload import read_json
    from leaderboard.push import publish_body, teacher_body

    if args.teacher:
        if not args.columns_of:
            raise ValueError("--teacher needs --columns-of RESULTS (a results.json or its "
                             "folder): the run whose columns the teacher's figures go on")
        body = teacher_body(args.teacher, Path(args.columns_of))
    elif args.file:
        body = read_json(Path(args.file), "published numbers")
    else:
        raise ValueError("give a published-numbers FILE, or --teacher NAME --columns-of RESULTS")
    return publish_body(_target(args), body, None if args.url else _engine(args))


def cmd_agreement(args: argparse.Namespace) -> dict[str, Any]:
    from leaderboard.ingest import store_agreement
    from leaderboard.payload import read_json
    from leaderboard.schemas import AgreementPayload

    body = read_json(Path(args.file), "agreement report")
    if args.url:
        from leaderboard.push import post

        return post(args.url, "/api/judge-agreement", body, args.token_env)
    try:  # checked before the database is made
        payload = AgreementPayload.model_validate(body)
    except ValueError as err:
        raise ValueError(f"{args.file}: {one_line(err)}") from None
    row = store_agreement(_engine(args), payload, args.file)
    return {"judge_run_id": row}


def cmd_token(args: argparse.Namespace) -> Any:
    from leaderboard import auth

    # checked before the database is opened (a new one is not made for a refused command)
    if args.action == "create" and args.user:
        try:
            auth.check_user(args.user)
        except ValueError as err:
            raise ValueError(f"--user {args.user!r:.60}: {err}") from None
    if args.action == "revoke" and args.id is not None and not 1 <= args.id <= auth.MAX_TOKEN_ID:
        raise ValueError(f"--id {args.id}: no token has that id (see `token list`)")
    # only creating a token may create the database; list and revoke need an existing one
    engine = _engine(args) if args.action == "create" else _existing_engine(args)
    if args.action == "create":
        if not args.user:
            raise ValueError("token create needs --user NAME")
        token_id, text = auth.create_token(engine, args.user, args.scopes.split(","))
        return {"id": token_id, "token": text, "note": "shown once: store it now"}
    if args.action == "revoke":
        if args.id is None or not auth.revoke_token(engine, args.id):
            raise ValueError(f"no token with id {args.id} (see `token list`)")
        return {"id": args.id, "revoked": True}
    return auth.list_tokens(engine)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from leaderboard.app import create_app

    settings = _settings(args)
    app = create_app(settings, _engine(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from leaderboard.export import export_html

    from judges.paths import output_path

    settings = _settings(args)
    output_path(args.html, "--html", "folder")
    files = export_html(_existing_engine(args), Path(args.html), settings.bootstrap_draws,
                        settings.seed)
    return {"folder": str(Path(args.html).resolve()), "files": len(files),
            "open": str((Path(args.html) / "index.html").resolve())}


def cmd_study(args: argparse.Namespace) -> Any:
    from leaderboard.study.cli import run

    return run(args, (_engine, _existing_engine))


def cmd_migrate(args: argparse.Namespace) -> dict[str, Any]:
    from leaderboard.db import current_revision

    return {"db": _settings(args).db.split("@")[-1], "revision": current_revision(_engine(args))}


def _common(p: argparse.ArgumentParser) -> None:
    add_config_flags(p, Settings, option="--settings")


def _remote(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="push to a running leaderboard at this URL instead of --db")
    p.add_argument("--token-env", default=TOKEN_ENV,
                   help=f"environment variable holding the bearer token (default {TOKEN_ENV})")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="imitation-leaderboard", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("push", help="store a run (results.json, samples, imitation_card)")
    p.add_argument("results", nargs="?", help="results.json or the results folder")
    p.add_argument("--samples", nargs="*", help="samples_<task>.jsonl files or folders")
    p.add_argument("--card", help="imitation_card.json (lineage of an imitation checkpoint)")
    p.add_argument("--checkpoint", help="HF model folder: run imitation-eval on it, then push")
    p.add_argument("--tasks", default="imitation_suite_lite", help="with --checkpoint")
    p.add_argument("--limit", type=float, help="with --checkpoint: examples per task")
    p.add_argument("--output-dir", default="results", help="with --checkpoint")
    p.add_argument("--apply-chat-template", action="store_true", help="with --checkpoint")
    p.add_argument("--confirm-run-unsafe-code", action="store_true", help="with --checkpoint")
    p.add_argument("--model", help="row name (default: card name, else the model folder)")
    p.add_argument("--kind", choices=("base", "imitation", "teacher"),
                   help="default: imitation with a card, else base")
    p.add_argument("--base", help="base model name (imitation rows; default: card base_model)")
    p.add_argument("--teacher", help="teacher model name (default: card teacher)")
    p.add_argument("--params", type=int, help="parameter count (for base-size curves)")
    _common(p)
    _remote(p)
    p.set_defaults(func=_drops_unused_new_db(cmd_push))
    p = sub.add_parser("publish", help="store published numbers (e.g. a teacher's) + source")
    p.add_argument("file", nargs="?", help="JSON: {model: {name, kind}, source, scores: [...]}")
    p.add_argument("--teacher", help="instead of FILE: the figures shipped for this teacher "
                   "(leaderboard/teachers.py: gpt-3.5-turbo), with their sources")
    p.add_argument("--columns-of", metavar="RESULTS",
                   help="with --teacher: the run (results.json or its folder) whose columns "
                   "the figures go on")
    _common(p)
    _remote(p)
    p.set_defaults(func=_drops_unused_new_db(cmd_publish))
    p = sub.add_parser("push-agreement", help="store an imitation-judge agreement.json")
    p.add_argument("file")
    _common(p)
    _remote(p)
    p.set_defaults(func=_drops_unused_new_db(cmd_agreement))
    p = sub.add_parser("token", help="create, revoke or list bearer tokens")
    p.add_argument("action", choices=("create", "revoke", "list"))
    p.add_argument("--user")
    p.add_argument("--scopes", default="push,read", help="comma-separated: read,push,admin,rate")
    p.add_argument("--id", type=int, help="token id (revoke)")
    _common(p)
    p.set_defaults(func=_drops_unused_new_db(cmd_token))
    p = sub.add_parser("serve", help="serve the pages and the API (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    _common(p)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("export", help="write a static HTML copy")
    p.add_argument("--html", required=True, help="output folder")
    _common(p)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    _common(p)
    p.set_defaults(func=cmd_migrate)
    add_study_parser(sub, _common, cmd_study)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its result is printed as JSON. A user-fixable error (PayloadError,
    DuplicateRun, ValidationError, ...) is one ``imitation-leaderboard COMMAND: error: ...``
    line and exit code 2."""
    return run_main(parser(), argv, levels=(logging.WARNING, logging.INFO))


if __name__ == "__main__":
    sys.exit(main())
