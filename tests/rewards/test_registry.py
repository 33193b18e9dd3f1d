"""Reward registry: built-ins, weights from config, user rewards by import path, clear errors."""

import pytest

from data_zoo.example import Example
from uec_vlm.rewards import REWARDS, build_reward, math_format, r1v_format, register_reward


def ex(answer="48", kind="integer"):
    return Example(id="3", source="unit", split="train", question="q", answer=answer, answer_kind=kind)


GOOD_MATH = "<think>angle sum</think> so \\boxed{48}"
GOOD_R1V = "<think>angle sum</think>\n <answer>48</answer>"


def test_builtins_are_registered():
    assert {"math", "r1v", "accuracy"} <= set(REWARDS)


@pytest.mark.parametrize(
    "response, expected",
    [
        (GOOD_MATH, True),
        ("<think></think>\\boxed{1}", True),
        (" <think>a</think>\\boxed{1}", False),  # EasyR1 full match: nothing before <think>
        ("<think>a</think> no box", False),
        ("\\boxed{1}<think>a</think>", False),
        ("<think>a\\boxed{1}</think> text", False),
        ("<think>a</think>\\boxed{1", False),
    ],
)
def test_math_format(response, expected):
    assert math_format(response) is expected


@pytest.mark.parametrize(
    "response, expected",
    [
        (GOOD_R1V, True),
        ("<think>a</think><answer>1</answer> trailing", True),  # re.match: a prefix is enough
        ("<think>a</think> text <answer>1</answer>", False),
        ("<think>a</think> x </think>\t<answer>1</answer>", True),
        ("<think>a</think><answer>1", False),
    ],
)
def test_r1v_format(response, expected):
    assert r1v_format(response) is expected


def test_math_reward_default_weights_are_easyr1():
    reward = build_reward("math")
    rows = reward([GOOD_MATH, "\\boxed{48}", "<think>x</think>\\boxed{47}"], [ex()] * 3)
    assert rows == [
        {"overall": pytest.approx(1.0), "accuracy": 1.0, "format": 1.0},
        {"overall": pytest.approx(0.9), "accuracy": 1.0, "format": 0.0},
        {"overall": pytest.approx(0.1), "accuracy": 0.0, "format": 1.0},
    ]


def test_uec_rl_weights_accuracy_only_and_truncation_zeroes_format():
    reward = build_reward("math", weights={"accuracy": 1.0, "format": 0.0})
    rows = reward([GOOD_MATH, "<think>x</think>\\boxed{47}"], [ex()] * 2, truncated=[True, False])
    assert rows == [
        {"overall": 1.0, "accuracy": 1.0, "format": 0.0},
        {"overall": 0.0, "accuracy": 0.0, "format": 1.0},
    ]


def test_math_reward_grades_only_the_box():
    # "the answer is 48" would be right for evaluation, but the math reward reads the box alone.
    rows = build_reward("math")(["<think>x</think> the answer is 48"], [ex()])
    assert rows == [{"overall": 0.0, "accuracy": 0.0, "format": 0.0}]


def test_r1v_and_accuracy_rewards():
    r1v = build_reward("r1v")([GOOD_R1V, "<think>x</think><answer>47</answer>", "\\boxed{48}"], [ex()] * 3)
    assert [r["overall"] for r in r1v] == [2.0, 1.0, 0.0]
    acc = build_reward("accuracy")(["The answer is 48.", "48 is my guess... or 3", "nothing"], [ex()] * 3)
    assert acc == [
        {"overall": 1.0, "accuracy": 1.0, "format": 1.0},
        {"overall": 0.0, "accuracy": 0.0, "format": 0.0},  # no last-number fallback in a reward
        {"overall": 0.0, "accuracy": 0.0, "format": 0.0},
    ]


USER_MODULE = """
def length_bonus(completions, examples, *, truncated=None):
    return [{"overall": 0.0, "accuracy": 1.0, "format": 0.0, "short": float(len(c) < 5)} for c in completions]

def broken(completions, examples, *, truncated=None):
    return [{"overall": 1.0}]

NOT_CALLABLE = 3
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_rewards_pkg.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_rewards_pkg"


def test_user_reward_by_import_path_with_extra_component(user_module):
    reward = build_reward(f"{user_module}:length_bonus", weights={"accuracy": 0.5, "short": 2.0})
    rows = reward(["abc", "abcdefgh"], [ex()] * 2)
    assert rows == [
        {"overall": 2.5, "accuracy": 1.0, "format": 0.0, "short": 1.0},
        {"overall": 0.5, "accuracy": 1.0, "format": 0.0, "short": 0.0},
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope", r"unknown reward 'nope': registered rewards are \[.*'math'.*\]"),
        ("no_such_module_xyz:f", "reward 'no_such_module_xyz:f': cannot import module 'no_such_module_xyz'"),
        ("{mod}:missing", "reward '{mod}:missing': module '{mod}' has no callable 'missing'"),
        ("{mod}:NOT_CALLABLE", "module '{mod}' has no callable 'NOT_CALLABLE'"),
    ],
)
def test_bad_reward_spec_names_it(user_module, spec, message):
    with pytest.raises(ValueError, match=message.format(mod=user_module)):
        build_reward(spec.format(mod=user_module))


def test_bad_outputs_and_weights_name_the_reward(user_module):
    with pytest.raises(
        ValueError, match=r"reward 'my_rewards_pkg:broken': completion 0 lacks .*'accuracy', 'format'"
    ):
        build_reward(f"{user_module}:broken")(["a"], [ex()])
    with pytest.raises(ValueError, match=r"weights name unknown components \['acc'\]"):
        build_reward("math", weights={"acc": 1.0})(["\\boxed{48}"], [ex()])
    with pytest.raises(ValueError, match="weight 'format' must be a number, got 'x'"):
        build_reward("math", weights={"format": "x"})
    with pytest.raises(ValueError, match="reward 'math': 2 completions but 1 examples"):
        build_reward("math")(["a", "b"], [ex()])


def test_register_reward_rejects_duplicates_and_adds_new_names():
    with pytest.raises(ValueError, match="reward 'math' is already registered"):
        register_reward("math")(lambda completions, examples, *, truncated=None: [])

    @register_reward("unit_test_constant")
    def constant(completions, examples, *, truncated=None):
        return [{"overall": 0.25, "accuracy": 0.0, "format": 0.0} for _ in completions]

    try:
        assert build_reward("unit_test_constant")(["a"], [ex()]) == [
            {"overall": 0.25, "accuracy": 0.0, "format": 0.0}
        ]
    finally:
        del REWARDS["unit_test_constant"]
