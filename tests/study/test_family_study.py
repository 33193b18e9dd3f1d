"""The CI version of the checked-in family study (configs/study/family.yaml): 2 of its methods x 2 seeds, tiny
sizes, the real config otherwise. Checks the equal-token-budget stop and that the report carries it."""

from __future__ import annotations

import json

import pytest
import yaml

from uec_vlm.cli import main
from uec_vlm.config_loader import CONFIG_DIR
from uec_vlm.study.spec import parse_study
from uec_vlm.trainer.run_dir import read_metrics

pytestmark = pytest.mark.slow

BUDGET = 60  # response tokens per run


def _ci_version(tmp_path, model_dir) -> str:
    data = yaml.safe_load((CONFIG_DIR / "study" / "family.yaml").read_text())
    data["methods"] = {m: data["methods"][m] for m in ("grpo", "uec")}
    data.update(seeds=[0, 1], output_dir=str(tmp_path / "study"), report_dir=str(tmp_path / "report"),
                model={"path": str(model_dir)}, dataset="synthgeo:train?n=16&seed=0&difficulty=4", n_boot=200)
    c = data["common"]
    c["rollout"].update(n=2, max_new_tokens=6)
    c["uec"].update(explore_n=2, n0=4)
    c["sft"] = {"steps": 1, "batch_size": 2}
    c["data"] = {"val": ""}
    c["trainer"].update(steps=8, rollout_token_budget=BUDGET, prompts_per_step=2, micro_batch_size=8)
    c["eval"].update(suite=["synthgeo:test?n=3&seed=0&difficulty=4"], n=2, ks=[1, 2], max_new_tokens=6,
                     bootstrap=10)
    parse_study(data)  # the shrunk config is still a valid study
    path = tmp_path / "family_ci.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_family_study_ci_version(tmp_path, tiny_qwen2_5_vl_dir):
    config = _ci_version(tmp_path, tiny_qwen2_5_vl_dir)
    assert main(["study", config]) == 0
    steps = {}
    for method in ("grpo", "uec"):
        for seed in (0, 1):
            run = tmp_path / "study" / "runs" / method / f"seed{seed}"
            rows = read_metrics(run / "metrics.jsonl")
            tokens = [r["perf/rollout_tokens"] for r in rows]
            # stopped at the first step whose cumulative response tokens reached the budget
            assert tokens[-1] >= BUDGET and all(t < BUDGET for t in tokens[:-1])
            assert (run / "eval" / "summary.json").is_file()
            steps[method, seed] = rows[-1]["step"]
    # UEC's exploration rollouts spend the same budget in fewer steps (or as many, never more)
    assert all(steps["uec", s] <= steps["grpo", s] for s in (0, 1))
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    diag = report["methods"]["grpo"]["diagnostics"]
    assert diag["rollout_tokens"]["mean"] >= BUDGET
    assert diag["steps"]["per_seed"] == {"0": steps["grpo", 0], "1": steps["grpo", 1]}
    assert "rollout_tokens" in (tmp_path / "report" / "report.md").read_text()
    # a second invocation finds every budget-stopped run finished and trains nothing
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "study").glob("runs/*/seed*/metrics.jsonl")}
    assert main(["study", config, "--no-report"]) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
