"""MathVision (MATH-V): the official rule-based `evaluation/evaluate.py` + `utils.py`, without `eval`.

Extraction (upstream order): a trailing/leading letter pattern (" C.", " (C).", "C\\n", "(C)\\n"); a number
after the last "is "; if there is no box, the text after the last "the (final/correct) answer is" /
"the answer should be" phrase (first line, first sentence); with several boxes the last one; then
`find_math_answer` (content of the box, text after "=" / "\\approx", MATH-style `_strip_string`).
Equality `is_equal`: lower-cased exact match, tuple-wise match, or numeric equality after rounding to 2
decimals. Correct if equal to the gold letter OR the gold option text.

Deviation: upstream evaluates `str(latex2sympy(x))` with Python `eval`; here the sympy expression from
`latex2sympy2_extended` is evaluated numerically (integers stay int, as `eval` would give), expressions
with free symbols count as non-numeric, and strings over 200 characters skip the numeric comparison.
"""

from __future__ import annotations

import re

from evals.benchmarks import metadata_subsets

LABEL = "official rule (MATH-V evaluate.py; sympy evaluation instead of Python eval)"
SUBSET_KEYS = ("level", "subject")
_MAX_NUMERIC_LEN = 2000
# Upstream latex2sympy2 raises on these ("I don't understand this"); latex2sympy2_extended would accept them.
_REFUSED = ("\\circ", "\\boxed", "\\pm", "\\!", "\\$", "{,}", "\\(", " \\%")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_MIXED = re.compile(r"(\d)\s*(\\[dt]?frac)")
_UNBRACED = re.compile(r"\\(?:[dt]?frac|sqrt)\d")
_FLAGS = ("the final answer is", "the answer is", "the correct answer is", "the answer should be")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _upstream_prefix(s: str) -> str:
    """The part of `s` upstream's ANTLR parser reads: its start rule has no EOF anchor, so it stops at the
    first token that cannot continue the expression (an unmatched `)`/`]`/`}`, `&`, a quote, a `.`
    not followed by a digit) and ignores the rest: "12)" -> "12", "69.c" -> "69", "6.5." -> "6.5"."""
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return s[:i]
            depth -= 1
        elif c in "&'" or (c == "." and not s[i + 1 : i + 2].isdigit()):
            return s[:i]
    return s


def _refused(s: str) -> bool:
    """True where upstream's lexer or grammar raises: characters it has no token for (non-ASCII such as
    "π" or "≈", "%" without a backslash, "?", "@", "#", '"'), and `\\circ`, `\\boxed`, `\\pm`, `\\!`,
    `\\$`, `{,}`, `\\(`, a spaced " \\%", `\\frac12` / `\\sqrt3` without braces."""
    if not s.isascii() or any(c in s for c in '?@#"`') or _BARE_PERCENT.search(s):
        return True
    return any(token in s for token in _REFUSED) or _UNBRACED.search(s) is not None


def _numeric(s: str):
    """int/float as upstream's `eval(str(latex2sympy(s)))` under `from math import *`, or raise ValueError.

    latex2sympy2_extended parses; `evals.benchmarks.upstream_eval.value` then evaluates the sympy tree the
    way Python `eval` evaluates its printed form, names resolved in the `math` module (so `e`, printed
    `E`, and `Abs`, `cot`, `oo`, symbols are errors, as upstream). Forms upstream's grammar refuses
    (`\\circ`, `\\boxed`, a `$` inside an unclosed math span) are refused before parsing.
    """
    if not s or len(s) > _MAX_NUMERIC_LEN:
        raise ValueError("empty or too long for numeric comparison")
    if _refused(s):
        raise ValueError("upstream's LaTeX grammar refuses this form")
    s = _upstream_prefix(s)
    if not s.strip():
        raise ValueError("nothing upstream's parser would read")
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    from evals.benchmarks.upstream_eval import value

    try:
        # Upstream reads "12\\frac{1}{2}" as 12 * 1/2, not as a mixed number.
        expr = latex2sympy(_MIXED.sub(r"\1\\cdot \2", s), conversion_config=ConversionConfig(interpret_as_mixed_fractions=False))
    except Exception as e:  # noqa: BLE001 - the parser raises bare Exception (and worse) on malformed LaTeX
        raise ValueError(f"unparsable: {type(e).__name__}") from e
    return value(expr)


# ----------------------------------------------------------------------------- upstream string helpers
def _fix_fracs(string: str) -> str:
    substrs = string.split("\\frac")
    new_str = substrs[0]
    for substr in substrs[1:]:
        new_str += "\\frac"
        if len(substr) > 0 and substr[0] == "{":
            new_str += substr
            continue
        if len(substr) < 2:
            return string
        a, b = substr[0], substr[1]
        if b != "{":
            new_str += "{" + a + "}{" + b + "}" + substr[2:]
        else:
            new_str += "{" + a + "}" + b + substr[2:]
    return new_str


def _fix_a_slash_b(string: str) -> str:
    if len(string.split("/")) != 2:
        return string
    a, b = string.split("/")
    try:
        ia, ib = int(a), int(b)
    except ValueError:
        return string
    if string != f"{ia}/{ib}":
        return string
    return "\\frac{" + str(ia) + "}{" + str(ib) + "}"


def _fix_sqrt(string: str) -> str:
    splits = string.split("\\sqrt")
    new_string = splits[0]
    for split in splits[1:]:
        if len(split) > 0 and split[0] != "{":
            new_string += "\\sqrt{" + split[0] + "}" + split[1:]
        else:
            new_string += "\\sqrt" + split
    return new_string


def strip_string(string: str) -> str:
    """Upstream `_strip_string` (MATH normalisation), quirks included (0.5 -> \\frac{1}{2})."""
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "").replace("$", "")
    string = string.split("\\text{ ")[0]
    string = string.replace("\\%", "")  # upstream's second replace("\%") is the same string: "%" stays
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if len(string) == 0:
        return string
    if string[0] == ".":
        string = "0" + string
    if len(string.split("=")) == 2:
        string = string.split("=")[-1]
    if len(string.split("\\approx")) == 2:
        string = string.split("\\approx")[-1]
    if "sqrt" in string:
        string = _fix_sqrt(string)
    string = string.replace(" ", "")
    if "sqrt" in string:
        string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    return _fix_a_slash_b(string)


def _last_box_match(s: str) -> str:
    """`re.findall('oxed{(.*)}', s, re.S)[-1]` (else `s`) in linear time: the greedy match runs from the
    first "oxed{" to the last "}", and nothing can match after it, so it is the only match."""
    start, end = s.find("oxed{"), s.rfind("}")
    return s[start + 5 : end] if start >= 0 and end >= start + 5 else s


def find_math_answer(s: str) -> str:
    """Upstream `find_math_answer`: box content (greedy), value after "=" / "\\approx", LaTeX clean-up."""
    s = s.lower()
    if "{}" in s:
        s = s.replace("{}", "")
    ans = _last_box_match(s)
    if ans.find("}") != -1 and (ans.find("{") == -1 or ans.find("}") < ans.find("{")):
        ans = ans.split("}")[0]
    ans = ans.split("=")[-1]
    ans = ans.split("\\approx")[-1]
    ans = ans.replace(" ", "").replace("\\,", "").replace("∞", "\\infty")
    ans = ans.replace("+\\infty", "\\infty").replace("\\\\", "\\").replace("\n", "")
    ans = ans.replace("\\text", "").replace("\\mbox", "").replace("bmatrix", "pmatrix")
    ans = ans.replace("\\left", "").replace("\\right", "").replace("^{\\circ}", "")
    ans = ans.replace("^\\circ", "").replace("{m}^3", "").replace("m^3", "")
    ans = ans.replace("{units}", "").replace("units", "").replace("{km}", "").replace("km", "")
    return strip_string(ans)


def extract(response: str) -> str:
    """The model answer as upstream `evaluate()` derives it from a response."""
    return extract_with_source(response)[0]


def extract_with_source(response: str) -> tuple[str, str]:
    """(model answer, which upstream rule produced it): "letter", "is_number", "answer_phrase", "boxed", or
    "whole_response" when none applied and upstream cleans the whole response (not a stated answer)."""
    model_answer = response.strip()
    source = "whole_response"
    for c in "ABCDE":
        if (
            model_answer.endswith(f" {c}.")
            or model_answer.endswith(f" ({c}).")
            or model_answer.startswith(f"{c}\n")
            or model_answer.startswith(f"({c})\n")
            or model_answer.startswith(f"({c}) {c}\n")
        ):
            model_answer, source = c, "letter"
    tail = model_answer.split("is ")[-1].rstrip(".")
    if _is_number(tail):
        model_answer, source = tail, "is_number"
    if "oxed{" not in model_answer:
        for flag in _FLAGS:
            for variant in (flag, flag.replace("the", "The")):
                raw = model_answer
                model_answer = model_answer.split(variant)[-1].strip()
                if variant in raw:
                    model_answer, source = model_answer.split("\n")[0].split(". ")[0], "answer_phrase"
    else:
        source = "boxed"
        if model_answer.count("oxed{") > 1:
            model_answer = "\\boxed{" + model_answer.split("oxed{")[-1]
    model_answer = find_math_answer(model_answer)
    for letter in "abcde":
        model_answer = model_answer.replace(f"({letter})", letter)
    for letter in "abcde":
        model_answer = model_answer.replace("{" + letter + "}", letter)
    return model_answer.rstrip(".").lstrip(":").strip(), source


def _eval_tuple(s: str) -> str:
    if len(s) < 2:
        return s
    parts = s[1:-1].split(",")
    if len(parts) <= 1 or (s[0], s[-1]) not in (("(", ")"), ("[", "]")):
        return s
    try:
        values = [
            sub if "infty" in sub or sub in ("a", "-a") else str(round(_numeric(sub), 2)) for sub in parts
        ]
    except Exception:  # noqa: BLE001 - upstream: any failure keeps the string as it is
        return s
    return s[0] + ",".join(values) + s[-1]


def is_equal(asw: str, gt_asw: str) -> bool:
    """Upstream `is_equal`: exact (lower-cased), tuple-wise, or equal after rounding to 2 decimals."""
    asw, gt_asw = asw.lower(), gt_asw.lower()
    if asw.replace(" ", "") == "" or gt_asw.replace(" ", "") == "":
        return False
    if gt_asw.strip() == asw.strip():
        return True
    asw, gt_asw = _eval_tuple(asw), _eval_tuple(gt_asw)
    if gt_asw == asw:
        return True
    try:
        return round(_numeric(gt_asw), 2) == round(_numeric(asw), 2)
    except Exception:  # noqa: BLE001 - upstream's bare except: a failure is "not equal"
        return False


def gold(example) -> tuple[str, str]:
    """(gold answer, gold option text or ""): the letter and its option for choice questions."""
    if example.choices:
        letter = example.gold_letter
        if not letter:
            raise ValueError(f"mathvision record {example.id}: options but no gold letter")
        return letter, example.choices[ord(letter) - ord("A")]
    return example.answer, ""


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    from uec_vlm.rewards import Grade

    """extracted: `response` is the model answer already (upstream's `model_answer` field), compared as is.
    `Grade.extracted` is None when upstream's extraction fell back to the whole response: the verdict is
    the same, but the response stated no answer, so it does not count towards the format rate."""
    answer, value = gold(example)
    model_answer, source = (response, "extracted") if extracted else extract_with_source(response)
    correct = is_equal(answer, model_answer) or is_equal(value, model_answer)
    reason = f"model answer {model_answer!r}; gold {answer!r}" + (f" / {value!r}" if value else "")
    stated = model_answer if source != "whole_response" else None
    return Grade(correct=correct, extracted=stated or None, path=f"mathvision:{source}", reason=reason)


def subset_keys(example) -> dict[str, str | list[str]]:
    """level, subject, and upstream's level x subject cells ("level2_algebra", as its `-level2_algebra`)."""
    out = metadata_subsets(example, SUBSET_KEYS)
    if "level" in out and "subject" in out:
        out["level_subject"] = f"level{out['level']}_{out['subject']}"
    return out
