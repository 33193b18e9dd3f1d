"""Rule-based answer reading for benchmarks whose official pipeline asks an LLM to extract (MathVista).

`read_answer(response, choices, answer_type) -> (text, path)` looks where a person looks for the answer,
in this order: the last `<answer>...</answer>`, the last `\\boxed{}`, the rest of the line after the last
answer phrase ("the answer is", "final answer:", "the closest option is", "答案:", ...), the last line.
In that region it reads:
  choices given   an option letter ("B", "(B)", "**(E)**", "B. 48") among the choices' letters, else an
                  option text that occurs in it (the longest one; ties: the last occurring)
  integer/float   the first number, with thousands separators ("7,873") and a trailing unit or % dropped;
                  in the last-resort region (the whole response) the last number
  list            a bracketed list "[a, b, ...]"
  text            the region itself
A closing line or a short statement that declines ("not", "cannot", "please", "n/a", ...) is not read.
Nothing read is ("", "none"): the caller counts it as unextracted, never as a guessed choice.
All scanning is `str.find` / regexes without nested quantifiers: linear in the response length.
"""

from __future__ import annotations

import re

from uec_vlm.rewards.extract import last_boxed

_PHRASE = re.compile(
    r"(?:\b(?:final\s+answer|answer|option|choice)\b(?:\s+letter)?(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?"
    r"|答案(?:是|为)?|选)\s*(?:[:：]|\bis\b)?",
    re.IGNORECASE,
)
_LETTER = re.compile(r"(?<![A-Za-z0-9])[(\[]?([A-Z])[)\].:]?(?![A-Za-z0-9])")
# Not an exponent or a subscript ("cm/s^2", "x_1"): those digits are no value.
_NUMBER = re.compile(r"(?<![\^_\d.,])(?:-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?|-?\.\d+)")
MAX_STATEMENT_WORDS = 3
"""A stated value that names no option is used (official: nearest choice) only when this short."""
_REFUSAL = re.compile(
    r"\b(?:not|cannot|can't|unable|impossible|insufficient|sorry|unclear|unknown|n/a|none|null|please)\b",
    re.IGNORECASE,
)
_LIST = re.compile(r"\[[^\[\]\n]{0,500}\]")


def _answer_tag(response: str) -> str | None:
    end = response.rfind("</answer>")
    start = response.rfind("<answer>", 0, end) if end >= 0 else -1
    return response[start + len("<answer>") : end].strip() if start >= 0 else None


def _after_phrase(response: str) -> str | None:
    last = None
    for m in _PHRASE.finditer(response):
        last = m
    if last is None:
        return None
    rest = response[last.end() :]
    line = rest.lstrip(" \t*:：")
    if line.startswith("\n"):  # "The answer is:\n42": the next non-empty line
        line = line.lstrip()
    return line.split("\n", 1)[0].strip() or None


def _last_line(response: str) -> str | None:
    stripped = response.strip()
    return stripped[stripped.rfind("\n") + 1 :].strip() or None


def _regions(response: str) -> list[tuple[str, str]]:
    out = []
    for path, text in (("answer_tag", _answer_tag(response)), ("boxed", last_boxed(response)),
                       ("answer_is", _after_phrase(response)), ("last_line", _last_line(response))):
        if text:
            out.append((path, text))
    return out


def _letter(region: str, n_choices: int) -> str | None:
    """The option letter a region starts with: "B", "(B)", "B.", "B: 48", "**(E)**", "Option B"."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_choices]
    text = region.replace("*", "").strip()
    if text[:7].lower() in ("option ", "choice "):
        text = text[7:].lstrip()
    m = _LETTER.match(text)
    if m is None or m.group(1) not in letters:
        return None
    rest = text[m.end() :]
    # "A bunny ..." is an article, not option A.
    if not m.group(0).endswith((")", "]", ".", ":")) and rest[:1] == " " and rest[1:2].islower():
        return None
    return m.group(1)


def _choice_text(region: str, choices: list[str]) -> str | None:
    """The longest option text occurring in `region` as whole words (ties: the later occurrence)."""
    low = region.lower()
    best = None
    for c in choices:
        target = c.lower().strip()
        pos = low.rfind(target) if target else -1
        while pos >= 0:
            end = pos + len(target)
            if _bounded(low, pos, end):
                key = (len(target), pos)
                if best is None or key > best[0]:
                    best = (key, c)
                break
            pos = low.rfind(target, 0, pos + len(target) - 1) if pos > 0 else -1
        # rfind from the right is linear per choice: at most one hit per start position is examined.
    return None if best is None else best[1]


def _short(value: str) -> bool:
    return 0 < len(value.split()) <= MAX_STATEMENT_WORDS and _REFUSAL.search(value) is None


def _bounded(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is a whole word or number ("5" is not inside "5.0" nor "15")."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or after.isalnum():
        return False
    if after == "." and text[end + 1 : end + 2].isdigit():
        return False
    return not (before == "." and start > 1 and text[start - 2].isdigit())


def _statement(response: str) -> str | None:
    """The value of a closing statement, "Therefore, the number of columns is 4." -> "4"."""
    line = _last_line(response) or ""
    cut = max(line.rfind(" is "), line.rfind(" are "), line.rfind(" = "))
    if cut < 0:
        return None
    value = line[cut:].split(" ", 2)[-1].strip().rstrip(".").strip()
    return value or None


def _number(region: str, last: bool) -> str | None:
    found = None
    for m in _NUMBER.finditer(region):
        found = m
        if not last:
            break
    return None if found is None else found.group(0).replace(",", "")


def read_answer(response: str, choices: list[str] | None = None, answer_type: str = "text") -> tuple[str, str]:
    """(answer text, path) or ("", "none"); see the module docstring."""
    regions = _regions(response)
    if choices:
        for path, region in regions:
            letter = _letter(region, len(choices))
            if letter is not None:
                return letter, f"{path}:letter"
            # A closing line that declines ("Please provide more context to give a yes or no answer")
            # names options without choosing one.
            if path == "last_line" and _REFUSAL.search(region):
                continue
            text = _choice_text(region, choices)
            if text is not None:
                return text, f"{path}:choice_text"
        # A stated answer that names no option (an LLM extractor would return it as is): the caller's
        # normalisation decides (official: nearest choice; strict: wrong).
        # Only a short value counts: a sentence there is a refusal or an explanation, not an answer.
        for path, region in regions:
            if path != "last_line":
                value = region.strip().rstrip(".")
                return (value, f"{path}:statement") if _short(value) else ("", "none")
        statement = _statement(response)
        return (statement, "statement") if statement and _short(statement) else ("", "none")
    if answer_type in ("integer", "float"):
        for path, region in regions:
            # After an answer phrase the first number is the answer; in a closing line, the last one.
            number = _number(region, last=path == "last_line")
            if number is not None:
                return number, f"{path}:number"
        number = _number(response, last=True)
        return (number, "last_number") if number is not None else ("", "none")
    if answer_type == "list":
        for path, region in [*regions, ("whole", response)]:
            found = None
            for m in _LIST.finditer(region):
                found = m
            if found is not None:
                return found.group(0), f"{path}:list"
        return "", "none"
    for path, region in regions:
        if path != "last_line":
            return region.strip().rstrip("."), path
    return "", "none"
