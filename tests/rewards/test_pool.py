"""grade_many: the in-process fast path, worker processes, per-item time limits, hostile completions."""

import pytest

from data_zoo.example import Example
from uec_vlm.rewards import Grade, grade_many
from uec_vlm.rewards.pool import shared_pool


def ex(answer, kind, uid="7", **kw):
    return Example(id=uid, source="unit", split="test", question="q", answer=answer, answer_kind=kind, **kw)


def test_easy_batch_is_graded_in_process_without_workers():
    # A pool size no other test uses, so "no worker was ever started" is observable.
    choice = ex("48", "choice", choices=["24", "48", "60", "72"], gold_letter="B")
    responses = ["\\boxed{B}", "\\boxed{48}", "\\boxed{C}", "\\boxed{17}"] * 16
    examples = [choice, choice, choice, ex("17", "integer")] * 16
    grades = grade_many(responses, examples, workers=5)
    assert [g.correct for g in grades[:4]] == [True, True, False, True]
    assert [g.path for g in grades[:4]] == ["boxed/choice", "boxed/choice", "boxed/choice", "boxed/number"]
    assert len(grades) == 64
    assert shared_pool(5).live_workers == 0


def test_length_mismatch_and_bad_gold_are_errors_naming_the_culprit():
    with pytest.raises(ValueError, match="2 responses but 1 examples"):
        grade_many(["a", "b"], [ex("1", "integer")])
    with pytest.raises(ValueError, match="record unit/test/bad: gold answer 'x' is not a valid integer"):
        grade_many(["\\boxed{1}"], [ex("x", "integer", uid="bad")])


@pytest.mark.timeout(120)
def test_hostile_batch_is_bounded_side_effect_free_and_normal_items_still_score(tmp_path):
    target = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {target}')"
    nested_frac = "\\frac{1}{" * 3000 + "2" + "}" * 3000
    cases = [
        # (response, example, expected correct, expected path or None when any failure path is fine)
        (f"\\boxed{{{payload}}}", ex("1", "expression"), False, None),
        (f"<answer>{payload}</answer>", ex("1", "expression"), False, None),
        (f"The answer is {payload}", ex("1", "expression"), False, None),
        ("\\boxed{9^{9^{9^{9}}}}", ex("5", "integer"), False, "timeout"),
        ("\\boxed{10**10**10}", ex("5", "expression"), False, None),
        (f"\\boxed{{{nested_frac}}}", ex("1", "expression"), False, "timeout"),
        ("\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}", ex("1", "expression"), False, None),
        ("y" * 1_000_000, ex("3", "integer"), False, "none"),
        (
            "x" * 1_000_000 + " \\boxed{\\sqrt{884}}",
            ex("2\\sqrt{221}", "expression"),
            True,
            "boxed/math_verify",
        ),
        ("\\boxed{x^2+2x+1}", ex("(x+1)^2", "expression"), True, "boxed/math_verify"),
        ("\\boxed{12}", ex("12", "integer"), True, "boxed/number"),
        ("\\boxed{\\frac{\\pi}{2}}", ex("\\frac{\\pi}{2}", "expression"), True, "boxed/exact"),
    ]
    grades = grade_many([c[0] for c in cases], [c[1] for c in cases], timeout_s=2.0, workers=2)
    for (response, _, correct, path), verdict in zip(cases, grades):
        assert verdict.correct is correct, response[:60]
        if path is not None:
            assert verdict.path == path, response[:60]
        if verdict.path in ("timeout", "error"):
            assert verdict.reason, response[:60]
    assert grades[3] == Grade(
        False, "9^{9^{9^{9}}}", "timeout", reason="grading exceeded 2.0 s; worker killed"
    )
    assert not target.exists()
    # The killed workers were replaced: the pool keeps serving the next batch.
    again = grade_many(["\\boxed{\\sqrt{4}}"], [ex("2", "expression")], timeout_s=5.0, workers=2)
    assert again == [Grade(True, "\\sqrt{4}", "boxed/math_verify")]
    assert shared_pool(2).live_workers == 2


def test_numpy_fields_from_hub_parquet_reach_the_worker():
    import numpy as np

    from data_zoo.example import Example
    from evals import benchmarks

    ex = Example(id="1", source="mathvista", split="testmini", question="q", answer="1.2", answer_kind="float",
                 precision=np.float64(1.0), metadata={"question_type": "free_form", "answer_type": "float",
                                                      "img_width": np.int64(5), "skills": np.array(["a", "b"])})
    (g,) = benchmarks.score_many([ex], ["The answer is 1.23"])
    assert (g.correct, g.path) == (True, "mathvista:answer_is:number:float")
