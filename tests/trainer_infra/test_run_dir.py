from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from uec_vlm.trainer.run_dir import MetricsFileError, RunDir, clean_metrics, read_metrics, summary_markdown


def test_creates_layout_and_writes_config_in_order(tmp_path):
    run = RunDir(tmp_path / "runs" / "a")
    assert run.root.is_dir() and not run.events_dir.exists()
    config = {"model": {"name": "tiny", "dtype": "bfloat16"}, "lr": 1e-6, "buckets": [0.2, 0.8], "wandb": None}
    path = run.write_config(config)
    assert path == run.root / "config.yaml"
    assert yaml.safe_load(path.read_text()) == config
    assert path.read_text().splitlines()[0] == "model:"  # key order kept, not sorted


def test_config_with_non_plain_value_names_the_key(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(TypeError, match=r"data\.root \(type PosixPath\)"):
        run.write_config({"data": {"root": Path("/data")}})
    with pytest.raises(TypeError, match="config must be a dict"):
        run.write_config([1, 2])
    assert not run.config_path.exists()


def test_metrics_rows_are_exact_json_lines(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics(1, {"reward/overall": 0.5, "uec/buffer_size": np.int64(3), "actor/kl": None,
                           "entropy/mean": torch.tensor(0.25), "actor/grad_norm": float("nan")})
    run.append_metrics(1, {"val/geo/pass@1": 1})
    assert run.metrics_path.read_text() == (
        '{"step": 1, "reward/overall": 0.5, "uec/buffer_size": 3, "entropy/mean": 0.25, "actor/grad_norm": NaN}\n'
        '{"step": 1, "val/geo/pass@1": 1}\n'
    )
    rows = read_metrics(run.metrics_path)
    assert rows[1] == {"step": 1, "val/geo/pass@1": 1}
    assert math.isnan(rows[0]["actor/grad_norm"])
    assert run.last_step == 1
    assert RunDir(tmp_path).last_step == 1  # re-opened: read back from the file


def test_bad_metric_values_name_the_key(tmp_path):
    with pytest.raises(TypeError, match="'reward/format'.*str"):
        clean_metrics({"reward/format": "high"})
    with pytest.raises(TypeError, match="'entropy/all'.*scalar"):
        clean_metrics({"entropy/all": torch.ones(3)})
    with pytest.raises(TypeError, match="'step' is reserved"):
        clean_metrics({"step": 3})
    run = RunDir(tmp_path)
    run.append_metrics(5, {"a": 1.0})
    with pytest.raises(ValueError, match="step 4 logged after step 5"):
        run.append_metrics(4, {"a": 1.0})
    with pytest.raises(TypeError, match="non-negative int"):
        run.append_metrics(-1, {})


def _log_steps(run: RunDir, steps) -> None:
    for step in steps:
        run.append_metrics(step, {"reward/overall": step / 8, "response/length_mean": 100 + step})


def test_truncate_on_resume_gives_the_straight_run_file(tmp_path):
    straight = RunDir(tmp_path / "straight")
    _log_steps(straight, range(1, 9))

    resumed = RunDir(tmp_path / "resumed")
    _log_steps(resumed, range(1, 7))  # checkpoint at 4, crash after logging step 6
    with open(resumed.metrics_path, "a") as f:
        f.write('{"step": 7, "reward/ov')  # torn row of the crash
    reopened = RunDir(resumed.root)
    assert reopened.last_step == 6
    assert reopened.truncate_metrics(4) == 2
    assert reopened.last_step == 4
    _log_steps(reopened, range(5, 9))
    assert resumed.metrics_path.read_bytes() == straight.metrics_path.read_bytes()


def test_read_metrics_errors_name_file_and_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with pytest.raises(MetricsFileError, match="metrics file not found: .*metrics.jsonl"):
        read_metrics(path)
    path.write_text('{"step": 1}\n{"step": 2, oops}\n{"step": 3}\n')
    with pytest.raises(MetricsFileError, match=r"metrics.jsonl:2: not a JSON object"):
        read_metrics(path)
    path.write_text('{"step": 1}\n{"loss": 2}\n')
    with pytest.raises(MetricsFileError, match=r"metrics.jsonl:2: expected an object with an integer 'step'"):
        read_metrics(path)


def test_summary_markdown_exact(tmp_path):
    summary = {"steps": 100, "final": {"reward/overall": 0.53125, "val/geo/pass@1": float("nan")},
               "note": "a|b", "buckets": ["easy", "hard"]}
    expected = (
        "# Run summary\n\n| key | value |\n| --- | --- |\n| steps | 100 |\n| final/reward/overall | 0.53125 |\n"
        "| final/val/geo/pass@1 | nan |\n| note | a\\|b |\n| buckets | [\"easy\", \"hard\"] |\n"
    )
    assert summary_markdown(summary) == expected
    run = RunDir(tmp_path)
    assert run.write_summary(summary).read_text() == expected
