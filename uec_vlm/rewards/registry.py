"""The reward registry: named functions returning a dict of components per completion.

A reward function has the `RewardFn` signature and returns one dict per completion with at least
"overall", "accuracy" and "format" (floats). `build_reward` resolves a registered name or a user function
given as "package.module:function", and can re-weight the components from config:
overall = sum(weight[k] * component[k]).

Built-ins (default weights in brackets):
  math      accuracy of the last `\\boxed{}` + format `<think>...</think>...\\boxed{...}` [0.9 / 0.1, EasyR1]
  r1v       accuracy of the `<answer>` content + format `<think>...</think> <answer>...</answer>` [1 / 1, R1-V]
  accuracy  accuracy over all extraction paths but `last_number`; format = 1 when an answer was found [1 / 0]
The UEC-RL paper's run uses `math` with weights {"accuracy": 1.0, "format": 0.0}.
A truncated completion (hit the length limit) gets format 0; its accuracy is graded as usual.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from typing import Protocol

from data_zoo.example import Example

from .extract import PATHS
from .pool import grade_many

REQUIRED_COMPONENTS = ("overall", "accuracy", "format")


class RewardFn(Protocol):
    def __call__(
        self, completions: list[str], examples: list[Example], *, truncated: list[bool] | None = None
    ) -> list[dict[str, float]]: ...


REWARDS: dict[str, RewardFn] = {}


def register_reward(name: str) -> Callable[[RewardFn], RewardFn]:
    """Decorator adding a reward function to `REWARDS` under `name` (a duplicate name is an error)."""

    def add(fn: RewardFn) -> RewardFn:
        if name in REWARDS:
            raise ValueError(f"reward {name!r} is already registered ({REWARDS[name]!r})")
        REWARDS[name] = fn
        return fn

    return add


def math_format(response: str) -> bool:
    """EasyR1's `<think>.*</think>.*\\\\boxed\\{.*\\}.*` full match (DOTALL), done with `find` so that a
    megabyte response with many tags costs linear time instead of regex backtracking."""
    if not response.startswith("<think>"):
        return False
    close = response.find("</think>", len("<think>"))
    if close < 0:
        return False
    box = response.find("\\boxed{", close + len("</think>"))
    return box >= 0 and response.find("}", box + len("\\boxed{")) >= 0


_ANSWER_OPEN = re.compile(r"\s*<answer>")


def r1v_format(response: str) -> bool:
    """R1-V's `re.match(r"<think>.*?</think>\\s*<answer>.*?</answer>", response, re.DOTALL)`, linear-time."""
    if not response.startswith("<think>"):
        return False
    pos = len("<think>")
    while (close := response.find("</think>", pos)) >= 0:
        opened = _ANSWER_OPEN.match(response, close + len("</think>"))
        if opened is not None:
            return response.find("</answer>", opened.end()) >= 0
        pos = close + 1
    return False


def _components(accuracy: list[float], fmt: list[float], truncated, w_acc: float, w_fmt: float):
    if truncated is not None:
        if len(truncated) != len(fmt):
            raise ValueError(f"truncated has {len(truncated)} flags for {len(fmt)} completions")
        fmt = [0.0 if t else f for f, t in zip(fmt, truncated)]
    return [{"overall": w_acc * a + w_fmt * f, "accuracy": a, "format": f} for a, f in zip(accuracy, fmt)]


@register_reward("math")
def math_reward(completions, examples, *, truncated=None, timeout_s: float = 5.0, workers: int = 2):
    grades = grade_many(completions, examples, timeout_s=timeout_s, paths=("boxed",), workers=workers)
    accuracy = [float(g.correct) for g in grades]
    return _components(accuracy, [float(math_format(c)) for c in completions], truncated, 0.9, 0.1)


@register_reward("r1v")
def r1v_reward(completions, examples, *, truncated=None, timeout_s: float = 5.0, workers: int = 2):
    grades = grade_many(completions, examples, timeout_s=timeout_s, paths=("answer_tag",), workers=workers)
    accuracy = [float(g.correct) for g in grades]
    return _components(accuracy, [float(r1v_format(c)) for c in completions], truncated, 1.0, 1.0)


@register_reward("accuracy")
def accuracy_reward(completions, examples, *, truncated=None, timeout_s: float = 5.0, workers: int = 2):
    paths = tuple(p for p in PATHS if p != "last_number")
    grades = grade_many(completions, examples, timeout_s=timeout_s, paths=paths, workers=workers)
    found = [float(g.extracted is not None) for g in grades]
    return _components([float(g.correct) for g in grades], found, truncated, 1.0, 0.0)


def _resolve(name_or_path: str) -> RewardFn:
    if name_or_path in REWARDS:
        return REWARDS[name_or_path]
    if ":" not in name_or_path:
        raise ValueError(
            f"unknown reward {name_or_path!r}: registered rewards are {sorted(REWARDS)}; "
            "a custom reward is given as 'package.module:function'"
        )
    module_name, _, attr = name_or_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"reward {name_or_path!r}: cannot import module {module_name!r} ({e})") from e
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise ValueError(f"reward {name_or_path!r}: module {module_name!r} has no callable {attr!r}")
    return fn


class Reward:
    """A resolved reward with its config: call it like a `RewardFn`; outputs are checked and re-weighted."""

    def __init__(self, name: str, fn: RewardFn, weights: dict[str, float] | None, timeout_s: float,
                 workers: int = 2) -> None:
        self.name, self.fn = name, fn
        self.weights = None if weights is None else {str(k): float(v) for k, v in weights.items()}
        params = inspect.signature(fn).parameters
        extra = {"timeout_s": timeout_s, "workers": workers}
        self._extra = {k: v for k, v in extra.items() if k in params}

    def __call__(
        self, completions: list[str], examples: list[Example], *, truncated: list[bool] | None = None
    ) -> list[dict[str, float]]:
        """N completions + N examples -> N dicts of float components (with "overall" re-weighted)."""
        if len(completions) != len(examples):
            raise ValueError(
                f"reward {self.name!r}: {len(completions)} completions but {len(examples)} examples"
            )
        out = self.fn(completions, examples, truncated=truncated, **self._extra)
        if not isinstance(out, list) or len(out) != len(completions):
            raise ValueError(
                f"reward {self.name!r} returned {type(out).__name__} not a list of {len(completions)}"
            )
        return [self._check(row, i) for i, row in enumerate(out)]

    def _check(self, row: dict, i: int) -> dict[str, float]:
        missing = [k for k in REQUIRED_COMPONENTS if k not in row]
        if missing:
            raise ValueError(f"reward {self.name!r}: completion {i} lacks components {missing}")
        row = {k: float(v) for k, v in row.items()}
        if self.weights is not None:
            unknown = sorted(set(self.weights) - set(row))
            if unknown:
                raise ValueError(
                    f"reward {self.name!r}: weights name unknown components {unknown}; has {sorted(row)}"
                )
            row["overall"] = sum(w * row[k] for k, w in self.weights.items())
        return row


def build_reward(
    name_or_import_path: str, *, weights: dict[str, float] | None = None, timeout_s: float = 5.0, workers: int = 2
) -> Reward:
    """Resolve a registered reward name or "package.module:function"; `weights` (component -> weight)
    replaces the function's own "overall"; `timeout_s` is the per-item grading limit and `workers` the
    number of grading processes (`reward.workers`), each passed to functions that take it.
    Raises ValueError naming the reward for an unknown name, a bad import path or a bad weight."""
    fn = _resolve(name_or_import_path)
    for key, value in (weights or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"reward {name_or_import_path!r}: weight {key!r} must be a number, got {value!r}"
            )
    return Reward(name_or_import_path, fn, weights, timeout_s, workers)
