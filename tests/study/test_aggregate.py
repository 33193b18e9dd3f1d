"""Study aggregation and paired statistics on hand-made run results with hand-computed answers."""

from __future__ import annotations

import math

import pytest

from evals.stats import paired_bootstrap
from uec_vlm.study.aggregate import (
    build_study,
    by_level,
    curve_band,
    paired_comparison,
    seed_summary,
    verdict,
)
from uec_vlm.study.report import comparisons_table, results_table
from uec_vlm.study.results import RunResult, curves_from_rows, per_problem_pass

T975_DF2 = 4.302652729749464  # Student t quantile 0.975, 2 degrees of freedom

# Pass@1 of problems p1..p4 per seed. grpo means: 0.5, 0.25, 0.75; uec: 0.625, 0.5, 0.875.
GRPO = {0: [1.0, 0.5, 0.0, 0.5], 1: [0.5, 0.5, 0.0, 0.0], 2: [1.0, 1.0, 0.5, 0.5]}
UEC = {0: [1.0, 1.0, 0.0, 0.5], 1: [0.5, 0.5, 0.5, 0.5], 2: [1.0, 1.0, 0.5, 1.0]}
IDS = ["p1", "p2", "p3", "p4"]


def _run(method, seed, values, ids=IDS, **kw) -> RunResult:
    return RunResult(method, seed, {"b": {"pass@1": dict(zip(ids, values))}}, **kw)


def _runs(method, table):
    return {s: _run(method, s, v) for s, v in table.items()}


def test_seed_summary_mean_std_and_t_interval():
    s = seed_summary({2: 0.75, 0: 0.5, 1: 0.25})
    half = T975_DF2 * 0.25 / math.sqrt(3)
    assert (s["n"], s["mean"], s["std"]) == (3, 0.5, pytest.approx(0.25))
    assert (s["ci_low"], s["ci_high"]) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    assert s["per_seed"] == {"0": 0.5, "1": 0.25, "2": 0.75}
    one = seed_summary({4: 0.3})
    assert (one["n"], one["mean"], one["std"], one["ci_low"]) == (1, 0.3, None, None)


def test_paired_comparison_t_test_cohens_d_and_bootstrap():
    cmp = paired_comparison(_runs("grpo", GRPO), _runs("uec", UEC), "b", "pass@1", n_boot=2000)
    assert cmp["seeds"] == [0, 1, 2]
    assert cmp["baseline_per_seed"] == [0.5, 0.25, 0.75]
    assert cmp["method_per_seed"] == [0.625, 0.5, 0.875]
    assert cmp["diff_per_seed"] == [0.125, 0.25, 0.125]
    assert cmp["mean_diff"] == pytest.approx(1 / 6)
    t = cmp["t_test"]
    # diffs 1/8, 1/4, 1/8: sd = 1/sqrt(192), t = (1/6) / (sd/sqrt(3)) = 4 with 2 df
    assert t["std_diff"] == pytest.approx(1 / math.sqrt(192))
    assert t["t"] == pytest.approx(4.0)
    assert t["df"] == 2
    assert t["p_value"] == pytest.approx(1 - 4 / math.sqrt(18), abs=1e-10)  # closed-form t(2) tail
    assert t["cohens_d"] == pytest.approx(4 / math.sqrt(3))
    # bootstrap over problems of the seed-averaged scores
    a = [5 / 6, 2 / 3, 1 / 6, 1 / 3]
    b = [5 / 6, 5 / 6, 1 / 3, 2 / 3]
    boot = cmp["bootstrap"]
    assert (boot["n"], boot["diff"], boot["mean_a"]) == (4, pytest.approx(1 / 6), pytest.approx(0.5))
    ref = paired_bootstrap(a, b, n_boot=2000, seed=0)
    assert (boot["ci_low"], boot["ci_high"], boot["p_value"]) == pytest.approx((ref.ci_low, ref.ci_high, ref.p_value))
    assert verdict(cmp, "uec", "grpo") == ("uec does not differ significantly from grpo: +16.67 points, paired t-test "
                                           "over 3 seeds p = 0.0572 (alpha 0.05), Cohen's d = 2.31.")


def test_paired_comparison_matches_problems_and_seeds():
    base = _runs("grpo", GRPO)
    # uec has no seed 2 and its seed 1 lacks problem p4: seed 1 is compared on p1..p3 only.
    other = {0: _run("uec", 0, UEC[0]), 1: _run("uec", 1, [0.5, 0.5, 0.5], ids=IDS[:3])}
    cmp = paired_comparison(base, other, "b", "pass@1", n_boot=100)
    assert cmp["seeds"] == [0, 1]
    assert cmp["baseline_per_seed"] == [0.5, pytest.approx(1 / 3)]
    assert cmp["method_per_seed"] == [0.625, 0.5]
    assert cmp["bootstrap"]["n"] == 3  # p1..p3: the problems every matched seed shares
    assert paired_comparison(base, {5: _run("uec", 5, UEC[0])}, "b", "pass@1") is None


def test_one_seed_has_no_t_test():
    cmp = paired_comparison({0: _run("g", 0, GRPO[0])}, {0: _run("u", 0, UEC[0])}, "b", "pass@1", n_boot=10)
    assert cmp["t_test"] is None and cmp["mean_diff"] == 0.125
    assert verdict(cmp, "u", "g") == "u - g: +12.50 points on one seed; no test across seeds is possible."


def test_significant_verdict_says_better_or_worse():
    base = {s: _run("g", s, [0.0, 0.0, 0.0, 0.0]) for s in (0, 1, 2)}
    # seed means 0.5, 0.5625, 0.5: mean difference 0.520833 = +52.08 points
    other = {s: _run("u", s, [0.5 + 0.25 * (s == 1), 0.5, 0.5, 0.5]) for s in (0, 1, 2)}
    cmp = paired_comparison(base, other, "b", "pass@1", n_boot=10)
    assert verdict(cmp, "u", "g").startswith("u is better than g: +52.08 points")
    flipped = paired_comparison(other, base, "b", "pass@1", n_boot=10)
    assert verdict(flipped, "g", "u").startswith("g is worse than u: -52.08 points")


def test_curve_band_carries_last_value_forward():
    a = RunResult("m", 0, {}, curves={"entropy/mean": {2: 1.0, 4: 3.0}})
    b = RunResult("m", 1, {}, curves={"entropy/mean": {1: 2.0, 4: 1.0}})
    band = curve_band([a, b], "entropy/mean")
    assert band["steps"] == [1, 2, 4]
    assert band["mean"] == [2.0, 1.5, 2.0]
    assert band["std"] == [0.0, pytest.approx(math.sqrt(0.5)), pytest.approx(math.sqrt(2.0))]
    assert band["n"] == [1, 2, 2]
    assert curve_band([a, b], "reward/overall") is None


def test_by_level_breaks_down_over_problem_levels():
    out = by_level(_runs("grpo", GRPO), "b", {"p1": 1, "p2": 1, "p3": 2, "p4": 3})
    assert list(out) == ["1", "2", "3"]
    assert out["1"]["per_seed"] == {"0": 0.75, "1": 0.5, "2": 1.0} and out["1"]["n_problems"] == 2
    assert out["2"]["per_seed"] == {"0": 0.0, "1": 0.0, "2": 0.5}
    assert out["3"]["mean"] == pytest.approx(1 / 3)


def test_per_problem_pass_unbiased_and_checked():
    recs = [{"id": "a", "sample": i, "correct": i == 0} for i in range(4)]
    recs += [{"id": "b", "sample": i, "correct": True} for i in range(4)]
    out = per_problem_pass(recs, [1, 2], "x")
    assert out["pass@1"] == {"a": 0.25, "b": 1.0}
    assert out["pass@2"] == {"a": pytest.approx(0.5), "b": 1.0}  # 1 - C(3,2)/C(4,2)
    with pytest.raises(ValueError, match="Pass@8 needs 8 samples but problem 'a' has 4"):
        per_problem_pass(recs, [8], "x")
    with pytest.raises(ValueError, match="problem 'a' sample 0 appears twice"):
        per_problem_pass(recs + recs[:1], [1], "x")


def test_curves_from_rows_best_validation_and_step_time():
    rows = [{"step": 0, "val/pass@1": 0.2, "val/format_rate": 1.0},
            {"step": 1, "time/step": 2.0, "reward/overall": 0.5, "actor/loss": 1.0},
            {"step": 2, "time/step": 4.0, "reward/overall": float("nan")},
            {"step": 3, "val/pass@1": 0.4, "time/step": 3.0},
            {"step": 5, "val/pass@1": 0.4}]
    curves, best, sps = curves_from_rows(rows)
    assert best == {"val/pass@1": (0.4, 3)}  # ties go to the earliest step
    assert sps == 3.0
    assert curves["reward/overall"] == {1: 0.5}
    assert "actor/loss" not in curves and curves["val/format_rate"] == {0: 1.0}


def test_build_study_and_tables():
    results = [*_runs("grpo", GRPO).values(), *_runs("uec", UEC).values()]
    for r in results:
        r.sec_per_step = 1.0 + r.seed
    study = build_study(results, "grpo", n_boot=200)
    assert list(study["methods"]) == ["grpo", "uec"] and list(study["comparisons"]) == ["uec"]
    assert study["methods"]["uec"]["final"]["b"]["pass@1"]["mean"] == pytest.approx(2 / 3)
    assert study["methods"]["grpo"]["sec_per_step"]["mean"] == 2.0
    assert study["verdicts"] == ["b: " + verdict(study["comparisons"]["uec"]["b"]["pass@1"], "uec", "grpo")]
    half = 100 * T975_DF2 * 0.25 / math.sqrt(3)
    table = results_table(study)
    assert table[4] == f"| grpo | 0,1,2 | 50.00 ± 25.00 [{50 - half:.2f}, {50 + half:.2f}] | 2.00 ± 1.00 |"
    row = comparisons_table(study)[2]
    assert row.startswith("| uec | b | pass@1 | +12.5, +25.0, +12.5 | +16.67 |")
    assert "| 0.0572 | 2.31 |" in row
    with pytest.raises(ValueError, match="baseline 'dapo' has no finished runs"):
        build_study(results, "dapo")
    with pytest.raises(ValueError, match="two results for grpo/seed0"):
        build_study(results + results[:1], "grpo")


def test_run_diagnostics_from_curves():
    from uec_vlm.study.aggregate import run_diagnostics

    curves = {"actor/updated": {1: 0.0, 2: 1.0, 3: 1.0},
              "uec/bucket/hard/count": {1: 2.0, 2: 1.0, 3: 0.0},
              "uec/bucket/regular/count": {1: 2.0, 2: 3.0, 3: 2.0},
              "uec/bucket/solved/count": {3: 2.0},
              "uec/explore_success": {1: 0.5, 2: 1.0},
              "uec/retained": {1: 6.0, 2: 2.0}, "uec/dropped": {1: 2.0, 2: 6.0},
              "reward/pass_rate": {s: s / 10 for s in range(1, 13)}}
    d = run_diagnostics(RunResult("uec", 0, {}, curves=curves))
    assert d["updates"] == 2.0
    assert d["hard_share"] == pytest.approx((0.5 + 0.25 + 0.0) / 3)
    assert d["explore_success"] == 0.75
    assert d["retained_share"] == 0.5
    assert d["train_pass_rate_end"] == pytest.approx(sum(range(3, 13)) / 100)  # the last 10 steps
    assert run_diagnostics(RunResult("grpo", 0, {})) == {}


def test_holm_adjusts_over_the_methods_compared():
    from evals.stats import holm
    from uec_vlm.study.aggregate import adjust_for_multiplicity

    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([0.2]) == [0.2]
    comparisons = {m: {"b": {"pass@1": {"mean_diff": 0.1, "t_test": {"p_value": p, "n": 5, "cohens_d": 1.0}}}}
                   for m, p in (("x", 0.01), ("y", 0.04), ("z", 0.03), ("w", 0.005))}
    comparisons["v"] = {"b": {"pass@1": {"mean_diff": 0.1, "t_test": None}}}  # one seed: not in the family
    adjust_for_multiplicity(comparisons)
    got = {m: c["b"]["pass@1"]["t_test"] and c["b"]["pass@1"]["t_test"]["p_holm"] for m, c in comparisons.items()}
    assert got == pytest.approx({"x": 0.03, "y": 0.06, "z": 0.06, "w": 0.02, "v": None})
    # y is significant alone (0.04) but not among 4 methods (0.06): the verdict says so
    y = comparisons["y"]["b"]["pass@1"]
    assert verdict(y, "y", "grpo") == ("y does not differ significantly from grpo: +10.00 points, paired t-test over "
                                       "5 seeds p = 0.04, Holm-adjusted over 4 methods p = 0.06 (alpha 0.05), "
                                       "Cohen's d = 1.00.")
    assert verdict(comparisons["w"]["b"]["pass@1"], "w", "grpo").startswith("w is better than grpo: +10.00 points")
