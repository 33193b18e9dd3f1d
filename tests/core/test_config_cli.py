"""Config loading (presets, files, overrides, validation) and the CLI front."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from uec_vlm.config import Config, ConfigError
from uec_vlm.config_loader import field_docs, list_presets, load_config, save_config


def test_presets_files_and_overrides_merge_left_to_right(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("trainer:\n  steps: 7\nrollout:\n  n: 6\noptim:\n  lr: 1e-5\n")
    cfg = load_config(["uec", str(f)], ["rollout.n=3", "data.train=synthgeo:train?n=5"])
    assert cfg.uec.enabled is True and cfg.uec.explore_n == 20  # preset
    assert cfg.trainer.steps == 7 and cfg.optim.lr == 1e-5  # file (YAML 1.1 `1e-5` string -> float)
    assert cfg.rollout.n == 3  # override beats file
    assert cfg.data.train == "synthgeo:train?n=5"
    assert load_config([], ["eval.suite=[synthgeo:test?n=3, mathvista:testmini@/d]"]).eval.suite == [
        "synthgeo:test?n=3", "mathvista:testmini@/d"]


def test_includes_and_every_preset_loads():
    assert set(list_presets()) >= {"grpo", "dapo", "uec", "aer", "kl_cov", "clip_cov", "entropy_adv", "demo"}
    for name in list_presets():
        load_config([name])
    demo = load_config(["demo"])
    assert demo.uec.enabled and demo.prompt.template == "direct"  # demo.yaml includes algo/uec.yaml


@pytest.mark.parametrize(("override", "message"), [
    ("trainer.stepz=3", "unknown config key(s) trainer.stepz; allowed in trainer:"),
    ("bogus.x=1", "unknown config key(s) bogus"),
    ("rollout.n=abc", "rollout.n: expected int, got 'abc'"),
    ("trainer.resume", "override 'trainer.resume' must look like key.sub=value"),
    ("algo.loss_agg=mean", "algo.loss_agg: 'mean' not allowed; choose one of 'token-mean'"),
    ("model.freeze_vision=3", "model.freeze_vision: expected bool"),
    ("rollout.temperature=0", "rollout.temperature must be > 0"),
    ("prompt.min_pixels=100000", "prompt.min_pixels (100000) > prompt.max_pixels"),
])
def test_bad_input_names_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config([], [override])
    assert message in str(err.value)


def test_unknown_source_lists_presets():
    with pytest.raises(ConfigError, match="neither a file nor a preset; presets: .*grpo"):
        load_config(["no_such_preset"])


def test_every_field_is_documented_and_round_trips(tmp_path):
    docs = field_docs()
    assert len(docs) > 100
    assert [k for k, text, _ in docs if not text] == []
    cfg = load_config(["dapo"], ["trainer.steps=3"])
    path = save_config(cfg, tmp_path / "resolved.yaml")
    again = load_config([str(path)])
    assert dataclasses.asdict(again) == dataclasses.asdict(cfg)
    assert isinstance(again, Config)


def test_cli_help_lists_subcommands_without_importing_torch():
    code = ("import sys; from uec_vlm.cli import build_parser; p = build_parser(); "
            "print(p.format_help()); print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for cmd in ("train", "sft", "eval", "data", "make-tiny-model", "report", "study", "demo", "config"):
        assert cmd in out
    assert out.strip().endswith("False False")


def test_cli_config_command_reports_errors_with_exit_code_2():
    proc = subprocess.run([sys.executable, "-m", "uec_vlm.cli", "config", "trainer.stepz=1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown config key(s) trainer.stepz" in proc.stderr


def test_overrides_may_follow_flags(capsys, tmp_path):
    from uec_vlm.cli import main

    argv = ["study", "family", f"output_dir={tmp_path}", "--list"]
    assert main([*argv, "seeds=[3]"]) == 0  # after the flag: still an override
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"grpo/seed3\tto do\t{tmp_path}/runs/grpo/seed3"
    assert len(lines) == 21 and all("/seed3\t" in line for line in lines)
    with pytest.raises(SystemExit):
        main([*argv, "--no-such-flag"])
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
