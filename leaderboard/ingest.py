"""Store a pushed run: validate, detect duplicates, re-score from samples, write all rows in one
transaction (nothing half-stored). Used by the CLI (directly on a database) and the HTTP API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from judges.judging import METRICS as JUDGE_METRICS  # the one list of judge metrics
from leaderboard.db import write_session
from leaderboard.lineage import LOCAL, Pusher, check_owner, record_card, user_row
from leaderboard.models import Benchmark, Flag, Item, JudgeRun, Model, Run, Score, User
from leaderboard.parse import Identity, ParsedScore, PayloadError, parse_results
from leaderboard.schemas import AgreementPayload, ModelSpec, PublishedPayload, PushPayload
from leaderboard.verify import verify

log = logging.getLogger(__name__)
ATTEMPTS = 5


class DuplicateRun(ValueError):
    """The same results were pushed before: ``run_id`` is the stored copy."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"duplicate: these results are already stored as run {run_id}")
        self.run_id = run_id


class ConflictError(ValueError):
    """A push that contradicts what is stored (e.g. a model name stored with another kind)."""


@dataclass(frozen=True)
class PushOutcome:
    run_id: int
    model: str
    status: str
    detail: str
    scores: int


def content_hash(model: str, results: Mapping[str, Any]) -> str:
    canonical = json.dumps({"model": model, "results": results}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CardInfo:
    base: str | None
    teacher: str | None
    data_kind: str
    tokens: int | None


def parse_card(card: Mapping[str, Any] | None) -> CardInfo:
    """The fields of an imitation_card.json the leaderboard uses (the card is stored whole)."""
    if card is None:
        return CardInfo(None, None, "", None)

    def text(key: str) -> str | None:  # stripped, as the body's model names are (schemas)
        value = card.get(key)
        if value is not None and not isinstance(value, str):
            raise PayloadError(f"card.{key} must be a string, got {type(value).__name__}")
        return value.strip() or None if value is not None else None

    tokens = None
    for key in ("imitation_tokens", "token_budget", "train_tokens"):
        value = card.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PayloadError(f"card.{key} must be a non-negative integer (tokens), "
                               f"got {value!r:.40}")
        tokens = value
        break
    sources = card.get("data_sources")
    if sources is not None and not (isinstance(sources, list)
                                    and all(isinstance(s, (str, dict)) for s in sources)):
        raise PayloadError("card.data_sources must be a list of names or objects")
    kind = text("data_kind")
    if kind is None and sources:
        names = [s if isinstance(s, str) else str(s.get("name", s.get("source", "?")))
                 for s in sources]
        kind = "+".join(sorted(names))
    return CardInfo(text("base_model"), text("teacher"), kind or "", tokens)


def _model(session: Session, name: str, kind: str, owner: User, params: int | None = None,
           pusher: Pusher | None = None) -> Model:
    """The model called ``name`` (created, owned by ``owner``, when new); with ``pusher``, the
    push writes to it, so it must be the pusher's (lineage.check_owner)."""
    found = session.scalars(select(Model).where(Model.name == name)).first()
    if found is None:
        found = Model(name=name, kind=kind, params=params, owner=owner)
        session.add(found)
        session.flush()
        return found
    if pusher is not None:
        check_owner(found, pusher, owner)
    if found.kind != kind:
        raise ConflictError(f"model {name!r} is stored as a {found.kind} model, not {kind}: "
                            "use another name or the same kind")
    elif params is not None and found.params is None:
        found.params = params
    return found


def _benchmark(session: Session, cache: dict[Identity, Benchmark], score: ParsedScore
               ) -> Benchmark:
    ident = score.identity
    if ident in cache:
        return cache[ident]
    found = session.scalars(select(Benchmark).filter_by(**ident.__dict__)).first()
    if found is None:
        found = Benchmark(**ident.__dict__, higher_is_better=score.higher_is_better,
                          primary=score.primary, headline=score.headline)
        session.add(found)
        session.flush()
    cache[ident] = found
    return found


def _resolve_models(session: Session, spec: ModelSpec, card: CardInfo,
                    raw_card: Mapping[str, Any] | None, pusher: Pusher) -> Model:
    """The pushed model (the pusher's, or new) with its base, teacher and card; a base or
    teacher it names is created when new and otherwise left as it is."""
    user = user_row(session, pusher.user)
    model = _model(session, spec.name, spec.kind, user, spec.params, pusher)
    base_name = spec.base or card.base
    teacher_name = spec.teacher or card.teacher
    if base_name and base_name != spec.name:
        model.base = _model(session, base_name, "base", user)
    if teacher_name and teacher_name != spec.name:
        model.teacher = _model(session, teacher_name, "teacher", user)
    if raw_card is not None:
        record_card(session, model, raw_card, card.data_kind, card.tokens, user)
    return model


def _retrying(engine: Engine, work) -> Any:  # noqa: ANN001
    """Run ``work(session)`` in a write transaction; retry (bounded) when a concurrent writer
    created the same model or column first, or the database was briefly locked."""
    for attempt in range(ATTEMPTS):
        try:
            with write_session(engine) as session:
                return work(session)
        except IntegrityError as err:
            if "content_sha256" in str(err.orig) or "runs_content_sha256" in str(err.orig):
                with write_session(engine) as session:
                    run_id = session.scalar(select(Run.id).where(
                        Run.content_sha256 == getattr(work, "sha", "")))
                raise DuplicateRun(run_id or 0) from None
            if attempt == ATTEMPTS - 1:
                raise
        except OperationalError:
            if attempt == ATTEMPTS - 1:
                raise
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def store_push(engine: Engine, payload: PushPayload, pusher: Pusher = LOCAL) -> PushOutcome:
    """Validate and store one run; raise PayloadError / DuplicateRun / ConflictError /
    OwnershipError (the model belongs to another user)."""
    samples = payload.samples or {}
    scores = parse_results(payload.results, payload.config, samples)
    card = parse_card(payload.card)
    if payload.model.kind == "imitation" and not (payload.model.base or card.base):
        raise PayloadError("model.base is missing: an imitation model needs its base model "
                           "(--base NAME, or base_model in imitation_card.json)")
    primary = {s.identity.task: (s.identity.metric, s.identity.filter) for s in scores
               if s.primary}
    check = verify(payload.results, samples, primary)
    sha = content_hash(payload.model.name, payload.results)
    results_text = json.dumps(payload.results, ensure_ascii=False)
    config_text = json.dumps(payload.config, ensure_ascii=False) if payload.config else None

    def work(session: Session) -> PushOutcome:
        existing = session.scalar(select(Run.id).where(Run.content_sha256 == sha))
        if existing is not None:
            raise DuplicateRun(existing)
        model = _resolve_models(session, payload.model, card, payload.card, pusher)
        run = Run(model=model, content_sha256=sha, results_json=results_text,
                  config_json=config_text, harness_version=scores[0].identity.harness_version,
                  status=check.status, status_detail=check.detail(), token_id=pusher.token_id,
                  card_version=model.checkpoint.version if model.checkpoint else None)
        session.add(run)
        session.flush()
        cache: dict[Identity, Benchmark] = {}
        by_task: dict[tuple[str, str, str], Benchmark] = {}
        for s in scores:
            bench = _benchmark(session, cache, s)
            by_task[(s.identity.task, s.identity.metric, s.identity.filter)] = bench
            session.add(Score(run_id=run.id, benchmark_id=bench.id, value=s.value,
                              stderr=s.stderr, n=s.n))
        for item in check.items:
            bench = by_task.get((item.task, item.metric, item.filter))
            if bench is not None:
                session.add(Item(run_id=run.id, benchmark_id=bench.id, doc_id=item.doc_id,
                                 doc_hash=item.doc_hash, value=item.value))
        for text in check.mismatches:
            session.add(Flag(run_id=run.id, kind="rescore_mismatch", detail=text))
        _judge_rows(session, run.id, scores)
        return PushOutcome(run.id, model.name, run.status, run.status_detail, len(scores))

    work.sha = sha  # type: ignore[attr-defined]
    outcome = _retrying(engine, work)
    log.info("stored run %d for %s (%s, %d scores)", outcome.run_id, outcome.model,
             outcome.status, outcome.scores)
    return outcome


def _judge_rows(session: Session, run_id: int, scores: list[ParsedScore]) -> None:
    per_task: dict[str, dict[str, Any]] = {}
    judges: dict[str, tuple[str, str]] = {}
    for s in scores:
        ident = s.identity
        if ident.judge_model and ident.metric in JUDGE_METRICS:
            per_task.setdefault(ident.task, {})[ident.metric] = s.value
            judges[ident.task] = (ident.judge_model, ident.judge_prompt)
    for task, metrics in per_task.items():
        model, prompt = judges[task]
        session.add(JudgeRun(run_id=run_id, kind="pairwise", task=task, judge_model=model,
                             judge_prompt=prompt, metrics=metrics))


def store_published(engine: Engine, payload: PublishedPayload,
                    pusher: Pusher = LOCAL) -> PushOutcome:
    """Published numbers (e.g. a teacher's from its paper), stored with their source."""
    raw = payload.model_dump(mode="json")
    sha = content_hash(payload.model.name, raw)
    scores = [ParsedScore(Identity(s.task, s.task_version, s.n_shot, s.chat_template,
                                   s.judge_model, s.judge_prompt, s.harness_version, s.metric,
                                   s.filter), s.value, s.stderr, s.n, s.higher_is_better,
                          True, True) for s in payload.scores]

    def work(session: Session) -> PushOutcome:
        existing = session.scalar(select(Run.id).where(Run.content_sha256 == sha))
        if existing is not None:
            raise DuplicateRun(existing)
        model = _resolve_models(session, payload.model, parse_card(None), None, pusher)
        run = Run(model=model, content_sha256=sha, results_json=json.dumps(raw),
                  harness_version=scores[0].identity.harness_version, status="published",
                  status_detail=f"published numbers: {payload.source}",
                  source=("measured from the teacher's outputs: " if payload.measured
                          else "published: ") + payload.source, token_id=pusher.token_id)
        session.add(run)
        session.flush()
        cache: dict[Identity, Benchmark] = {}
        for s in scores:
            bench = _benchmark(session, cache, s)
            session.add(Score(run_id=run.id, benchmark_id=bench.id, value=s.value,
                              stderr=s.stderr, n=s.n))
        return PushOutcome(run.id, model.name, run.status, run.status_detail, len(scores))

    work.sha = sha  # type: ignore[attr-defined]
    return _retrying(engine, work)


def store_agreement(engine: Engine, payload: AgreementPayload, source: str = "") -> int:
    """A judge-human agreement report: one JudgeRun of kind "agreement"."""
    vs = payload.judge_vs_majority
    humans = (payload.model_extra or {}).get("human_vs_human_mean") or {}
    metrics = {"dataset": payload.dataset,
               "agreement": vs.get("agreement_with_ties"),
               "agreement_without_ties": vs.get("agreement_without_ties"),
               "cohen_kappa": vs.get("cohen_kappa"), "n": vs.get("n"),
               "human_agreement": humans.get("agreement_with_ties")}
    for key, value in metrics.items():
        if key != "dataset" and value is not None and not isinstance(value, (int, float)):
            raise PayloadError(f"judge_vs_majority.{key} must be a number or null")
    model, _, prompt = payload.judge.partition(" with ")
    with write_session(engine) as session:
        row = JudgeRun(kind="agreement", task=payload.dataset, judge_model=model[:200],
                       judge_prompt=prompt[:200], metrics=metrics, source=source[:500])
        session.add(row)
        session.flush()
        return row.id
