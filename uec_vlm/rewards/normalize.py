"""String normalisation shared by the in-process fast path: regexes and `float()` only, never sympy.

These helpers decide the easy cases ("48" vs "48.0", "2 \\sqrt { 221 }" vs "2\\sqrt{221}", letters) without
a worker round trip; anything they cannot decide is left to math-verify / mathruler in a worker process.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

# LaTeX spellings that never change a value: spacing commands, sizing, `\dfrac`, degree and percent signs.
_DROP = re.compile(
    r"\\left\b|\\right\b|\\[,;:! ]|\\displaystyle|\\mathrm\b|\\text\b|\\mbox\b|\^\{?\\circ\}?|°|\\%|%|\\?\$"
)
_TEXT_WRAP = re.compile(r"\\(?:text|mathrm|mbox|textbf|mathbf)\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]frac\b")
_NUM = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_LATEX_FRAC = re.compile(r"(-?)\\frac\{(\d+)\}\{(\d+)\}")
_PLAIN_FRAC = re.compile(r"(-?\d+)/(\d+)")


def clean(s: str) -> str:
    """Canonical spelling for string comparison: no whitespace, `$`, `\\left`, `\\text{}`, degrees, `\\dfrac`.

    >>> clean("2 \\\\sqrt { 221 }") == clean("2\\\\sqrt{221}")
    True
    """
    s = _TEXT_WRAP.sub(r"\1", s)
    s = _FRAC.sub(r"\\frac", s)
    s = _DROP.sub("", s)
    s = "".join(s.split())
    while s.endswith("."):
        s = s[:-1]
    return s


def rhs(s: str) -> str:
    """Text after the last `=` (MathVision keeps the value of "x = 5"); `s` itself when there is none."""
    i = s.rfind("=")
    return s[i + 1 :] if i >= 0 and i + 1 < len(s) else s


def parse_number(s: str) -> float | None:
    """Value of a plain number ("1,234.5", "-3", "45°", "50\\%", "x=7", "\\frac{3}{4}", "3/4"), else None.

    Never evaluates anything: the text must match a number pattern exactly. Non-finite values give None.
    """
    t = rhs(clean(s))
    t = _THOUSANDS.sub("", t)
    if _NUM.fullmatch(t):
        try:
            value = float(t)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    m = _LATEX_FRAC.fullmatch(t)
    if m is not None:
        num, den = m.group(1) + m.group(2), m.group(3)
    else:
        m = _PLAIN_FRAC.fullmatch(t)
        if m is None:
            return None
        num, den = m.group(1), m.group(2)
    try:  # int() refuses > 4300 digits and float() overflows: both mean "not a plain number"
        value = float(Fraction(int(num), int(den)))
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    return value


# Unit words a value may carry. Latin units only as a trailing token after the value (so "m" in "2m+1"
# is untouched); CJK units anywhere at the end. Longest first, so "平方厘米" goes before "厘米" and "米".
_CJK_UNITS = ("平方千米", "平方厘米", "平方分米", "平方毫米", "平方米", "立方厘米", "立方分米", "立方米", "千米",
              "厘米", "分米", "毫米", "海里", "公里", "米", "度", "秒", "分钟", "小时", "天", "元", "个", "克",
              "千克", "升", "毫升")
_LATIN_UNIT = re.compile(
    r"(?<=[0-9}\s)π])\s*(?:\\(?:text|mathrm|mbox)\{\s*~?)?"
    r"(?:km|cm|mm|dm|m|ft|in|inches|inch|feet|meters?|centimeters?|units?|degrees?|deg|kg|g|s|sec|seconds?|"
    r"minutes?|min|hours?|h|hr|yards?|miles?|nautical\s+miles?)"
    r"\}?(?:\^\{?[23]\}?\^?|²|³)?\s*$"
)
_SQRT_BRACED = re.compile(r"(?:\\sqrt|√|(?<![A-Za-z\\])sqrt)\s*\{")
_SQRT_PAREN = re.compile(r"(?:√|(?<![A-Za-z\\])sqrt)\s*\(([^()]{1,64})\)")
_SQRT_BARE = re.compile(r"√\s*([0-9]+(?:\.[0-9]+)?|[A-Za-z])")
_PI = re.compile(r"π")


def canonical_math(s: str) -> str:
    """One spelling for equivalent math answers (GeoQA/generic graders; policy in docs/rewards.md):
    `√{3}`, `√3`, `sqrt(3)`, `sqrt{3}` -> `\\sqrt{3}`; `π` -> `\\pi` (a bare "pi" is left to mathruler); a trailing unit dropped
    (latin: cm, m, km, cm^2, cm², units, degrees, ...; CJK: 米, 厘米, 海里, 平方米, 度, 秒, 小时, ...);
    `²`/`³` after a unit included. Units are dropped on both sides, so "8" equals gold "8厘米" and "10米"
    equals gold "10", as math-verify's unit normalisation does for latin units. Regexes only, linear.
    """
    t = s.strip()
    for _ in range(3):  # "4√{3}cm²": unit, then nothing else; a unit word never nests deeper
        before = t
        for unit in _CJK_UNITS:
            if t.endswith(unit) and len(t) > len(unit):
                t = t[: -len(unit)].rstrip()
                break
        t = _LATIN_UNIT.sub("", t).rstrip()
        if t == before:
            break
    t = _SQRT_PAREN.sub(r"\\sqrt{\1}", t)
    t = _SQRT_BRACED.sub(r"\\sqrt{", t)
    t = _SQRT_BARE.sub(r"\\sqrt{\1}", t)
    t = _PI.sub(r"\\pi ", t)
    return t.strip()


def norm_text(s: str) -> str:
    """Case- and space-insensitive text for `text` answers and choice texts: "The Circle." -> "the circle"."""
    s = _TEXT_WRAP.sub(r"\1", s).replace("$", "")
    s = " ".join(s.lower().split())
    return s.strip(" .'\"")


def split_list(s: str) -> list[str]:
    """Top-level comma-separated items of "[1, 2]", "(3,4)", "1, 2" (outer brackets dropped, nesting kept)."""
    t = _THOUSANDS.sub("", s.strip().replace("\\left", "").replace("\\right", ""))
    if len(t) >= 2 and t[0] in "([{" and t[-1] in ")]}":
        t = t[1:-1]
    items, depth, start = [], 0, 0
    for i, c in enumerate(t):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(t[start:i].strip())
            start = i + 1
    items.append(t[start:].strip())
    return items if any(items) else []
