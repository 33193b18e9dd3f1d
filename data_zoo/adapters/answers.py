"""Gold answers as RL training sets publish them: options written into the question, letters, `\\boxed{}`,
`<answer>` tags. Shared by the adapters whose upstream rows carry no separate choice/answer-type fields.
"""

from __future__ import annotations

import re

from data_zoo.example import LETTERS
from data_zoo.records import infer_answer_kind, letter_choice

_CHOICE_LINE = re.compile(r"^\s*\(?([A-H])\)?\s*[:：.)]\s*(.*?)\s*$")
_INLINE = re.compile(r"(?:^|(?<=\s))\(?([A-H])[).:：]\s*")
_MARKERS = ("Choices:", "Options:", "choices:", "options:")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def block_choices(block: str) -> list[str] | None:
    """Options listed one per line ("A:40°", "(B) 60", "C. 120"), consecutive letters from A."""
    found: list[str] = []
    for line in block.strip().splitlines():
        m = _CHOICE_LINE.match(line)
        if not m or m[1] != LETTERS[len(found)]:
            return None
        found.append(m[2])
    return found or None


def _inline_choices(text: str) -> list[str] | None:
    """Options on one line ("A) 10 B) 12 C) 14"): markers must run A, B, C... in order."""
    starts, pos = [], 0
    for letter in LETTERS[:8]:
        m = next((m for m in _INLINE.finditer(text, pos) if m[1] == letter), None)
        if m is None:
            break
        starts.append((m.start(), m.end()))
        pos = m.end()
    if len(starts) < 2:
        return None
    ends = [s for s, _ in starts[1:]] + [len(text)]
    return [text[e0:e1].strip().rstrip(";,").strip() for (_, e0), e1 in zip(starts, ends)]


def embedded_choices(question: str) -> list[str] | None:
    """Option texts written into a question, else None.

    A "Choices:"/"Options:" block wins (the text after the last marker, one option per line); without a
    marker, the trailing lines that form a consecutive A, B, ... list, or one line of inline markers.
    """
    for marker in _MARKERS:
        head, sep, block = question.rpartition(marker)
        if sep:
            listed = block_choices(block)
            return listed if listed and len(listed) > 1 else _inline_choices(" ".join(block.split())) or listed
    lines = question.rstrip().splitlines()
    for first in range(len(lines) - 1, -1, -1):  # the longest trailing run of option lines
        if not _CHOICE_LINE.match(lines[first]):
            break
    else:
        first = -1
    tail = block_choices("\n".join(lines[first + 1:]))
    if tail and len(tail) >= 2:
        return tail
    return _inline_choices(lines[-1]) if lines else None


def classify(question: str, answer: str, where: str) -> tuple[str, str, list[str] | None, str | None]:
    """(answer, kind, choices, gold letter) for a gold answer given with the question it answers.

    A lone letter A-H is a choice question: the answer becomes the option text when the options can be
    read from the question, and stays the letter when they are drawn in the image. Anything else keeps
    its text and gets the kind `infer_answer_kind` sees.
    """
    text = answer.strip()
    if len(text) == 1 and text.upper() in LETTERS[:8]:
        choices = embedded_choices(question)
        if choices is not None and LETTERS.index(text.upper()) >= len(choices):
            choices = None  # the parsed block is not the full option list: grade the letter
        value, letter = letter_choice(text, choices, where)
        return value, "choice", choices, letter
    return text, infer_answer_kind(text), None, None


def answer_tag(solution: str) -> str:
    """The text inside `<answer>...</answer>` (R1-V's `solution` column), else the whole string."""
    m = _ANSWER_TAG.search(solution)
    return (m[1] if m else solution).strip()
