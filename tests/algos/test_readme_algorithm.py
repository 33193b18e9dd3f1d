"""README "Add your own algorithm": the module, preset and test shown there, run as written."""

import re
import sys
from pathlib import Path

import pytest

from uec_vlm.config import ConfigError
from uec_vlm.config_loader import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks():
    text = README.read_text()
    section = text[text.index("## Add your own algorithm"):text.index("## Status and what is not verified")]
    return re.findall(r"```(python|yaml)\n(.*?)```", section, re.S)


def test_readme_algorithm_example_runs(tmp_path, monkeypatch):
    (lang1, module), (lang2, preset), (lang3, check) = _blocks()
    assert (lang1, lang2, lang3) == ("python", "yaml", "python")
    (tmp_path / "my_algos.py").write_text(module)
    (tmp_path / "clipped_grpo.yaml").write_text(preset)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_algos", None)
    cfg = load_config([str(tmp_path / "clipped_grpo.yaml")])
    assert (cfg.algo.advantage, cfg.algo.params, cfg.algo.kl_coef) == ("clipped_grpo", {"clipped_grpo": {"bound": 1.2}}, 0.01)
    exec(compile(check, "README.md", "exec"), {})
    with pytest.raises(ConfigError, match=r"algo.params.clipped_grpo.bound must be > 0 \(got 0\)"):
        load_config([str(tmp_path / "clipped_grpo.yaml")], ["algo.params.clipped_grpo.bound=0"])
