import math

import numpy as np
import pytest

from evals.metrics import bootstrap_ci, mean_pass_at_k, pass_at_k, pass_at_k_per_problem


def exact(n, c, k):
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_pass_at_k_matches_math_comb_on_a_grid():
    checked = 0
    for n in [1, 2, 3, 5, 8, 16, 33, 64, 100]:
        for c in range(0, n + 1, max(1, n // 7)):
            for k in sorted({1, 2, 3, 4, 8, 10, 16, 32, n} & set(range(1, n + 1))):
                assert pass_at_k(n, c, k) == pytest.approx(exact(n, c, k), rel=1e-12, abs=1e-14)
                checked += 1
    assert checked > 250


def test_pass_at_k_large_n_where_binomials_overflow_floats():
    # C(1000, 500) has 300 digits: the product form must still agree with exact integer arithmetic.
    from fractions import Fraction

    n, c, k = 1000, 3, 500
    want = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(want), rel=1e-12)


def test_pass_at_k_edge_values():
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 6, 5) == 1.0  # n - c < k: every draw of 5 holds a correct one
    assert pass_at_k(4, 1, 1) == 0.25
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)


@pytest.mark.parametrize("n,c,k", [(4, 1, 5), (4, 5, 1), (4, -1, 1), (0, 0, 1), (4, 1, 0)])
def test_pass_at_k_rejects_invalid(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_pass_at_1_is_mean_accuracy_and_vector_helper():
    ns, cs = [4, 4, 2], [1, 4, 0]
    assert mean_pass_at_k(ns, cs, 1) == pytest.approx((0.25 + 1.0 + 0.0) / 3)
    np.testing.assert_allclose(pass_at_k_per_problem(ns, cs, 2), [exact(4, 1, 2), 1.0, 0.0])
    with pytest.raises(ValueError, match="k=3"):
        mean_pass_at_k(ns, cs, 3)


def test_bootstrap_ci_constant_and_known_case():
    assert bootstrap_ci([0.5] * 20) == (0.5, 0.5)
    low, high = bootstrap_ci([0.0] * 50 + [1.0] * 50, n_boot=2000, seed=1)
    # Normal approximation: 0.5 +- 1.96 * 0.05 = [0.402, 0.598].
    assert 0.38 < low < 0.43 and 0.57 < high < 0.62
    assert bootstrap_ci([0.0, 1.0, 1.0], seed=3) == bootstrap_ci([0.0, 1.0, 1.0], seed=3)
    with pytest.raises(ValueError):
        bootstrap_ci([])
