"""Session-wide fixtures: tiny offline Qwen-VL checkpoints (built once), a loaded policy, synthetic examples."""

from __future__ import annotations

import io
import os

import pytest

# Set before torch is first imported (by whichever test needs it; data-only tests never pay for torch).
# More than 2 threads only adds contention at tiny-model sizes on the 2-core CI machines.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")


def _png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(img).line((0, 0, width - 1, height - 1), fill=(255, 255, 255), width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl_dir(tmp_path_factory):
    from uec_vlm.models.tiny import make_tiny_model

    return make_tiny_model("qwen2_5_vl", tmp_path_factory.mktemp("tiny") / "qwen2_5_vl", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen2_vl_dir(tmp_path_factory):
    from uec_vlm.models.tiny import make_tiny_model

    return make_tiny_model("qwen2_vl", tmp_path_factory.mktemp("tiny") / "qwen2_vl", seed=0)


@pytest.fixture(scope="session")
def tiny_policy(tiny_qwen2_5_vl_dir):
    """(model, processor) for the tiny Qwen2.5-VL, in eval mode. Do not mutate its weights in tests."""
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    model.eval()
    return model, processor


@pytest.fixture(scope="session")
def synthetic_examples():
    """Three Examples: one image (placeholder first), two images in the text, and text-only."""
    from data_zoo.example import Example, ImageRef

    return [
        Example(id="1", source="synthetic", split="train", question="<image>Find x in the triangle.",
                answer="50", answer_kind="integer",
                images=[ImageRef(data=_png(150, 100, (200, 30, 30)), origin="synthetic:1")]),
        Example(id="2", source="synthetic", split="train", question="Compare <image> and <image>. Which is larger?",
                answer="right", answer_kind="choice", choices=["left", "right"], gold_letter="B",
                images=[ImageRef(data=_png(112, 112, (30, 200, 30))), ImageRef(data=_png(224, 224, (30, 30, 200)))]),
        Example(id="3", source="synthetic", split="train", question="What is 6 * 7?", answer="42",
                answer_kind="integer"),
    ]


@pytest.fixture
def make_cfg(tiny_qwen2_5_vl_dir, tmp_path):
    """make_cfg(*sources_and_overrides, out=...) -> a validated Config for a seconds-long run."""
    from uec_vlm.config_loader import load_config, split_cli_args

    def build(*args, out=None):
        sources, overrides = split_cli_args(list(args))
        base = [
            f"model.path={tiny_qwen2_5_vl_dir}", f"trainer.output_dir={out or tmp_path / 'run'}",
            "trainer.steps=2", "trainer.prompts_per_step=2", "rollout.n=3", "rollout.max_new_tokens=6",
            "rollout.prompts_per_batch=2", "data.train=synthgeo:train?n=16&seed=0", "data.val=",
            "trainer.tensorboard=false", "trainer.console=false", "optim.lr=1e-3", "algo.kl_coef=0",
            "prompt.template=direct", "reward.name=accuracy", "reward.weights={accuracy: 1.0}",
            "trainer.micro_batch_size=4", "uec.explore_n=3", "uec.n0=6",
        ]
        return load_config(sources, base + overrides)

    return build
