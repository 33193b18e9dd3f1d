"""MathVista (testmini / test): the official `calculate_score.py` rule path.

Extraction: the official fast paths on the raw response (it already is a choice text / an int / a float),
then `The answer is "..."`. Upstream then asks an LLM (GPT-4) to extract; here the shared rule-based
`extract_answer` (answer tags, last boxed, "the answer is", option letter, last number) stands in for it.
Normalisation by answer type, then plain string equality with the gold answer:
  multi_choice: a "(X)" letter is taken; a letter maps to choices[idx]; otherwise
      official: the nearest choice by Levenshtein distance (upstream behaviour, also for an empty answer)
      strict:   unmatched is wrong (unless it equals a choice text exactly)
  integer: str(int(float(x)));  float: str(round(float(x), int(precision)));  list: str(x)
"""

from __future__ import annotations

import re

from evals.benchmarks import metadata_subsets

LABEL = "official rule path (rule-based pre-extraction instead of the official LLM extractor)"
SUBSET_KEYS = ("question_type", "answer_type", "language", "source", "category", "task", "context", "grade", "skills")

_QUOTED = re.compile(r'The answer is "(.*)"\.')
_PAREN_LETTER = re.compile(r"\(([a-zA-Z])\)")


def question_type(example) -> str:
    qt = example.metadata.get("question_type")
    if qt is not None:
        return str(qt)
    return "multi_choice" if example.answer_kind == "choice" else "free_form"


def answer_type(example) -> str:
    at = example.metadata.get("answer_type")
    if at is not None:
        return str(at)
    return example.answer_kind if example.answer_kind in ("integer", "float", "list") else "text"


def extract(response: str, example) -> tuple[str, str]:
    """(extraction, path): upstream `extract_answer` with quick_extract, the LLM step replaced by rules.

    Rules read what a person would: an option letter or option text wherever the answer is stated, a
    number with its separators and unit removed, a bracketed list. Nothing found is ("", "unextracted").
    """
    if response == "":
        return "", "empty"
    if question_type(example) == "multi_choice" and example.choices and response in example.choices:
        return response, "fast_choice"
    at = answer_type(example)
    if at == "integer":
        try:
            return str(int(response)), "fast_int"
        except ValueError:
            pass
    if at == "float":
        try:
            return str(float(response)), "fast_float"
        except ValueError:
            pass
    m = _QUOTED.search(response)
    if m:
        return m.group(1), "answer_is_quoted"
    from evals.benchmarks.readers import read_answer

    text, path = read_answer(response, choices=example.choices if question_type(example) == "multi_choice" else None,
                             answer_type=at)
    return (text, path) if text else ("", "unextracted")


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert/delete/substitute, unit costs), as python-Levenshtein's `distance`.

    O(len(a) * len(b)) with the shorter string inner; a megabyte extraction against short choices runs in
    a grading worker under the per-item time limit."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def normalize(extraction: str, example, mode: str) -> tuple[str | None, str]:
    """(prediction, how) as upstream `normalize_extracted_answer`; None when it cannot be normalised."""
    at = answer_type(example)
    if question_type(example) == "multi_choice":
        choices = list(example.choices or [])
        if not choices:
            raise ValueError(f"mathvista record {example.id}: multi_choice question without choices")
        text = extraction.strip()
        letter = _PAREN_LETTER.findall(text)
        if letter:
            text = letter[0].upper()
        options = [chr(ord("A") + i) for i in range(len(choices))]
        if text in options:
            return choices[options.index(text)], "letter"
        if text in choices:
            return text, "choice_text"
        if mode == "strict":
            return None, "unmatched"
        # min() keeps the first of equal distances, as upstream's distances.index(min(distances)).
        return min(choices, key=lambda c: levenshtein(text, c)), "nearest_choice"
    try:
        if at == "integer":
            return str(int(float(extraction))), "integer"
        if at == "float":
            precision = example.precision
            # The hub parquet stores precision as float64; round() needs an int.
            return str(round(float(extraction), None if precision is None else int(precision))), "float"
    except (ValueError, OverflowError):
        return None, f"not_{at}"
    return str(extraction), at


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    """extracted: `response` is an official (LLM) extraction: normalised and compared as upstream, an empty
    one included (nearest choice in official mode). Otherwise rules extract first, and a response they
    find nothing in is "unextracted": wrong in every mode, never a guessed choice."""
    from uec_vlm.rewards import Grade

    if extracted:
        extraction, ext_path = response, "extracted"
    else:
        extraction, ext_path = extract(response, example)
        if ext_path == "unextracted" or ext_path == "empty":
            return Grade(False, None, f"mathvista:{ext_path}", reason=f"no answer found; gold {example.answer!r}")
    prediction, how = normalize(extraction, example, mode)
    correct = prediction is not None and prediction == example.answer
    reason = f"extracted {extraction!r} -> prediction {prediction!r} ({how}); gold {example.answer!r}"
    # `extracted` is what the response said (None if nothing): the nearest-choice fallback is not a format.
    return Grade(correct=correct, extracted=extraction or None, path=f"mathvista:{ext_path}:{how}", reason=reason)


def subset_keys(example) -> dict[str, str | list[str]]:
    out = metadata_subsets(example, SUBSET_KEYS)
    out.setdefault("question_type", question_type(example))
    out.setdefault("answer_type", answer_type(example))
    return out
