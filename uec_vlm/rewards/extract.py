"""Pull the final answer out of a model response, recording which rule found it.

Every rule here is plain string scanning or a regex with no nested quantifiers, so a megabyte-long
response costs linear time: extraction runs in the trainer's own process and must never hang.

Rules, tried in this order (`PATHS`):
  answer_tag     the content of the last `<answer>...</answer>` pair (a `\\boxed{}` inside it is unwrapped)
  boxed          the content of the LAST `\\boxed{`, with balanced braces; an unclosed last box (a truncated
                 response) extracts nothing, as in EasyR1/mathruler
  answer_is      the rest of the line after the last "the answer is" / "final answer:" / "Answer:" /
                 "the closest option is" / "choice:" / "答案:" / "答案是" phrase
  option_letter  a response (or last line) that is only an option letter: "B", "(B)", "B.", "(B) 48", "Option B",
                 "**(E)**"
  last_number    the last number in the response (lenient fallback used by evaluation only)
  none           nothing found; `Extraction.text` is None
Not in the default order: `whole`, the whole response stripped (for already-extracted answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATHS: tuple[str, ...] = ("answer_tag", "boxed", "answer_is", "option_letter", "last_number")

# "the answer is", "Answer:", "the closest option is", "the correct choice is", "答案:" / "答案是" / "答案为".
_ANSWER_IS = re.compile(
    r"\b(?:answer|option|choice)\s*(?:is\b\s*:?|:)|答案\s*(?:是|为)?\s*[:：]?|答案\s*(?:是|为)", re.IGNORECASE
)
_REST_OF_LINE = re.compile(r"[ \t]*(?:\n\s*)?([^\n]*)")
_OPTION = re.compile(
    r"(?:(?i:option|choice)\s+)?(?:\(([A-Z])\)(?:\s.*)?|([A-Z])(?:[.:)](?:\s.*)?)?)", re.DOTALL
)
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?|-?\.\d+")
_BOXED = "\\boxed{"


@dataclass(frozen=True)
class Extraction:
    """An extracted answer: `text` (None when nothing was found) and the rule (`path`) that found it."""

    text: str | None
    path: str


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (balanced braces), stripped; None when absent or unclosed.

    Unlike mathruler's `extract_boxed_content`, absence is None, not the string "None".
    """
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    depth = 0
    begin = start + len(_BOXED)
    for i in range(begin, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return text[begin:i].strip()
            depth -= 1
    return None


def _answer_tag(response: str) -> str | None:
    end = response.rfind("</answer>")
    if end < 0:
        return None
    start = response.rfind("<answer>", 0, end)
    if start < 0:
        return None
    inner = response[start + len("<answer>") : end].strip()
    boxed = last_boxed(inner)
    return boxed if boxed is not None else inner


def _answer_is(response: str) -> str | None:
    last = None
    for m in _ANSWER_IS.finditer(response):
        last = m
    if last is None:
        return None
    # The phrase may end its line ("The answer is:\n42"): then the answer is the next non-empty line.
    return _strip_decoration(_REST_OF_LINE.match(response, last.end()).group(1))


def _strip_decoration(s: str) -> str:
    # Markdown bold, quotes, math delimiters and a full stop often wrap a phrase-extracted answer.
    s = s.strip().rstrip(".。").strip().strip("*").strip().rstrip(".。").strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'$":
        s = s[1:-1].strip()
    return s


def option_letter(s: str) -> str | None:
    """The option letter `s` consists of ("B", "(b)", "B.", "B: 48", "(B) 48", "Option B"), upper-cased."""
    m = _OPTION.fullmatch(s.strip())
    if m is None:
        return None
    return (m.group(1) or m.group(2)).upper()


def _option_letter(response: str) -> str | None:
    # Only the last line: a multi-line response that merely starts with "A." is reasoning, not a letter.
    # Markdown bold around it ("**(E)**") is decoration.
    stripped = response.strip()
    return option_letter(stripped[stripped.rfind("\n") + 1 :].replace("*", ""))


def _last_number(response: str) -> str | None:
    last = None
    for m in _NUMBER.finditer(response):
        last = m
    return None if last is None else last.group(0)


_RULES = {
    "whole": lambda response: response.strip() or None,  # an already-extracted answer (`eval score --extracted`)
    "answer_tag": _answer_tag,
    "boxed": last_boxed,
    "answer_is": _answer_is,
    "option_letter": _option_letter,
    "last_number": _last_number,
}


def extract_answer(response: str, paths: tuple[str, ...] | None = None) -> Extraction:
    """Try the rules in `paths` (default: all of `PATHS`, in that order); the first non-empty hit wins.

    Shapes: one response string in, one Extraction out. Raises ValueError for an unknown path name.
    """
    for path in PATHS if paths is None else paths:
        rule = _RULES.get(path)
        if rule is None:
            raise ValueError(f"unknown extraction path {path!r}; known: {', '.join(PATHS)}")
        text = rule(response)
        if text:
            return Extraction(text, path)
    return Extraction(None, "none")
