"""A 2-method x 2-seed micro-study end to end on a tiny model: runs, resume, report files and numbers."""

from __future__ import annotations

import json

import pytest
import yaml

from evals.samples import read_samples
from uec_vlm.cli import main
from uec_vlm.study.spec import load_study

pytestmark = pytest.mark.slow


def _micro_study(tmp_path, model_dir) -> str:
    study = {
        "name": "micro",
        "output_dir": str(tmp_path / "study"),
        "model": {"path": str(model_dir)},
        "warm_start": "shared",
        "dataset": "synthgeo:train?n=16&seed=0",
        "seeds": [0, 1],
        "baseline": "grpo",
        "methods": {"grpo": ["grpo"], "uec_no_replay": ["uec", "uec.replay.enabled=false"]},
        "common": {
            "rollout": {"n": 2, "max_new_tokens": 3, "top_p": 1.0},
            "algo": {"kl_coef": 0.0},
            "uec": {"explore_n": 2, "n0": 4},
            "prompt": {"template": "direct", "max_prompt_length": 256},
            "reward": {"name": "accuracy", "weights": {"accuracy": 1.0}},
            "sft": {"steps": 1, "batch_size": 2, "response": "boxed"},
            "data": {"val": "synthgeo:validation?n=2&seed=0"},
            "trainer": {"steps": 2, "prompts_per_step": 2, "micro_batch_size": 8, "console": False,
                        "tensorboard": False, "val_n": 1},
            "eval": {"suite": ["synthgeo:test?n=3&seed=0"], "n": 2, "ks": [1, 2], "max_new_tokens": 3,
                     "bootstrap": 10},
        },
        "n_boot": 200,
    }
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(study))
    return str(path)


def test_micro_study_runs_resumes_and_reports(tmp_path, tiny_qwen2_5_vl_dir, capsys):
    config = _micro_study(tmp_path, tiny_qwen2_5_vl_dir)
    assert main(["study", config]) == 0

    spec = load_study(config)
    report = json.loads((spec.report_dir / "report.json").read_text())
    assert list(report["methods"]) == ["grpo", "uec_no_replay"]
    assert report["methods"]["grpo"]["seeds"] == [0, 1]
    # both methods started from the one shared warm start
    for method in spec.methods:
        for seed in spec.seeds:
            cfg = yaml.safe_load((spec.run_dir(method, seed) / "config.yaml").read_text())
            assert cfg["model"]["path"] == str(spec.output_dir / "warm_start" / "model")
            assert cfg["trainer"]["seed"] == seed

    # the reported numbers are the ones the per-sample files give
    def pass1(method, seed):
        (recs,) = read_samples(spec.run_dir(method, seed) / "eval" / "samples.jsonl").values()
        return sum(r["correct"] for r in recs) / len(recs)

    cmp = report["comparisons"]["uec_no_replay"]["synthgeo_test"]["pass@1"]
    assert cmp["seeds"] == [0, 1]
    assert cmp["diff_per_seed"] == pytest.approx([pass1("uec_no_replay", s) - pass1("grpo", s) for s in (0, 1)])
    final = report["methods"]["grpo"]["final"]["synthgeo_test"]["pass@1"]
    assert final["per_seed"] == pytest.approx({"0": pass1("grpo", 0), "1": pass1("grpo", 1)})
    assert "val/synthgeo_validation/pass@1" in report["methods"]["grpo"]["best_val"]  # named after data.val
    assert report["methods"]["uec_no_replay"]["sec_per_step"]["n"] == 2
    for name in ("report.md", "reward.png", "response_length.png", "difficulty.png"):
        assert (spec.report_dir / name).is_file(), name
    assert "## Paired comparisons against `grpo`" in (spec.report_dir / "report.md").read_text()

    # a second invocation redoes nothing: every run's eval summary is left untouched
    stamps = {p: p.stat().st_mtime_ns for p in spec.output_dir.glob("runs/*/seed*/eval/summary.json")}
    assert len(stamps) == 4
    assert main(["study", config, "--no-report"]) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    # a run folder from before a config key existed (the key absent, i.e. at its default) is still this run
    saved = spec.run_dir("grpo", 0) / "config.yaml"
    text = saved.read_text()
    older = yaml.safe_load(text)
    del older["algo"]["papo"]
    saved.write_text(yaml.safe_dump(older))
    assert main(["study", config, "--no-report"]) == 0
    saved.write_text(text)

    # changed training settings are not silently mixed with finished runs
    assert main(["study", config, "common.trainer.steps=3", "--no-report"]) == 2
    assert capsys.readouterr().err.endswith("was run with other settings (trainer.steps); use a new output_dir "
                                            "or delete that run folder\n")
