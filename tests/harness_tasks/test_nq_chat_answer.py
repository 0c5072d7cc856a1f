"""The chat answer-extraction rule (harness_tasks/factuality/chat_answer.py) on real
SmolLM2-135M-Instruct replies and on hand-made hedges, lists, unicode and empty replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tasks.tasks.nq_open import utils
from harness_tasks.factuality.chat_answer import answer_sentence, extract_answer, reply_lines

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nq_chat_replies.json"
REAL = json.loads(FIXTURE.read_text(encoding="utf-8"))
FRANCE = "what is the capital of france"


def credited(reply: str, golds: list[str], question: str = FRANCE) -> bool:
    doc = {"question": question, "answer": golds}
    return utils.process_results_chat(doc, [reply])["exact_match"] == 1.0


def test_fixture_is_real_dev_questions(data_dir):
    """The replies answer real NQ-open dev questions, with the golds of the dev file."""
    path = data_dir / "nq_open" / "NQ-open.dev.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert 15 <= len(REAL) <= 25
    for item in REAL:
        row = json.loads(lines[item["line"] - 1])
        assert (row["question"], row["answer"]) == (item["question"], item["answer"])
        assert item["expected"] in (True, False), f"line {item['line']}: verdict not filled in"
    assert sum(item["expected"] for item in REAL) >= 4  # both verdicts are exercised


@pytest.mark.parametrize("item", REAL, ids=[f"line{item['line']}" for item in REAL])
def test_real_smollm2_replies(item):
    got = credited(item["reply"], item["answer"], item["question"])
    assert got == item["expected"], f"{item['reply']!r}: {item['why']}"


@pytest.mark.parametrize(
    "reply",
    [
        "The capital of France is Paris.",
        "Paris",
        "Paris.",
        " paris\n",
        "**Paris**",
        "Answer: Paris",
        "The answer is Paris.",
        "The answer is:\nParis",
        "Paris is the capital of France. It is followed by Lyon or Marseille.",
        "The capital of France is Paris, which lies on the Seine.",
    ],
)
def test_committed_answers_get_credit(reply):
    assert credited(reply, ["Paris"])


def test_only_the_first_sentence_is_read():
    assert not credited("Sure! The capital of France is Paris.", ["Paris"])
    assert not credited("France is in Europe. Its capital is Paris.", ["Paris"])


@pytest.mark.parametrize(
    "reply",
    [
        "It could be Paris, Lyon or Marseille.",
        "Paris or Lyon.",
        "Either Paris or Lyon.",
        "Maybe Paris.",
        "I'm not sure, but I think it might be Paris.",
        "I don't know; possibly Paris.",
        "Paris, Lyon, Marseille.",
        "Paris, Lyon and Marseille",
        "Candidates include Paris, Lyon and Marseille.",
        "- Paris\n- Lyon\n- Marseille",
        "* Lyon\n* Paris",
        "1. Paris\n2. Lyon\n3. Marseille",
        "\u2022 Paris\n\u2022 Lyon",
        "Here are some possibilities:\nParis\nLyon",
        "Here are some possibilities:\n\n- Paris\n- Lyon",
    ],
)
def test_guesses_and_lists_get_no_credit(reply):
    assert not credited(reply, ["Paris"])


def test_empty_and_blank_replies():
    for reply in ("", "   ", "\n\n", "...", "Answer:"):
        assert not credited(reply, ["Paris"])
        assert utils.process_results_chat({"question": FRANCE, "answer": ["Paris"]}, [reply]) == {
            "exact_match": 0.0,
            "f1": 0.0,
        }


def test_unicode_and_punctuated_golds():
    louvre = ["Musée du Louvre, Paris", "Louvre Museum in Paris"]
    q = "where can the mona lisa be found today"
    assert credited("The Mona Lisa hangs in the Musée du Louvre, Paris.", louvre, q)
    assert credited("It is in the Louvre Museum in Paris, France.", louvre, q)
    assert not credited("The Mona Lisa hangs in the Musee du Louvre, Paris.", louvre, q)
    # compatibility characters are NFKC-normalised in the reply (fullwidth letters)
    assert credited("The capital is \uff30\uff41\uff52\uff49\uff53.", ["Paris"])
    # initials and abbreviations do not end the answer sentence
    assert credited("Matthew is played by R. H. Thomson.", ["R. H. Thomson"], "who plays matthew")
    assert credited(
        "It was Dr. Rajendra Prasad.", ["Dr. Rajendra Prasad"], "who was the first president"
    )
    assert credited("It leans at about 3.99 degrees.", ["3.99 degrees"], "angle of pisa")
    # a gold with "and" inside is matched whole, not counted as an enumeration
    assert credited(
        "The music was written by Pasek and Paul.",
        ["Pasek and Paul", "Justin Paul"],
        "who wrote the music for christmas story live",
    )


def test_restating_the_question_is_not_an_answer():
    q = "who has the most followers in the world on instagram"
    assert not credited("Selena Gomez has the most followers in the world on Instagram.",
                        ["Instagram"], q)
    q = "who came out first batman or spider man"
    assert credited("Batman came out first.", ["Batman"], q)
    # "tibia and fibula" comes from the question: not an enumeration
    q = "where is the tibia and fibula bone located"
    assert credited("The tibia and fibula are located in the leg.", ["leg"], q)
    assert not credited("The tibia and fibula are located in the arm, leg, or foot.", ["leg"], q)
    # the "or" of "trick or treat" is the question's, not an alternative
    q = "where does trick or treat for unicef money go"
    gold = ["UNICEF's global programing"]
    assert credited("Trick or treat for UNICEF money goes to UNICEF's global programing.", gold, q)
    assert not credited("It goes to UNICEF's global programing or to local charities.", gold, q)


def test_answer_sentence():
    assert answer_sentence(reply_lines("Answer: Paris. It is big.")) == "Paris."
    assert answer_sentence(reply_lines("\n\nThe answer is:\nParis\n")) == "Paris"
    assert answer_sentence(reply_lines("R. H. Thomson. He is Canadian.")) == "R. H. Thomson."
    assert answer_sentence(reply_lines("")) == ""
    assert extract_answer("It is big. Paris.", ["Paris"]) == "It is big."


def test_known_limits_are_as_documented():
    """README.md, "Known limits": behaviour kept on purpose, pinned so a change is noticed."""
    impeached = ["Andrew Johnson", "Johnson"]
    q = "who is the first president to be impeached"
    assert credited("It was Lyndon B. Johnson.", impeached, q)  # a gold inside a longer name
    assert not credited("He was born in 1972.", ["one"], "how many seasons")
    assert credited("There is one season of the show.", ["one"], "how many seasons")
    assert not credited("Vienna, which borders Austria, Hungary and Slovakia.", ["Vienna"])
