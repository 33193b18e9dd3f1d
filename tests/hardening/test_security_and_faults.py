"""Nothing executes from a run folder or a template, and faults name their cause.

Security probes: a planted pickle in a checkpoint (it would create a marker file if unpickled) and a
jinja template reaching for `os` are refused, naming the file, and the marker never appears. (The third
probe, the judge client that must not follow a redirect with the API key, is issue 12's
tests/evals/test_mathverse_judge.py.) Faults: a full disk during a save, a NaN weight in a checkpoint,
a non-finite learning rate, and a resume into a folder trained with another config.
"""

from __future__ import annotations

import os

import pytest
import torch
import yaml

from uec_vlm.config import ConfigError
from uec_vlm.trainer.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint


class Planted:
    """What an attacker writes into a shared run folder: unpickling it runs a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def policy(tiny_policy):
    model, processor = tiny_policy
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    return model, processor, optimizer


@pytest.fixture
def saved(policy, tmp_path):
    model, processor, optimizer = policy
    save_checkpoint(tmp_path, 1, model=model, processor=processor, optimizer=optimizer,
                    trainer_state={"position": 3, "buffer": [(1, "a", torch.ones(2))]})
    return tmp_path / "checkpoints" / "step_1"


@pytest.mark.parametrize("name", ["trainer_state.pt", "rng.pt", "optimizer.pt"])
def test_planted_pickle_is_refused_and_never_runs(saved, policy, tmp_path, name):
    marker = tmp_path / "PWNED"
    torch.save({"state": Planted(marker)}, saved / name)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(saved, optimizer=policy[2])
    assert str(saved / name) in str(err.value) and "refused to load" in str(err.value)
    assert "unsupported GLOBAL posix.system" in str(err.value)
    assert not marker.exists()


def test_plain_state_round_trips_through_the_weights_only_loader(saved, policy):
    state = load_checkpoint(saved, optimizer=policy[2])
    assert state["position"] == 3 and state["buffer"][0][:2] == (1, "a")
    assert torch.equal(state["buffer"][0][2], torch.ones(2))


@pytest.mark.parametrize("body", [
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ example.__dict__ }}",
    "{% set x = question.__class__ %}{{ x }}",
])
def test_template_cannot_reach_python_internals(tmp_path, body):
    from data_zoo.example import Example
    from uec_vlm.prompts import render_question

    marker = tmp_path / "MARKER"
    template = tmp_path / "evil.jinja"
    template.write_text(body.replace("MARKER", str(marker)))
    ex = Example(id="1", source="s", split="t", question="q", answer="1")
    with pytest.raises(ConfigError) as err:
        render_question(ex, str(template))
    assert str(template) in str(err.value) and "prompt.template" in str(err.value)
    assert not marker.exists()


def test_a_full_disk_is_named_with_path_and_free_space_and_keeps_the_previous_checkpoint(saved, policy):
    class WritesToAFullDisk:
        """Its files go to /dev/full, where every write fails with ENOSPC, as on a full disk."""

        def save_pretrained(self, path):
            with open("/dev/full", "wb") as fh:
                fh.write(b"x" * 65536)
                fh.flush()

    model, _, optimizer = policy
    run = saved.parent.parent
    with pytest.raises(CheckpointError) as err:
        save_checkpoint(run, 2, model=model, processor=WritesToAFullDisk(), optimizer=optimizer)
    text = str(err.value)
    assert f"checkpoint {run / 'checkpoints' / 'step_2'} not saved: the disk holding {run / 'checkpoints'} is full" in text
    assert "MiB free" in text and f"the previous checkpoint {saved} is intact" in text
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_1"]  # no half-written step_2.tmp
    assert latest_checkpoint(run) == saved


def test_non_finite_weights_and_learning_rate_are_named(saved, policy):
    from safetensors.torch import load_file, save_file

    model, _, optimizer = policy
    weights = load_file(saved / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name].clone()
    weights[name].view(-1)[0] = float("nan")
    save_file(weights, saved / "model.safetensors", metadata={"format": "pt"})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match=rf"weight \S*{name.split('.')[-2]}\S* has 1 non-finite"):
        load_checkpoint(saved, model=model, restore_rng=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing copied in

    state = torch.load(saved / "optimizer.pt", weights_only=True)
    state["param_groups"][0]["lr"] = float("inf")
    torch.save(state, saved / "optimizer.pt")
    lr = optimizer.param_groups[0]["lr"]
    with pytest.raises(CheckpointError, match=r"optimizer.pt: learning rate inf is not finite"):
        load_checkpoint(saved, optimizer=optimizer, restore_rng=False)
    optimizer.param_groups[0]["lr"] = lr


@pytest.fixture
def resumable_run(tmp_path):
    """A run folder trained with the grpo preset and lr 1e-6, with a (complete) checkpoint to resume."""
    from uec_vlm.config_loader import load_config, to_dict

    model_dir = tmp_path / "not_a_model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{not json")
    run = tmp_path / "run"
    (run / "checkpoints" / "step_1").mkdir(parents=True)
    (run / "checkpoints" / "step_1" / "COMPLETE").write_text("1\n")
    base = [f"model.path={model_dir}", f"trainer.output_dir={run}", "data.val="]
    (run / "config.yaml").write_text(yaml.safe_dump(to_dict(load_config(["grpo"], base)), sort_keys=False))
    return run, base


def test_resume_with_another_config_is_refused_naming_the_keys(resumable_run):
    from uec_vlm.config_loader import load_config
    from uec_vlm.trainer.setup import TrainingSetup

    run, base = resumable_run
    saved = (run / "config.yaml").read_text()
    with pytest.raises(ConfigError) as err:
        TrainingSetup(load_config(["uec"], [*base, "optim.lr=1e-5"]))
    text = str(err.value)
    assert f"refusing to resume {run}: its config.yaml differs in keys that change training:" in text
    assert "optim.lr (1e-06 -> 1e-05)" in text and "uec.enabled (False -> True)" in text
    assert "trainer.allow_config_change=true" in text
    assert (run / "config.yaml").read_text() == saved  # nothing overwritten


@pytest.mark.parametrize("extra", [["trainer.steps=500", "trainer.save_every=7"],
                                   ["optim.lr=1e-5", "trainer.allow_config_change=true"]])
def test_neutral_changes_or_an_explicit_override_get_past_the_check(resumable_run, extra):
    """Past the check comes the model load, which fails on the unloadable model folder: not a ConfigError."""
    from uec_vlm.config_loader import load_config
    from uec_vlm.trainer.setup import TrainingSetup

    run, base = resumable_run
    with pytest.raises(Exception) as err:
        TrainingSetup(load_config(["grpo"], [*base, *extra]))
    assert not isinstance(err.value, ConfigError), err.value


def test_state_codec_round_trips_samples_images_and_rng_exactly_and_refuses_other_objects(tmp_path):
    import random
    from collections import deque

    import numpy as np
    from PIL import Image

    from data_zoo.example import Example, ImageRef
    from uec_vlm.prompts import PromptInputs
    from uec_vlm.trainer.samples import Sample
    from uec_vlm.trainer.state_codec import StateCodecError, decode_state, encode_state

    image = Image.new("RGB", (5, 3), (1, 2, 3))
    prompt = PromptInputs(uid="s/t/1", text="t", inputs={"input_ids": torch.arange(4)[None]}, num_prompt_tokens=4,
                          images=[image])
    ex = Example(id="1", source="s", split="t", question="<image>q", answer="1", images=[ImageRef(data=b"png")])
    samples = [Sample(prompt=prompt, example=ex, completion_ids=[1, 2], text="x", rollout_logprobs=[-0.5, -1.5],
                      finish_reason="stop", group_id=g, temperature=1.0, old_logp=torch.randn(2)) for g in (0, 1)]
    state = {"items": deque(samples, maxlen=4), "np": np.random.get_state(), "py": random.getstate(),
             "scalar": np.float64(0.1), "name": np.str_("x")}
    path = tmp_path / "s.pt"
    torch.save(encode_state(state), path)
    back = decode_state(torch.load(path, weights_only=True))
    a, b = back["items"]
    assert back["items"].maxlen == 4 and a.prompt is b.prompt and a.example is b.example  # sharing kept
    assert a.prompt.images[0].tobytes() == image.tobytes() and a.prompt.images[0].mode == "RGB"
    assert torch.equal(a.old_logp, samples[0].old_logp) and a.rollout_logprobs == [-0.5, -1.5]
    assert a.example == ex and back["py"] == state["py"]
    assert type(back["scalar"]) is np.float64 and back["scalar"] == 0.1 and back["name"] == "x"
    np.random.set_state(back["np"])
    assert back["np"][1].dtype == np.uint32 and (back["np"][1] == state["np"][1]).all()
    with pytest.raises(StateCodecError, match=r"state.bad: cannot store a .*Planted"):
        encode_state({"bad": Planted(tmp_path / "x")})
    forged = encode_state({"e": ex})
    forged["objects"][0]["cls"] = "os.system"
    with pytest.raises(StateCodecError, match="class 'os.system' is not allowed"):
        decode_state(forged, "forged.pt")


def test_config_changes_compare_sections_and_dict_fields():
    from uec_vlm.config_loader import load_config, to_dict
    from uec_vlm.trainer.run_dir import config_changes

    a = to_dict(load_config(["grpo"]))
    b = to_dict(load_config(["grpo"], ["reward.weights={accuracy: 0.9, format: 0.1}", "trainer.steps=7",
                                       "eval.n=4", "algo.kl_cov.beta=2"]))
    assert config_changes(a, b) == [("algo.kl_cov.beta", 1.0, 2.0),
                                    ("reward.weights", a["reward"]["weights"], {"accuracy": 0.9, "format": 0.1})]
