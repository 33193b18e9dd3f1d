"""Paired comparisons: per-problem paired bootstrap, and across-seed paired t-tests with t-intervals.

The Student t distribution is implemented here (regularised incomplete beta by continued fraction, the
quantile by bisection) so that the project does not depend on scipy for a handful of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _as_vector(values: Sequence[float], name: str, min_len: int = 1) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < min_len:
        raise ValueError(f"{name}: need a 1-D sequence of at least {min_len} values (got shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: values must be finite")
    return x


def _paired(a: Sequence[float], b: Sequence[float], name: str, min_len: int) -> np.ndarray:
    xa, xb = _as_vector(a, f"{name} (a)", min_len), _as_vector(b, f"{name} (b)", min_len)
    if xa.size != xb.size:
        raise ValueError(f"{name}: paired inputs differ in length ({xa.size} vs {xb.size})")
    return xb - xa


# ----------------------------------------------------------------------------- Student t distribution
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"t_cdf: df must be > 0 (got {df})")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t: the t with t_cdf(t, df) = q, by bisection (|error| < 1e-10)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_ppf: q must lie in (0, 1) (got {q})")
    if q == 0.5:
        return 0.0
    lo, hi = -1.0, 1.0
    while t_cdf(lo, df) > q:
        lo *= 2.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------- across seeds
@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof=1) and t-interval of a few runs (seeds)."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    confidence: float


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean +- std and the t-interval of the mean. values: [S] one number per seed (S >= 2)."""
    x = _as_vector(values, "t_interval", min_len=2)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"t_interval: confidence must lie in (0, 1) (got {confidence})")
    mean, std = float(x.mean()), float(x.std(ddof=1))
    half = t_ppf(0.5 + confidence / 2.0, x.size - 1) * std / math.sqrt(x.size)
    return Summary(x.size, mean, std, mean - half, mean + half, confidence)


@dataclass(frozen=True)
class PairedTTest:
    """Paired t-test of b - a. `cohens_d` is the paired effect size d_z = mean(diff) / std(diff)."""

    n: int
    mean_diff: float
    std_diff: float
    t: float
    df: int
    p_value: float
    ci_low: float
    ci_high: float
    cohens_d: float


def paired_t_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedTTest:
    """Two-sided paired t-test of b against a. a, b: [S] matched results (same seeds), S >= 2."""
    diff = _paired(a, b, "paired_t_test", min_len=2)
    n, mean, sd = diff.size, float(diff.mean()), float(diff.std(ddof=1))
    df = n - 1
    if sd == 0.0:
        # Identical differences: no variance to test against; the sign of the mean decides.
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0.0 else 0.0
        d = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        return PairedTTest(n, mean, sd, t, df, p, mean, mean, d)
    se = sd / math.sqrt(n)
    t = mean / se
    p = min(1.0, 2.0 * (1.0 - t_cdf(abs(t), df)))
    half = t_ppf(0.5 + confidence / 2.0, df) * se
    return PairedTTest(n, mean, sd, t, df, p, mean - half, mean + half, mean / sd)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order ([m] -> [m]): sorted ascending, the j-th
    smallest (j from 1) becomes max over i <= j of min(1, (m - i + 1) p_(i)). Rejecting where adjusted
    p < alpha controls the family-wise error rate at alpha over the m tests."""
    p = _as_vector(p_values, "holm")
    order = np.argsort(p, kind="stable")
    m = p.size
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p[i])))
        out[i] = running
    return out.tolist()


# ----------------------------------------------------------------------------- per problem
@dataclass(frozen=True)
class PairedBootstrap:
    """Paired bootstrap of mean(b - a) over problems: percentile interval and two-sided p-value."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_boot: int


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, n_boot: int = 10_000, alpha: float = 0.05, seed: int = 0
) -> PairedBootstrap:
    """Paired bootstrap over problems. a, b: [P] per-problem scores of two systems on the same problems.

    The p-value tests mean(b - a) = 0 by centring the bootstrap distribution on the null:
    p = (1 + #{|d* - d| >= |d|}) / (n_boot + 1), so it is never exactly 0.
    """
    diff = _paired(a, b, "paired_bootstrap", min_len=1)
    if n_boot < 1:
        raise ValueError(f"paired_bootstrap: n_boot must be >= 1 (got {n_boot})")
    d = float(diff.mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(n_boot, diff.size))
    boot = diff[idx].mean(axis=1)
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    if d == 0.0:
        p = 1.0
    else:
        # A tolerance keeps float noise in the resampled means from deciding ties.
        extreme = np.abs(boot - d) >= abs(d) - 1e-12
        p = float((1 + int(extreme.sum())) / (n_boot + 1))
    xa = np.asarray(a, dtype=np.float64)
    return PairedBootstrap(diff.size, float(xa.mean()), float(xa.mean()) + d, d, float(low), float(high), p, n_boot)
