"""Answer extraction, graders and the reward registry, shared by training rewards and evaluation.

See docs/rewards.md. Model output is untrusted: nothing here passes it to `eval`, and sympy-based parsing
runs in worker processes with a per-item time limit (`grade_many`).
"""

from .extract import PATHS, Extraction, extract_answer, last_boxed
from .graders import Grade, grade
from .pool import GradingPool, grade_many
from .registry import REWARDS, Reward, RewardFn, build_reward, math_format, r1v_format, register_reward

__all__ = [
    "PATHS",
    "REWARDS",
    "Extraction",
    "Grade",
    "GradingPool",
    "Reward",
    "RewardFn",
    "build_reward",
    "extract_answer",
    "grade",
    "grade_many",
    "last_boxed",
    "math_format",
    "r1v_format",
    "register_reward",
]
