"""Hostile model outputs through every benchmark rule: bounded time, a verdict per item, no side effects."""

import os
import time

import pytest

from data_zoo.example import Example
from evals import benchmarks

LIMIT_S = 1.0

HOSTILE = [
    "\\boxed{9^{9^{9^{9}}}}", "\\boxed{2^{10^{10}}}", "\\boxed{10^{10^{100}}}", "\\boxed{(9^{9^{9}}, 1)}",
    "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}", "\\boxed{" + "(" * 3000 + "1" + ")" * 3000 + "}",
    "\\boxed{" + "\\frac{1}{" * 500 + "2" + "}" * 500 + "}", "\\boxed{" + "\\sqrt{" * 400 + "2" + "}" * 400 + "}",
    "A" * 1_000_000, "oxed{" * 20_000, "\\boxed{" * 20_000, "The answer is " + "9" * 100_000,
    "1" * 1_000_000, "The answer is (" + "1," * 200_000 + "1)", "}" * 100_000 + "\\boxed{1}",
    "\\boxed{1" + "{" * 50_000, "{" * 100_000, "\\boxed{\\frac{1}{0}}", "\\boxed{0^{-1}}",
    "\\boxed{\\infty - \\infty}", "\\boxed{(6,2,1)}", "\\boxed{(\\pi, e)}", "\\boxed{[1,2,3]}", "\\boxed{\\{1,2\\}}",
    "a\x00b\x00\\boxed{1\x00}", "\x00" * 10_000, "\udcff\udcfe invalid utf-8 \\boxed{1}", "\ufffd\ufffd\\boxed{\ufffd}",
    "__import__('os').system('touch PWNED_hostile')", "\\boxed{__import__('os').system('touch PWNED_hostile')}",
    "The answer is eval('1+1')", "\\boxed{exec('import os')}", "\\boxed{().__class__.__bases__[0].__subclasses__()}",
    "\\boxed{lambda: 0}", "\\boxed{open('/etc/passwd').read()}", "<answer>__import__('os')</answer>",
    "\\boxed{x = y = z = " + "1+" * 10_000 + "1}", "\\boxed{" + "x" * 100_000 + "}", "\\boxed{\\sin(" * 300 + ")" * 300,
    "The answer is " + "(A) " * 100_000, "答案:" + "Ｄ" * 10_000, "**(E)**" * 50_000, "Answer:" * 100_000,
    "\\boxed{1e999999}", "\\boxed{" + "9" * 5000 + "}", "\\boxed{10!!!!!!}", "\\boxed{100000!}", "\\boxed{(10^{6})!}",
    "\\boxed{\\binom{10^{9}}{10^{5}}}", "\\boxed{\\int_0^1 x dx}", "\\boxed{\\lim_{x\\to 0} \\frac{\\sin x}{x}}",
    "\\boxed{\\sum_{i=1}^{10^{12}} i}", "\\boxed{\\prod_{i=1}^{10^{9}} i}", "\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}",
    "\\boxed{" + "1,000," * 100_000 + "}", "7" + ",873" * 200_000, "\\boxed{\\text{" + "a" * 200_000 + "}}",
    "\n" * 1_000_000, " " * 1_000_000 + "B", "\\boxed{$$$$$$}" * 10_000, "\\left(" * 10_000 + "\\right)" * 10_000,
    "\\boxed{\\sqrt[10^{10}]{2}}", "\\boxed{2^{2^{2^{2^{2^{2}}}}}}", "is 1e400", "The answer is \"" + "a" * 500_000 + "\".",
]


def _examples():
    meta_vista = {"question_type": "multi_choice", "answer_type": "text"}
    return [
        Example(id="1", source="mathvista", split="testmini", question="q", answer="yes", answer_kind="choice",
                choices=["yes", "no"], gold_letter="A", metadata=meta_vista),
        Example(id="2", source="mathvista", split="testmini", question="q", answer="12", answer_kind="integer",
                metadata={"question_type": "free_form", "answer_type": "integer"}),
        Example(id="3", source="mathvision", split="test", question="q", answer="(6,2,1)", answer_kind="expression",
                metadata={"level": 2, "subject": "algebra"}),
        Example(id="4", source="mathvision", split="test", question="q", answer="$120^{\\circ}$", answer_kind="choice",
                choices=["$60^{\\circ}$", "$120^{\\circ}$", "A", "B", "C"], gold_letter="B",
                metadata={"level": 1, "subject": "metric geometry - angle"}),
        Example(id="2steps_1", source="wemath", split="testmini", question="q", answer="A", answer_kind="choice",
                choices=["1", "2"], gold_letter="A", metadata={"ID": "2steps_1", "key": "2steps_1"}),
        Example(id="5", source="mathverse", split="testmini", question="q", answer="2\\sqrt{3}",
                answer_kind="expression"),
        Example(id="6", source="geoqa", split="test", question="q", answer="2√{3}", answer_kind="expression"),
        Example(id="7", source="dynamath", split="test", question="q", answer="3.14", answer_kind="float",
                metadata={"answer_type": "float", "seed_id": "1"}),
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_hostile_outputs_get_a_bounded_verdict_through_every_rule(tmp_path, monkeypatch):
    """Raw responses through every rule (MathVista, MathVision, We-Math, MathVerse, DynaMath, shared graders),
    and the same texts as already-extracted answers through four of them."""
    monkeypatch.chdir(tmp_path)
    assert len(HOSTILE) >= 60
    examples = _examples()
    raw = [examples[i] for i in (0, 2, 4, 5, 6, 7)]
    extracted_rules = [examples[i] for i in (1, 3, 4, 7)]
    for extracted, chosen in ((False, raw), (True, extracted_rules)):
        pairs = [(ex, r) for ex in chosen for r in HOSTILE]
        t0 = time.monotonic()
        grades = benchmarks.score_many([p[0] for p in pairs], [p[1] for p in pairs], "official", LIMIT_S,
                                       extracted=extracted)
        wall = time.monotonic() - t0
        assert len(grades) == len(pairs)
        timeouts = sum(g.path == "timeout" for g in grades)
        # Each time-out costs at most the limit (+ a worker restart); everything else is fast.
        assert wall <= timeouts * (LIMIT_S + 1.0) + 120, (wall, timeouts)
        for g in grades:
            assert g.path == "timeout" or g.correct in (True, False)
            if g.path in ("timeout", "error"):
                assert g.correct is False and g.reason
    assert not any(os.path.exists(p) for p in ("PWNED_hostile", tmp_path / "PWNED_hostile"))
    assert os.listdir(tmp_path) == []
