import math

import pytest

from evals.stats import paired_bootstrap, paired_t_test, t_cdf, t_interval, t_ppf


def cdf_df1(t):
    return 0.5 + math.atan(t) / math.pi


def cdf_df2(t):
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


def cdf_df3(t):
    u = t / math.sqrt(3)
    return 0.5 + (u / (1 + u * u) + math.atan(u)) / math.pi


@pytest.mark.parametrize("t", [-7.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 30.0])
def test_t_cdf_matches_closed_forms(t):
    assert t_cdf(t, 1) == pytest.approx(cdf_df1(t), abs=1e-12)
    assert t_cdf(t, 2) == pytest.approx(cdf_df2(t), abs=1e-12)
    assert t_cdf(t, 3) == pytest.approx(cdf_df3(t), abs=1e-12)


def test_t_ppf_known_quantiles():
    assert t_ppf(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-8)  # 12.7062
    # df=2 inverts in closed form: t = (2q-1) * sqrt(2 / (4q(1-q))).
    q = 0.975
    assert t_ppf(q, 2) == pytest.approx((2 * q - 1) * math.sqrt(2 / (4 * q * (1 - q))), rel=1e-8)
    assert t_ppf(0.975, 10) == pytest.approx(2.228138852, abs=1e-8)
    assert t_ppf(0.025, 10) == pytest.approx(-2.228138852, abs=1e-8)
    assert t_ppf(0.975, 1e6) == pytest.approx(1.959966, abs=1e-5)


def test_paired_t_test_hand_computed():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 5.0, 5.0]  # diffs 1, 2, 2, 1
    r = paired_t_test(a, b)
    sd = math.sqrt(1 / 3)
    t = 1.5 / (sd / 2)
    assert (r.n, r.df) == (4, 3)
    assert r.mean_diff == pytest.approx(1.5)
    assert r.std_diff == pytest.approx(sd)
    assert r.t == pytest.approx(t)
    assert r.p_value == pytest.approx(2 * (1 - cdf_df3(t)), abs=1e-12)
    assert r.cohens_d == pytest.approx(1.5 / sd)
    # 95% interval uses the df=3 quantile 3.182446305...
    assert r.ci_low == pytest.approx(1.5 - 3.182446305284263 * sd / 2, abs=1e-8)
    assert r.ci_high == pytest.approx(1.5 + 3.182446305284263 * sd / 2, abs=1e-8)
    # Reversing the pair flips the sign, not the p-value.
    rev = paired_t_test(b, a)
    assert rev.t == pytest.approx(-t) and rev.p_value == pytest.approx(r.p_value)


def test_paired_t_test_rejects_mismatched_and_short():
    with pytest.raises(ValueError, match="differ in length"):
        paired_t_test([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        paired_t_test([1], [2])


def test_t_interval_three_seeds():
    s = t_interval([0.50, 0.52, 0.54])
    assert s.mean == pytest.approx(0.52) and s.std == pytest.approx(0.02)
    half = 4.302652729749464 * 0.02 / math.sqrt(3)
    assert s.ci_low == pytest.approx(0.52 - half, abs=1e-9)
    assert s.ci_high == pytest.approx(0.52 + half, abs=1e-9)


def test_paired_bootstrap_known_answers():
    same = paired_bootstrap([0, 1, 1, 0], [0, 1, 1, 0], n_boot=500)
    assert (same.diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    # b beats a by exactly 1 on every problem: no resample can reach 0, p is the floor 1/(n_boot+1).
    const = paired_bootstrap([0.0] * 10, [1.0] * 10, n_boot=999)
    assert (const.diff, const.ci_low, const.ci_high) == (1.0, 1.0, 1.0)
    assert const.p_value == pytest.approx(1 / 1000)
    assert (const.mean_a, const.mean_b) == (0.0, 1.0)
    # One win in 40 problems: weak evidence, interval reaches 0.
    weak = paired_bootstrap([0.0] * 40, [1.0] + [0.0] * 39, n_boot=2000, seed=0)
    assert weak.diff == pytest.approx(0.025)
    assert weak.ci_low == 0.0 and weak.p_value > 0.2
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1, 2], [1])
