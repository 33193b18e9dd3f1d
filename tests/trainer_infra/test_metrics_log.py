from __future__ import annotations

import io
import sys

import pytest

from uec_vlm.trainer.metrics_log import MetricsLogger, console_line, format_duration
from uec_vlm.trainer.run_dir import read_metrics


def test_format_duration():
    assert [format_duration(s) for s in (0, 42.9, 185, 3600, 7625, -3)] == ["0s", "42s", "3m05s", "1h00m",
                                                                            "2h07m", "0s"]


def test_console_line_exact():
    metrics = {"reward/overall": 0.53125, "reward/accuracy": 0.5, "entropy/mean": 0.8125,
               "response/length_mean": 153.25, "uec/buffer_size": 7, "val/mathvista/pass@1": 0.4}
    assert console_line(12, 100, 1.5, metrics) == (
        "step 12/100 | 1.50 s/step | eta 2m12s | reward 0.531 | acc 0.500 | entropy 0.812 | len 153.2"
        " | val/mathvista 0.400"
    )
    assert console_line(1, 10, None, {"response/length_mean": 12}) == "step 1/10 | len 12"


class FakeClock:
    """A settable clock, so seconds/step is exact instead of wall-time dependent."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_logger_writes_jsonl_tensorboard_and_console(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = io.StringIO()
    clock = FakeClock()
    with MetricsLogger(tmp_path, total_steps=10, stream=out, clock=clock) as logger:
        clock.now += 4.0
        logger.log(1, {"reward/overall": 0.25, "entropy/mean": 1.5, "actor/kl": None})
        clock.now += 2.0
        logger.log(2, {"reward/overall": 0.75, "entropy/mean": 1.25})
    assert out.getvalue() == (
        "step 1/10 | 4.00 s/step | eta 36s | reward 0.250 | entropy 1.500\n"
        "step 2/10 | 2.00 s/step | eta 16s | reward 0.750 | entropy 1.250\n"
    )
    assert (tmp_path / "metrics.jsonl").read_text() == (
        '{"step": 1, "reward/overall": 0.25, "entropy/mean": 1.5}\n'
        '{"step": 2, "reward/overall": 0.75, "entropy/mean": 1.25}\n'
    )
    events = EventAccumulator(str(tmp_path / "events"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["entropy/mean", "reward/overall"]
    assert [(e.step, e.value) for e in events.Scalars("reward/overall")] == [(1, 0.25), (2, 0.75)]
    with pytest.raises(RuntimeError, match="after close"):
        logger.log(3, {})


def test_resume_truncates_and_purges_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsLogger(tmp_path, total_steps=6, console=False) as logger:
        for step in range(1, 6):
            logger.log(step, {"reward/overall": step / 10})
    with pytest.raises(ValueError, match="already holds steps up to 5: pass resume_step"):
        MetricsLogger(tmp_path, total_steps=6, console=False)
    with MetricsLogger(tmp_path, total_steps=6, console=False, resume_step=3) as logger:
        for step in range(4, 7):
            logger.log(step, {"reward/overall": step / 100})
    rows = [(r["step"], r["reward/overall"]) for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert rows == [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.04), (5, 0.05), (6, 0.06)]
    events = EventAccumulator(str(tmp_path / "events"))
    events.Reload()
    got = [(e.step, round(e.value, 6)) for e in events.Scalars("reward/overall")]
    assert got == [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.04), (5, 0.05), (6, 0.06)]


def test_missing_tensorboard_is_a_one_line_notice(tmp_path, monkeypatch):
    # A None entry in sys.modules makes the import fail exactly as for an uninstalled package.
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    out = io.StringIO()
    clock = FakeClock()
    with MetricsLogger(tmp_path, total_steps=2, stream=out, clock=clock) as logger:
        clock.now += 2.0
        logger.log(1, {"reward/overall": 1.0})
    assert out.getvalue() == (
        "tensorboard is not installed: TensorBoard logging is off (pip install tensorboard)\n"
        "step 1/2 | 2.00 s/step | eta 2s | reward 1.000\n"
    )
    assert not (tmp_path / "events").exists()  # no empty folders


def test_eta_leaves_out_warm_up_and_validation_and_warns_on_update_free_steps(tmp_path):
    out = io.StringIO()
    clock = FakeClock()
    with MetricsLogger(tmp_path, total_steps=10, stream=out, clock=clock, tensorboard=False) as logger:
        clock.now += 50.0  # validation before training, logged at step 0: not a step
        logger.log(0, {"val/geo/pass@1": 0.25, "time/validate": 50.0})
        clock.now += 9.0  # warm-up step: 6 s of set-up, 3 s of compute
        logger.log(1, {"actor/updated": 0.0, "uec/buffer_size": 40, "time/step": 3.0})
        clock.now += 2.0
        logger.log(2, {"actor/updated": 1.0})
        clock.now += 34.0  # 4 s of training, 30 s of validation
        logger.log(3, {"actor/updated": 0.0, "time/validate": 30.0})
    assert out.getvalue() == (
        "step 0/10 | val/geo 0.250\n"
        "step 1/10 | 3.00 s/step | eta 27s\n"
        "warning: step 1 made no optimizer update: UEC's batch buffer holds 40 samples and updates once uec.n0 "
        "are waiting\n"
        "step 2/10 | 2.00 s/step | eta 16s\n"
        "step 3/10 | 3.00 s/step | eta 21s\n"
        "warning: step 3 made no optimizer update: no sample was kept for the update\n"
    )


def test_wandb_asked_but_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # behaves as an uninstalled package
    with pytest.raises(RuntimeError, match="wandb package is not installed: pip install wandb"):
        MetricsLogger(tmp_path, total_steps=2, wandb=True, wandb_project="uec")
    assert not (tmp_path / "events").exists()


def test_wandb_offline_run_is_resumed_under_the_same_id(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with MetricsLogger(tmp_path, total_steps=4, console=False, tensorboard=False, wandb=True,
                       wandb_project="uec", wandb_config={"lr": 1e-6}) as logger:
        logger.log(1, {"reward/overall": 0.5})
    run_id = (tmp_path / "wandb_id.txt").read_text().strip()
    with MetricsLogger(tmp_path, total_steps=4, console=False, tensorboard=False, wandb=True,
                       wandb_project="uec", resume_step=1) as logger:
        logger.log(2, {"reward/overall": 0.75})
    assert (tmp_path / "wandb_id.txt").read_text().strip() == run_id
    runs = sorted(p.name for p in (tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(f"-{run_id}" in name for name in runs)  # same second: "-1" suffix


def test_non_main_rank_writes_nothing(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "a": 1}\n{"step": 2, "a": 2}\n')
    out = io.StringIO()
    with MetricsLogger(tmp_path, total_steps=4, stream=out, resume_step=1, is_main=False) as logger:
        assert logger.log(2, {"a": 3, "b": None}) == {"step": 2, "a": 3}
        with pytest.raises(TypeError, match="'a'"):
            logger.log(3, {"a": "x"})
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1, "a": 1}\n{"step": 2, "a": 2}\n'
    assert out.getvalue() == ""
    assert not (tmp_path / "events").exists()


def test_bad_total_steps(tmp_path):
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        MetricsLogger(tmp_path, total_steps=0)
