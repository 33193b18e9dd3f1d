"""Graders by answer kind: an in-process fast path plus a math-verify / mathruler slow path.

`fast_grade` decides letters, plain numbers and identical spellings with string code only; it returns None
when it cannot decide. `slow_grade` parses with math-verify (LaTeX grammar only, never sympy's `parse_expr`)
and asks mathruler `grade_answer` for a second opinion; mathruler ends in sympy's `parse_expr`, so it only
ever sees text that passed `_SYMPY_SAFE`, and `grade_many` runs the slow path in worker processes anyway.

Grade.path is "<extraction path>/<grader>", graders being:
  choice       letter or option text matched (either way round)
  number       plain numbers compared (integer exact; float at the item's precision, else FLOAT_REL_TOL)
  exact        identical after `normalize.clean` (spacing, `\\left`, `\\text{}`, `\\dfrac`, `$`, degrees)
  list         element-wise comparison, in order, each element by the rules above
  text         `normalize.norm_text` equality (case and spacing ignored)
  math_verify  math-verify `verify(gold, pred)` accepted (or, when nothing accepted, was the main judge)
  mathruler    mathruler `grade_answer(pred, gold)` accepted after math-verify did not
and the whole path is "none" (nothing extracted), "timeout" or "error" (see `grade_many`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from data_zoo.example import ANSWER_KINDS, LETTERS, Example

from .extract import Extraction, extract_answer, option_letter
from .normalize import canonical_math, clean, norm_text, parse_number, split_list

FLOAT_REL_TOL = 1e-4
"""Relative tolerance for float answers whose example has no `precision`."""

MATHRULER_MAX_CHARS = 500
# Anything that could steer sympy's `parse_expr` (which calls eval) away from arithmetic: dunders, quotes,
# statement separators, attribute access on names, and Python keywords/builtins.
_SYMPY_SAFE = re.compile(r"[0-9A-Za-z\s+\-*/^().,{}\[\]\\|<>=!:%°πθ√]*")
_SYMPY_BAD = re.compile(
    r"__|[A-Za-z_]\.[A-Za-z_]|\b(?:lambda|import|exec|eval|open|os|sys|getattr|compile)\b"
)


@dataclass(frozen=True)
class Grade:
    """Verdict for one response: `path` says which extraction + grader decided (module docstring);
    `reason` is set when the response scored 0 because nothing was found, grading timed out or failed."""

    correct: bool
    extracted: str | None
    path: str
    reason: str | None = None


def check_gold(example: Example) -> None:
    """Raise ValueError naming the record when its gold answer cannot be graded as its `answer_kind`."""
    kind = example.answer_kind
    if kind not in ANSWER_KINDS:
        raise ValueError(
            f"record {example.uid}: unknown answer_kind {kind!r}; expected one of {ANSWER_KINDS}"
        )
    if kind in ("integer", "float"):
        value = parse_number(example.answer)
        if value is None or (kind == "integer" and value != int(value)):
            raise ValueError(f"record {example.uid}: gold answer {example.answer!r} is not a valid {kind}")
    if kind == "choice" and example.gold_letter is not None:
        idx = LETTERS.find(example.gold_letter)
        if idx < 0 or (example.choices is not None and idx >= len(example.choices)):
            raise ValueError(f"record {example.uid}: gold_letter {example.gold_letter!r} is not an option")


def _float_equal(pred: float, gold: float, precision: int | None) -> bool:
    if precision is not None:
        return round(pred, int(precision)) == round(gold, int(precision))
    return math.isclose(pred, gold, rel_tol=FLOAT_REL_TOL, abs_tol=1e-12)


def _same_number(pred: float, gold: float) -> bool:
    # math-verify's own rule for floats: equal after rounding to 6 decimals.
    return round(pred, 6) == round(gold, 6)


def _gold_index(example: Example) -> int | None:
    if example.gold_letter is not None:
        return LETTERS.index(example.gold_letter)
    if example.choices:
        target = norm_text(example.answer)
        for i, choice in enumerate(example.choices):
            if norm_text(choice) == target:
                return i
    letter = option_letter(example.answer)
    return None if letter is None else LETTERS.index(letter)


def _fast_choice(text: str, example: Example) -> tuple[bool, str] | None:
    gold = _gold_index(example)
    letter = option_letter(text)
    if letter is not None and gold is not None:
        return LETTERS.index(letter) == gold, "choice"
    if norm_text(text) == norm_text(example.answer) or clean(text) == clean(example.answer):
        return True, "choice"
    for i, choice in enumerate(example.choices or []):
        if clean(text) == clean(choice) or norm_text(text) == norm_text(choice):
            return i == gold, "choice"
    pred, value = parse_number(text), parse_number(example.answer)
    if pred is not None and value is not None:
        return _same_number(pred, value), "choice"
    return None


def _fast_scalar(text: str, example: Example) -> tuple[bool, str] | None:
    kind = example.answer_kind
    if kind == "expression" and clean(text) == clean(example.answer):
        return True, "exact"
    pred, gold = parse_number(text), parse_number(example.answer)
    if pred is None or gold is None:
        return None
    if kind == "integer":
        return pred == gold, "number"
    if kind == "float":
        return _float_equal(pred, gold, example.precision), "number"
    return _same_number(pred, gold), "number"


_WORD = re.compile(r"[A-Za-z]{2,}")


def _fast_element(pred: str, gold: str) -> bool | None:
    if clean(pred) == clean(gold):
        return True
    # Words compare as text: math parsing reads "blue" as b*l*u*e and so equal to "eulb". All-capital pairs
    # (point and segment names: AB vs BA) keep the math path.
    pw, gw = clean(pred), clean(gold)
    if _WORD.fullmatch(pw) and _WORD.fullmatch(gw) and not (pw.isupper() and gw.isupper()):
        return pw.lower() == gw.lower()
    p, g = parse_number(pred), parse_number(gold)
    return None if p is None or g is None else _same_number(p, g)


def _fast_list(text: str, example: Example) -> tuple[bool, str] | None:
    preds, golds = split_list(text), split_list(example.answer)
    if len(preds) != len(golds):
        return False, "list"
    verdicts = [_fast_element(p, g) for p, g in zip(preds, golds)]
    if False in verdicts:
        return False, "list"
    return (True, "list") if None not in verdicts else None


def _fast_text(text: str, example: Example) -> tuple[bool, str]:
    return norm_text(text) == norm_text(example.answer) or clean(text) == clean(example.answer), "text"


_FAST = {
    "choice": _fast_choice,
    "integer": _fast_scalar,
    "float": _fast_scalar,
    "expression": _fast_scalar,
    "list": _fast_list,
    "text": _fast_text,
}


_MATH_KINDS = ("expression", "integer", "float")


def _canonical(extraction: Extraction, example: Example) -> tuple[Extraction, Example]:
    """Both sides in `normalize.canonical_math` spelling (√/sqrt/π forms, units dropped) for math answers."""
    if example.answer_kind not in _MATH_KINDS or extraction.text is None:
        return extraction, example
    text, gold = canonical_math(extraction.text), canonical_math(example.answer)
    return Extraction(text or extraction.text, extraction.path), replace(example, answer=gold or example.answer)


def fast_grade(extraction: Extraction, example: Example) -> Grade | None:
    """In-process verdict from string code alone, or None when math parsing is needed.

    Raises ValueError naming the record when its gold answer is malformed (`check_gold`).
    """
    check_gold(example)
    if extraction.text is None:
        return Grade(False, None, "none", reason="no answer found")
    said = extraction.text
    extraction, example = _canonical(extraction, example)
    verdict = _FAST[example.answer_kind](extraction.text, example)
    if verdict is None:
        return None
    return Grade(verdict[0], said, f"{extraction.path}/{verdict[1]}")


def _as_latex(s: str) -> str:
    return "$" + s.replace("$", "").strip() + "$"


def _mv_parse(s: str) -> list:
    from math_verify import LatexExtractionConfig, parse

    # LaTeX grammar only: the default config adds ExprExtractionConfig, which goes through sympy parse_expr.
    return parse(_as_latex(s), extraction_config=[LatexExtractionConfig()], parsing_timeout=None)


def _mathruler_ok(pred: str, gold: str) -> bool:
    from mathruler.grader import grade_answer

    for s in (pred, gold):
        if len(s) > MATHRULER_MAX_CHARS or not _SYMPY_SAFE.fullmatch(s) or _SYMPY_BAD.search(s):
            return False
    return bool(grade_answer(pred, gold))


def _equivalent(pred: str, gold: str) -> tuple[bool, str, str | None]:
    """(equal, grader, reason): math-verify first, mathruler as the second opinion."""
    from math_verify import verify

    gold_parsed, pred_parsed = _mv_parse(gold), _mv_parse(pred)
    if gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None):
        return True, "math_verify", None
    if _mathruler_ok(pred, gold):
        return True, "mathruler", None
    # math-verify falls back to the raw string when its grammar fails: no sympy object means "unparsable".
    parsed = any(not isinstance(x, str) for x in pred_parsed)
    return False, "math_verify", None if parsed else "math-verify could not parse the answer"


def _numeric_value(s: str) -> float | None:
    parsed = _mv_parse(s)
    if not parsed or not getattr(parsed[0], "is_number", False):
        return None
    try:
        value = complex(parsed[0].evalf())
    except (TypeError, ValueError):
        return None
    return value.real if value.imag == 0 and math.isfinite(value.real) else None


def slow_grade(extraction: Extraction, example: Example) -> Grade:
    """Verdict with math parsing (math-verify, then mathruler); may be slow or hang on hostile input, which
    is why `grade_many` runs it in a worker process with a time limit. `extraction.text` must not be None."""
    assert extraction.text is not None
    said = extraction.text
    extraction, example = _canonical(extraction, example)
    text, kind = extraction.text, example.answer_kind
    reason = None
    if kind == "list":
        preds, golds = split_list(text), split_list(example.answer)
        ok = all(_fast_element(p, g) or _equivalent(p, g)[0] for p, g in zip(preds, golds))
        grader = "list"
    elif kind == "float" and (value := _numeric_value(text)) is not None:
        ok, grader = _float_equal(value, float(parse_number(example.answer)), example.precision), "number"
    elif kind == "text":
        ok, grader = _fast_text(text, example)
    else:
        ok, grader, reason = _equivalent(text, example.answer)
    return Grade(ok, said, f"{extraction.path}/{grader}", None if ok else reason)


def grade(response: str, example: Example, *, paths: tuple[str, ...] | None = None) -> Grade:
    """Extract (over `paths`, default all) and grade one response against `example`, in this process.

    Uses `answer_kind`, `answer`, `choices`, `gold_letter`, `precision`. No time limit: for untrusted text
    at scale use `grade_many`, which runs the slow path in killable worker processes. A parser exception
    scores 0 with path "error" and the exception as `reason`.
    """
    extraction = extract_answer(response, paths)
    verdict = fast_grade(extraction, example)
    if verdict is not None:
        return verdict
    try:
        return slow_grade(extraction, example)
    except Exception as e:  # noqa: BLE001 - any parser failure on model output is a 0, not a crash
        return Grade(False, extraction.text, "error", reason=f"{type(e).__name__}: {e}")
