"""Pass@k (unbiased estimator) and bootstrap confidence intervals over problems.

Pass@k follows Chen et al. (2021): with n samples of which c are correct, the probability that at least
one of k samples drawn without replacement is correct is 1 - C(n-c, k) / C(n, k). The binomials overflow
floats for realistic n, so it is computed as the product 1 - prod_{i=n-c+1}^{n} (1 - k / i).
Pass@1 reduces to c / n, the mean accuracy over samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(n: int, c: int, k: int) -> None:
    if not (isinstance(n, (int, np.integer)) and isinstance(c, (int, np.integer)) and isinstance(k, (int, np.integer))):
        raise TypeError(f"pass_at_k needs integers, got n={n!r}, c={c!r}, k={k!r}")
    if n < 1:
        raise ValueError(f"pass_at_k: n must be >= 1 (got n={n})")
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n (got c={c}, n={n})")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n (got k={k}, n={n}); draw more samples or lower k")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased Pass@k of one problem with `n` samples, `c` of them correct."""
    _check(n, c, k)
    if n - c < k:
        # Every k-subset contains a correct sample.
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def pass_at_k_per_problem(ns: Sequence[int], cs: Sequence[int], k: int) -> np.ndarray:
    """Pass@k of each problem. ns, cs: [P] sample and correct counts -> [P] float64."""
    if len(ns) != len(cs):
        raise ValueError(f"pass_at_k_per_problem: {len(ns)} sample counts but {len(cs)} correct counts")
    return np.array([pass_at_k(int(n), int(c), k) for n, c in zip(ns, cs)], dtype=np.float64)


def mean_pass_at_k(ns: Sequence[int], cs: Sequence[int], k: int) -> float:
    """Benchmark Pass@k: mean over problems of the per-problem estimate (k=1 gives mean of c/n)."""
    values = pass_at_k_per_problem(ns, cs, k)
    if values.size == 0:
        raise ValueError("mean_pass_at_k: no problems")
    return float(values.mean())


def bootstrap_ci(
    values: Sequence[float], *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` ([P] per-problem scores) -> (low, high).

    Problems are the resampling unit, so the interval reflects which problems a benchmark happens to hold,
    not the sampling noise within a problem (that is already averaged into each value).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"bootstrap_ci needs a non-empty 1-D sequence (got shape {x.shape})")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"bootstrap_ci: alpha must lie in (0, 1) (got {alpha})")
    if n_boot < 1:
        raise ValueError(f"bootstrap_ci: n_boot must be >= 1 (got {n_boot})")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
