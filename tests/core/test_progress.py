import io

import pytest

from uec_vlm.progress import StepTimer, bars_enabled


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("env, stream, shown", [
    ({}, Tty(), True), ({}, io.StringIO(), False), ({"CI": "true"}, Tty(), False), ({"CI": "false"}, Tty(), True),
    ({"UEC_VLM_PROGRESS": "0"}, Tty(), False), ({"UEC_VLM_PROGRESS": "1", "CI": "true"}, io.StringIO(), True),
])
def test_bars_only_on_a_terminal_outside_ci(monkeypatch, env, stream, shown):
    for key in ("CI", "UEC_VLM_PROGRESS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert bars_enabled(stream) is shown


def test_step_timer_leaves_out_the_warm_up_step_once_another_is_known():
    timer = StepTimer(window=3)
    assert timer.seconds_per_step() is None
    timer.add(30.0)
    assert timer.seconds_per_step() == 30.0
    for seconds in (2.0, 4.0, 6.0, 8.0):
        timer.add(seconds)
    assert timer.seconds_per_step() == 6.0  # mean of the last 3, warm-up excluded
