"""Bad configs, as a careless or hostile user writes them: each is refused at load (or before the model
loads) with a message naming the key and what is allowed, and the CLI prints it on one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from uec_vlm.config import ConfigError
from uec_vlm.config_loader import load_config
from uec_vlm.resolve import resolve_names

# (overrides, text the one error must contain)
RANGE_AND_CROSS_FIELD = [
    (["optim.grad_clip=-1"], "optim.grad_clip=-1.0 is out of range: must be > 0"),
    (["trainer.mini_batch_size=-3"], "trainer.mini_batch_size=-3 is out of range: must be >= 0"),
    (["trainer.ppo_epochs=0"], "trainer.ppo_epochs=0 is out of range: must be >= 1"),
    (["rollout.temperature=.nan"], "rollout.temperature=nan is not a finite number"),
    (["optim.lr=.inf"], "optim.lr=inf is not a finite number"),
    (["optim.lr=0"], "optim.lr=0.0 is out of range: must be > 0"),
    (["algo.kl_coef=-0.1"], "algo.kl_coef=-0.1 is out of range: must be >= 0"),
    (["reward.weights={accuracy: .nan}"], "reward.weights.accuracy=nan is not a finite number"),
    (["rollout.top_p=1.5"], "rollout.top_p=1.5 is out of range: must be in (0, 1]"),
    (["rollout.top_k=-1"], "rollout.top_k=-1 is out of range: must be >= 0"),
    (["rollout.max_new_tokens=0"], "rollout.max_new_tokens=0 is out of range: must be >= 1"),
    (["reward.timeout_s=0"], "reward.timeout_s=0.0 is out of range: must be > 0"),
    (["reward.workers=0"], "reward.workers=0 is out of range: must be >= 1"),
    (["algo.clip_low=1.0"], "algo.clip_low=1.0 is out of range: must be in [0, 1)"),
    (["algo.dual_clip=0.5"], "algo.dual_clip=0.5 is out of range: must be > 1"),
    (["optim.betas=[0.9, 1.0]"], "optim.betas=[0.9, 1.0]: need two values in [0, 1)"),
    (["optim.weight_decay=-1"], "optim.weight_decay=-1.0 is out of range: must be >= 0"),
    (["trainer.keep_last=0"], "trainer.keep_last=0 is out of range: must be >= 1"),
    (["trainer.seed=-1"], "trainer.seed=-1 is out of range: must be >= 0"),
    (["eval.top_p=0"], "eval.top_p=0.0 is out of range: must be in (0, 1]"),
    (["model.lora_dropout=1.0"], "model.lora_dropout=1.0 is out of range: must be in [0, 1)"),
    (["model.device=gpu"], "model.device='gpu' is out of range: must be auto, cpu, cuda, cuda:N"),
    (["uec.replay.freq=0"], "uec.replay.freq=0 is out of range: must be >= 1"),
    (["algo.aer.alpha_init=0.1"], "algo.aer.alpha_init (0.1) > algo.aer.alpha_max (0.01)"),
    (["algo.clip_cov.lb=5"], "algo.clip_cov.lb (5.0) must be < algo.clip_cov.ub (5.0)"),
    (["algo.overlong.enabled=true", "algo.overlong.buffer=1000"],
     "algo.overlong.buffer (1000) must be <= rollout.max_new_tokens (512)"),
    (["algo.entropy_control=bonus"], "algo.entropy_control=bonus with algo.entropy_coef=0 does nothing"),
    (["optim.warmup_steps=100"], "optim.warmup_steps (100) >= trainer.steps (100)"),
    (["trainer.output_dir="], "trainer.output_dir is empty"),
    (["uec.enabled=true", "uec.explore_temperature=-1"], "uec.explore_temperature (t') must be > 0"),
    (["sft.lr=-1"], "sft.lr=-1.0 is out of range: must be > 0"),
    (["prompt.max_prompt_length=0"], "prompt.max_prompt_length=0 is out of range: must be >= 1"),
    (["eval.n=0"], "eval.n=0 is out of range: must be >= 1"),
    (["data.max_train_examples=-1"], "data.max_train_examples=-1 is out of range: must be >= 0"),
    (["rollout.vllm_gpu_memory_utilization=1.5"], "rollout.vllm_gpu_memory_utilization=1.5 is out of range"),
    (["rollout.temperature=0"], "rollout.temperature must be > 0"),
]


@pytest.mark.parametrize(("overrides", "message"), RANGE_AND_CROSS_FIELD, ids=lambda v: str(v)[:40])
def test_out_of_range_and_cross_field_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config([], overrides)
    assert message in str(err.value)


@pytest.fixture(scope="module")
def fake_model_dir(tmp_path_factory):
    """A folder that is not a loadable model: a run that got as far as loading it would fail on it."""
    d = tmp_path_factory.mktemp("not_a_model")
    (d / "config.json").write_text("{this is not json")
    return d


# (overrides, text): names that only a registry, the template folder or the dataset registry can resolve.
UNRESOLVED_NAMES = [
    (["algo.advantage=grpoo"], "algo.advantage: unknown advantage estimator 'grpoo'; registered: "),
    (["algo.entropy_control=aerr"], "algo.entropy_control: unknown entropy control 'aerr'"),
    (["prompt.template=nosuch"], "prompt.template: prompt template 'nosuch' not found"),
    (["reward.name=mathh"], "reward.name: unknown reward 'mathh'"),
    (["data.train=synthgeo:trian"], "data.train: unknown split 'trian' for adapter 'synthgeo'"),
    (["data.train=nosuchadapter:train"], "data.train: unknown adapter 'nosuchadapter'"),
    (["data.val=/no/such/file.jsonl"], "data.val: dataset spec '/no/such/file.jsonl' is neither"),
    (["data.adapter_modules=[no_such_adapter_mod]"], "data.adapter_modules: cannot import adapter module"),
    (["rollout.n=1"], "rollout.n=1: algo.advantage=grpo compares the samples of one prompt"),
    (["trainer.resume=/no/such/ckpt"], "trainer.resume='/no/such/ckpt': not a complete checkpoint folder"),
    (["model.attn_implementation=flash"], "model.attn_implementation='flash': unknown attention kernel"),
]


@pytest.mark.parametrize(("overrides", "message"), UNRESOLVED_NAMES, ids=lambda v: str(v)[:40])
def test_unresolvable_names_fail_before_any_model_loads(overrides, message, fake_model_dir):
    cfg = load_config([], [f"model.path={fake_model_dir}", "data.val=synthgeo:test?n=4", *overrides])
    with pytest.raises(ConfigError) as err:
        resolve_names(cfg, model="attn" in overrides[0])
    assert message in str(err.value)


@pytest.mark.skipif(__import__("importlib.util").util.find_spec("vllm") is not None, reason="vllm installed")
def test_a_backend_whose_package_is_missing_is_named():
    cfg = load_config([], ["rollout.backend=vllm", "data.val="])
    with pytest.raises(ConfigError, match=r"rollout.backend=vllm needs the vllm package: pip install 'uec-vlm\[vllm\]'"):
        resolve_names(cfg, model=False)


def test_eval_suite_specs_and_model_path_resolve_early():
    cfg = load_config([], ["eval.suite=[synthgeo:test?n=3, mathvistaa:testmini]", "model.path=/no/such/model"])
    with pytest.raises(ConfigError) as err:
        resolve_names(cfg, datasets=("eval.suite",))
    text = str(err.value)
    assert "eval.suite[1]: unknown adapter 'mathvistaa'" in text
    assert "model.path='/no/such/model': no such model directory" in text


def test_trainer_refuses_a_typo_before_loading_the_model(fake_model_dir, tmp_path):
    """The model folder is unloadable: an error naming algo.advantage proves nothing was loaded first."""
    from uec_vlm.trainer.setup import TrainingSetup

    cfg = load_config([], [f"model.path={fake_model_dir}", "algo.advantage=grpoo", "data.val=",
                           f"trainer.output_dir={tmp_path / 'run'}"])
    with pytest.raises(ConfigError, match="algo.advantage: unknown advantage estimator 'grpoo'"):
        TrainingSetup(cfg)


@pytest.mark.parametrize(("files", "message"), [
    ({"self.yaml": "include: self.yaml\ntrainer: {steps: 3}\n"}, "include cycle"),
    ({"self.yaml": "include: [b.yaml]\n", "b.yaml": "include: self.yaml\n"}, "include cycle"),
    ({"self.yaml": "include: missing.yaml\n"}, "config 'missing.yaml' (included by"),
    ({"self.yaml": "include: 3\n"}, "`include` must be a file/preset name or a list of them, got 3"),
    ({"self.yaml": b"trainer:\n  output_dir: caf\xe9\n"}, "not a UTF-8 text file"),
    ({"self.yaml": "- just\n- a list\n"}, "top level must be a mapping of sections"),
    ({"self.yaml": "trainer: {steps: [\n"}, "not valid YAML"),
])
def test_bad_yaml_files_name_the_file(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as err:
        load_config([str(tmp_path / "self.yaml")])
    assert message in str(err.value) and "self.yaml" in str(err.value)


def _cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "UEC_VLM_DEBUG"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "uec_vlm.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_prints_one_line_and_exits_2_and_shows_tracebacks_only_when_asked(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.write_text("include: loop.yaml\n")
    plain = _cli("config", "optim.grad_clip=-1")
    assert plain.returncode == 2
    assert plain.stderr == "uec-vlm config: invalid config: optim.grad_clip=-1.0 is out of range: must be > 0\n"
    cycle = _cli("config", str(loop))
    assert cycle.returncode == 2 and "Traceback" not in cycle.stderr and len(cycle.stderr.splitlines()) == 1
    assert f"{loop}: include cycle {loop} -> {loop}" in cycle.stderr
    debug = _cli("--debug", "config", str(loop))
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    env_debug = _cli("config", str(loop), env_extra={"UEC_VLM_DEBUG": "1"})
    assert "Traceback (most recent call last)" in env_debug.stderr and "include cycle" in env_debug.stderr
    check = _cli("config", "grpo", "algo.advantage=rlooo", "data.val=synthgeo:tset", "--check")
    lines = check.stderr.splitlines()
    assert check.returncode == 2 and check.stdout == "" and len(lines) == 3
    assert lines[:2] == ["uec-vlm config: invalid config:",
                         "  - data.val: unknown split 'tset' for adapter 'synthgeo' (spec 'synthgeo:tset'); known "
                         "splits: ['train', 'validation', 'test']"]
    assert lines[2].startswith("  - algo.advantage: unknown advantage estimator 'rlooo'; registered: [")
    assert "'rloo'" in lines[2]
