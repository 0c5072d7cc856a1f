"""Builders shared by the rating-study tests: answer files, a study, raters who behave in
known ways (a rater gives a label read from the model's side; the helper turns it into the
left/right choice the page would send, from the side the server drew)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from leaderboard.db import read_session
from leaderboard.study import assign
from leaderboard.study.build import StudySpec, create_study
from leaderboard.study.tables import Assignment

MODEL_FILE, REFERENCE_FILE = "vicuna-13b-answers.jsonl", "chatgpt-reference.jsonl"
CHOICE = {("1", False): "left", ("1", True): "right", ("2", False): "right",
          ("2", True): "left", ("tie", False): "equal", ("tie", True): "equal"}


def answer_files(folder: Path, n: int) -> tuple[Path, Path]:
    """A model's and a reference's answers to ``n`` prompts (ids 0..n-1), in two formats the
    judges read (id/prompt/response and question_id/instruction/output)."""
    model, ref = folder / MODEL_FILE, folder / REFERENCE_FILE
    with model.open("w") as m, ref.open("w") as r:
        for i in range(n):
            link = "https://example.org/" + "photosynthesis" * 8  # unbroken: must wrap on a phone
            m.write(json.dumps({"id": i, "prompt": f"How do plants use light, part {i}?",
                                "response": f"Plants turn light into sugar ({i}); see {link}"
                                            "\n\n- light\n- water"}) + "\n")
            r.write(json.dumps({"question_id": i, "instruction": f"How do plants use light, "
                                f"part {i}?", "output": f"Photosynthesis converts light energy "
                                f"into chemical energy stored as glucose, step {i}."}) + "\n")
    return model, ref


def make_study(engine, folder: Path, prompts: int, raters: int, checks: int = 0,
               per_rater: int | None = None, total: int | None = None) -> dict:
    model, ref = answer_files(folder, total or prompts + checks)  # checks: unsampled prompts
    return create_study(engine, StudySpec(name="vicuna vs chatgpt", answers=model,
                                          reference=ref, prompts=prompts, raters_per_pair=raters,
                                          attention_checks=checks, per_rater=per_rater, seed=7))


def side(engine, public_id: str) -> tuple[bool, str, str]:
    """(reference shown left?, pair kind, pair key) of an assignment, from the database."""
    with read_session(engine) as s:
        a = s.scalars(select(Assignment).where(Assignment.public_id == public_id)).one()
        return a.reference_left, a.pair.kind, a.pair.key


def rate_all(engine, code: str, rater: str, label: Callable[[str, str], str]) -> int:
    """Rate until finished, giving ``label(kind, key)`` (model side); returns the count."""
    done = 0
    while True:
        shown = assign.next_pair(engine, code, rater)
        if shown["finished"]:
            return done
        reference_left, kind, key = side(engine, shown["assignment"])
        assign.submit(engine, code, rater, shown["assignment"],
                      CHOICE[(label(kind, key), reference_left)])
        done += 1
