"""Fixtures for the harness tests: one eval config (tiny Qwen2.5-VL, two benchmarks) and its reference run.

The suite is synthgeo (a random tiny model never solves it) plus a canonical parquet of MathVista-style
multiple-choice questions: official MathVista scoring maps every response to its nearest choice, so the
tiny model's random text scores right on some samples and the Pass@k numbers are not all zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

SYNTHGEO = "synthgeo:test?n=6&seed=0"
N_SAMPLES = 3

# Options "0".."9", gold "0": an empty extraction maps to the shortest option ("0", right), an extracted
# digit or letter mostly to another option (wrong), so problems get a mix of right and wrong samples.
CHOICE_PROBLEMS = 4
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(scope="session")
def choice_parquet(tmp_path_factory) -> Path:
    from data_zoo.canonical import export_parquet
    from data_zoo.example import Example

    examples = [
        Example(id=f"mc{i}", source="mathvista", split="test", question=f"Question {i}: which digit is it?",
                answer="0", answer_kind="choice", choices=DIGITS, gold_letter="A",
                metadata={"question_type": "multi_choice", "answer_type": "text"})
        for i in range(CHOICE_PROBLEMS)
    ]
    path = tmp_path_factory.mktemp("data") / "choice.parquet"
    export_parquet(examples, path)
    return path


@pytest.fixture(scope="session")
def eval_config(tmp_path_factory, tiny_qwen2_5_vl_dir, choice_parquet) -> Path:
    """A YAML eval config; tests choose the run folder with an `eval.output_dir=...` override."""
    cfg = {
        "model": {"path": str(tiny_qwen2_5_vl_dir)},
        "prompt": {"template": "direct", "max_prompt_length": 256},
        "eval": {"suite": [SYNTHGEO, f"canonical:test@{choice_parquet}"], "n": N_SAMPLES, "ks": [1, 2, 3],
                 "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 6, "bootstrap": 20, "seed": 0},
    }
    path = tmp_path_factory.mktemp("config") / "eval.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, eval_config) -> Path:
    """An uninterrupted single-process `uec-vlm eval` of `eval_config`; returns its run folder."""
    from uec_vlm.cli import main

    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["eval", str(eval_config), f"eval.output_dir={out}"]) == 0
    return out
