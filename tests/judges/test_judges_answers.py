"""Answer files in the shapes the suite meets: AlpacaEval outputs, FastChat / Vicuna answers with a
questions file, Arena-Hard answers; all read from the real shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from judges.answers import load_answers, load_questions


def test_alpaca_eval_outputs_join_on_the_instruction(data_dir: Path) -> None:
    folder = data_dir / "eval_prompts" / "alpaca_eval"
    model = load_answers(folder / "alpaca-7b_model_outputs.json.gz")
    teacher = load_answers(folder / "gpt-3.5-turbo-0301_model_outputs.json.gz")
    assert len(model) == len(teacher) == 805 and set(model) == set(teacher)
    key = next(iter(model))
    assert model[key].prompt == key and model[key].answer != teacher[key].answer


def test_vicuna_answers_take_prompts_from_the_questions_file(data_dir: Path) -> None:
    folder = data_dir / "eval_prompts" / "vicuna_bench_v0"
    questions = load_questions(folder / "question.jsonl")
    answers = load_answers(folder / "answer" / "answer_gpt35.jsonl", questions)
    assert len(questions) == len(answers) == 80
    assert answers["1"].prompt == "How can I improve my time management skills?"
    assert answers["1"].answer.startswith("Here are some tips")


def test_arena_hard_answers(data_dir: Path) -> None:
    folder = data_dir / "eval_prompts" / "arena_hard_v0.1"
    answers = load_answers(folder / "model_answer" / "gpt-4-0314.jsonl",
                           load_questions(folder / "question.jsonl"))
    assert len(answers) == 500 and all(a.prompt and a.answer for a in answers.values())


def test_bad_answer_files(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": 1, "prompt": "p"}\n')
    with pytest.raises(ValueError, match="row 1 has no answer field"):
        load_answers(path)
    path.write_text('{"id": 1, "prompt": "p", "response": "r"}\n{"id": 1, "prompt": "q", "response": "s"}\n')
    with pytest.raises(ValueError, match="id '1' appears twice"):
        load_answers(path)
    path.write_text('{"id": 1,\n')
    with pytest.raises(ValueError, match="a.jsonl:1: not valid JSON"):
        load_answers(path)
