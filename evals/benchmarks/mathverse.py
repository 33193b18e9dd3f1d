"""MathVerse (testmini): a rule-based score, NOT the official one, broken down by problem version and subject.

The official MathVerse score is a two-step LLM pipeline (extract the answer, then judge consistency with
the standard answer); see `evals.benchmarks.mathverse_judge` for that pipeline against any
OpenAI-compatible endpoint. Without it, responses are graded with the shared graders
(`uec_vlm.rewards.grade`), which read letters and math but not free-form prose, so numbers differ from
published ones and must be labelled non-official.
"""

from __future__ import annotations

from evals.benchmarks import metadata_subsets

LABEL = "NON-OFFICIAL rule-based score (official: two-step LLM extract + judge)"
SUBSET_KEYS = ("problem_version", "subject", "subfield")


def rule_gold(answer: str) -> str:
    """The value of a unit-bearing free-form gold for the rule-based score: "Area $=113.1 \\mathrm{~cm}^{2}$"
    -> "113.1 \\mathrm{~cm}^{2}" (the shared graders then drop the unit); other golds unchanged."""
    text = answer.replace("$", "").strip()
    if "\n" in text or "=" not in text:
        return answer
    return text.rsplit("=", 1)[1].strip() or answer


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    from dataclasses import replace

    from uec_vlm.rewards import grade

    if "\n" in example.answer.strip():
        # A multi-line gold ("C\nD": both options; "-4.9\n-4.9": two values) is every line, in order.
        lines = [line.strip() for line in example.answer.strip().split("\n") if line.strip()]
        example = replace(example, answer=", ".join(lines), answer_kind="list", choices=None, gold_letter=None)
        response = response.replace(" and ", ", ")
    elif example.answer_kind != "choice":
        example = replace(example, answer=rule_gold(example.answer))
    g = grade(response, example, paths=("whole",) if extracted else None)
    return replace(g, path=f"mathverse:rule(non-official):{g.path}")


def subset_keys(example) -> dict[str, str | list[str]]:
    return metadata_subsets(example, SUBSET_KEYS)
