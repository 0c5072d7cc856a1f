"""Authoritative tone, rated by an LLM judge (the paper's Table 2 last row, "authoritative tone
per GPT-4"). Only with a configured judge; without one the style profile does not report it.

The judge reads the prompt and one answer and ends with ``Authoritative: YES`` or
``Authoritative: NO``. A reply without exactly one such line, or a failed call, is unscored
(None), never a "no".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from judges.endpoint import JudgeEndpoint

log = logging.getLogger(__name__)

TONE_PROMPT_ID = "authoritative_tone@v1"
SYSTEM = (
    "You rate the TONE of an assistant's answer, not its correctness. An answer has an "
    "authoritative tone when it states things confidently and directly, as an expert would, "
    "without hedging, self-doubt or disclaimers about its own reliability. Answers that are "
    "tentative, evasive, rambling without committing, or that mostly apologise or refuse do "
    "not. Reply with one short line of reasoning at most, then a final line "
    "\"Authoritative: YES\" or \"Authoritative: NO\".")
USER = "Prompt:\n{question}\n\nAnswer:\n{answer}"
_LINE = re.compile(r"^[\*_`#>\s]*authoritative[\*_`\s]*:[\*_`\s]*(yes|no)\b",
                   re.IGNORECASE | re.MULTILINE)


def parse_tone(text: str) -> bool | None:
    """True / False from the judge's final line; None when absent or contradictory."""
    found = {m.lower() for m in _LINE.findall(text)}
    return (found.pop() == "yes") if len(found) == 1 else None


def rate_tone(questions: Sequence[str], answers: Sequence[str], endpoint: JudgeEndpoint, *,
              progress: bool = True) -> list[bool | None]:
    """One rating per answer (None: unscored), as one concurrent, cached batch."""
    from judges.client import OpenAIChatClient, complete_all, run_sync
    from judges.records import ChatCallError, ChatRequest, ChatResult

    client = OpenAIChatClient(endpoint.client)
    requests = [ChatRequest.make(endpoint.client.model,
                                 [{"role": "system", "content": SYSTEM},
                                  {"role": "user", "content": USER.format(question=q, answer=a)}],
                                 max_tokens=128, prompt_version=TONE_PROMPT_ID)
                for q, a in zip(questions, answers)]
    try:
        replies = run_sync(client, complete_all(client, requests, progress=progress,
                                                desc="tone judge"))
    except (ChatCallError, ValueError) as err:
        log.error("the tone judge could not be used (%s: %s); tone is unscored",
                  type(err).__name__, err)
        return [None] * len(requests)
    finally:
        client.close()
    return [parse_tone(r.text) if isinstance(r, ChatResult) else None for r in replies]
