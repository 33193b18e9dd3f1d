from __future__ import annotations

import argparse
import json

import pytest

from uec_vlm.commands import report as report_cmd
from uec_vlm.report import bucket_keys, moving_average, plan_figures, plot_run
from uec_vlm.trainer.run_dir import MetricsFileError, RunDir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _full_run(root):
    run = RunDir(root)
    for step in (1, 2, 3):
        run.append_metrics(step, {
            "reward/overall": step / 4, "reward/accuracy": step / 5, "reward/train": step / 4,
            "entropy/mean": 1.0 - step / 10, "entropy/p10": 0.5, "entropy/p90": 1.5, "entropy/p50": 0.9,
            "uec/bucket/hard/count": 4 - step, "uec/bucket/regular/count": step, "uec/bucket/solved/count": 4,
            "uec/bucket/hard/pass_rate": 0.0, "uec/bucket/regular/pass_rate": step / 10,
            "uec/bucket/solved/pass_rate": 1.0,
            "response/length_mean": 100 + step, "response/truncation_rate": 0.0,
        })
        if step % 2 == 0:
            run.append_metrics(step, {"val/mathvista/pass@1": 0.3, "val/mathvista/format_rate": 1.0})
    return run


def test_plan_figures_exact_series(tmp_path):
    rows = [json.loads(line) for line in _full_run(tmp_path).metrics_path.read_text().splitlines()]
    figures, notes = plan_figures(rows)
    assert notes == []
    by_name = {f.name: f for f in figures}
    assert list(by_name) == ["reward", "entropy", "pass_rate_by_bucket", "response_length", "validation"]
    # identical series are one line with every name; rates get a fixed [0, 1] axis
    assert [(c.label, c.steps, c.values) for c in by_name["reward"].curves] == [
        ("overall = train", [1, 2, 3], [0.25, 0.5, 0.75]), ("accuracy", [1, 2, 3], [0.2, 0.4, 0.6])]
    assert by_name["reward"].ylim == (0.0, 1.0)
    assert by_name["entropy"].band == ("p10-p90", [1, 2, 3], [0.5, 0.5, 0.5], [1.5, 1.5, 1.5])
    assert [c.label for c in by_name["entropy"].curves] == ["mean", "p50"]
    # shares of prompts per bucket; hard = 0 and solved = 1 pass rates are definitions, not data
    assert [(c.label, c.values) for c in by_name["pass_rate_by_bucket"].curves] == [
        ("hard: share of prompts", [3 / 8, 2 / 8, 1 / 8]), ("regular: share of prompts", [1 / 8, 2 / 8, 3 / 8]),
        ("solved: share of prompts", [0.5, 0.5, 0.5]), ("regular: pass rate", [0.1, 0.2, 0.3])]
    assert by_name["pass_rate_by_bucket"].ylim == (0.0, 1.0)
    assert [(c.label, c.right_axis) for c in by_name["response_length"].curves] == [
        ("mean length", False), ("truncation rate (right axis)", True)]
    assert (by_name["response_length"].ylim, by_name["response_length"].right_ylim) == ((0.0, None), (0.0, 1.0))
    # only Pass@1 of held-out sets (no format rate or counts on a Pass@1 axis)
    assert [(c.label, c.steps, c.values) for c in by_name["validation"].curves] == [("mathvista", [2], [0.3])]


def test_moving_average():
    assert moving_average([1.0, 3.0, 5.0, 7.0], window=2) == [1.0, 2.0, 4.0, 6.0]


def test_bucket_key_spellings():
    keys = ["uec/bucket/hard/pass_rate", "uec/pass_rate/medium", "bucket/easy/pass_rate", "uec/bucket/hard/count"]
    assert bucket_keys(keys) == {"hard": "uec/bucket/hard/pass_rate", "medium": "uec/pass_rate/medium",
                                 "easy": "bucket/easy/pass_rate"}


def test_missing_keys_are_skipped_with_notes(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics(1, {"entropy/mean": 0.7, "actor/kl": 0.01})
    paths, notes = plot_run(tmp_path)
    assert paths == [tmp_path / "plots" / "entropy.png"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC
    assert notes == [
        "skipped reward.png: no reward/<component> keys",
        "entropy.png: no entropy/p10 and entropy/p90 keys, drawn without the band",
        "skipped pass_rate_by_bucket.png: no uec/bucket/<name>/pass_rate keys",
        "skipped response_length.png: no response/length_mean key",
        "skipped validation.png: no val/<set>/pass@1 keys",
    ]


def test_cli_writes_all_plots_and_prints_paths(tmp_path, capsys):
    _full_run(tmp_path)
    parser = argparse.ArgumentParser()
    report_cmd.add_arguments(parser)
    assert report_cmd.run(parser.parse_args([str(tmp_path)])) == 0
    out = capsys.readouterr()
    names = ["reward", "entropy", "pass_rate_by_bucket", "response_length", "validation"]
    assert out.out.splitlines() == [str(tmp_path / "plots" / f"{n}.png") for n in names]
    assert out.err == ""
    for name in names:
        assert (tmp_path / "plots" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC


def test_cli_missing_or_empty_metrics_is_an_error_naming_the_file(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_cmd.add_arguments(parser)
    assert report_cmd.run(parser.parse_args([str(tmp_path / "nope")])) == 2
    assert capsys.readouterr().err == f"error: metrics file not found: {tmp_path / 'nope' / 'metrics.jsonl'}\n"
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(MetricsFileError, match=r"metrics.jsonl has no metric rows"):
        plot_run(tmp_path)
    assert not (tmp_path / "plots").exists()
