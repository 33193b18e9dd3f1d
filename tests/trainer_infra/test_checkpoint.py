"""Checkpoints with a real tiny Qwen2.5-VL, a real Qwen2.5-VL processor, AdamW and a LR scheduler.

Run as a script (`python test_checkpoint.py RUN_DIR`) it is the child process of the crash test: it saves
step 1, trains a step, then dies with os._exit in the middle of writing step 2.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from uec_vlm.trainer.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    read_checkpoint_meta,
    save_checkpoint,
)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
CRASH_EXIT_CODE = 17


def tiny_model(seed: int):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=264, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=2, num_key_value_heads=1, bos_token_id=None, eos_token_id=258,
            pad_token_id=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        ),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                           fullatt_block_indexes=[0]),
        image_token_id=262, video_token_id=263, vision_start_token_id=259, vision_end_token_id=260,
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def tiny_processor():
    """A real Qwen2.5-VL processor over a byte-level vocabulary (no merges): enough to round-trip."""
    from tokenizers import pre_tokenizers
    from transformers import Qwen2_5_VLProcessor, Qwen2Tokenizer, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab.update({tok: 256 + i for i, tok in enumerate(SPECIALS)})
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=[], padding_side="left", eos_token="<|im_end|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>"},
    )
    return Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer,
                               video_processor=Qwen2VLVideoProcessor(),
                               chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}")


def optimizer_and_scheduler(model):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return optimizer, scheduler


def train_step(model, optimizer, scheduler) -> None:
    """A real optimizer step on a cheap loss (the checkpoint code does not care where gradients come from)."""
    loss = sum((p.float() ** 2).sum() for p in model.parameters())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    scheduler.step()


def draws() -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_save_load_round_trip_restores_everything(tmp_path):
    model = tiny_model(seed=0)
    processor = tiny_processor()
    optimizer, scheduler = optimizer_and_scheduler(model)
    train_step(model, optimizer, scheduler)
    train_step(model, optimizer, scheduler)
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    trainer_state = {"data_position": 17, "buffer": [("geo-3", 0.5), ("geo-9", 1.0)], "controller": {"beta": 0.1}}
    path = save_checkpoint(tmp_path, 2, model=model, processor=processor, optimizer=optimizer,
                           scheduler=scheduler, trainer_state=trainer_state,
                           metrics={"val/mathvista/pass@1": 0.25, "reward/overall": None})
    expected_draws = draws()

    assert path == tmp_path / "checkpoints" / "step_2"
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json", "optimizer.pt",
            "scheduler.pt", "trainer_state.pt", "rng.pt", "meta.json", "COMPLETE"} <= names
    meta = read_checkpoint_meta(path)
    assert (meta["step"], meta["metrics"]) == (2, {"val/mathvista/pass@1": 0.25})

    fresh = tiny_model(seed=1)
    fresh_opt, fresh_sched = optimizer_and_scheduler(fresh)
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    restored = load_checkpoint(path, model=fresh, optimizer=fresh_opt, scheduler=fresh_sched)

    assert restored == trainer_state
    for (name, p), q in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(p, q), name
    assert fresh_sched.last_epoch == 2
    assert fresh_opt.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.25)
    first = next(iter(model.parameters()))
    fresh_first = next(iter(fresh.parameters()))
    assert torch.equal(optimizer.state[first]["exp_avg_sq"], fresh_opt.state[fresh_first]["exp_avg_sq"])
    assert int(fresh_opt.state[fresh_first]["step"]) == 2
    assert draws() == expected_draws

    from transformers import AutoModelForImageTextToText, AutoProcessor

    hf_model = AutoModelForImageTextToText.from_pretrained(path)
    for (name, p), q in zip(model.state_dict().items(), hf_model.state_dict().values()):
        assert torch.equal(p, q), name
    hf_processor = AutoProcessor.from_pretrained(path)
    text = "area <|image_pad|> of ABC"
    assert hf_processor.tokenizer(text).input_ids == processor.tokenizer(text).input_ids
    assert hf_processor.tokenizer.padding_side == "left"


def test_load_rejects_incomplete_and_missing_parts(tmp_path):
    model = tiny_model(seed=0)
    path = save_checkpoint(tmp_path, 3, model=model, rng=False)
    optimizer, _ = optimizer_and_scheduler(model)
    with pytest.raises(FileNotFoundError, match="optimizer.pt is missing"):
        load_checkpoint(path, optimizer=optimizer, restore_rng=False)
    with pytest.raises(FileNotFoundError, match="rng.pt is missing"):
        load_checkpoint(path)
    (path / "COMPLETE").unlink()
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        load_checkpoint(path)


def test_gathered_state_dicts_are_what_gets_saved(tmp_path):
    """FSDP path: the trainer hands over full state dicts gathered on rank 0 instead of live objects."""
    live, gathered = tiny_model(seed=0), tiny_model(seed=1)
    optimizer, _ = optimizer_and_scheduler(gathered)
    train_step(gathered, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=1))
    path = save_checkpoint(tmp_path, 1, model=live, state_dict=gathered.state_dict(),
                           optimizer=optimizer.state_dict(), rng=False)
    target = tiny_model(seed=2)
    target_opt, _ = optimizer_and_scheduler(target)
    load_checkpoint(path, model=target, optimizer=target_opt, restore_rng=False)
    for (name, p), q in zip(gathered.state_dict().items(), target.state_dict().values()):
        assert torch.equal(p, q), name
    assert target_opt.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"] == 1


def test_non_main_rank_writes_nothing(tmp_path):
    assert save_checkpoint(tmp_path, 1, model=tiny_model(seed=0), is_main=False) is None
    assert not (tmp_path / "checkpoints").exists()


class _DieWhileSaved:
    """A processor that kills the process when saved (after the weights): a crash mid checkpoint write."""

    def save_pretrained(self, path):
        os._exit(CRASH_EXIT_CODE)


def _crash_child(run_dir: str) -> None:
    model = tiny_model(seed=0)
    optimizer, scheduler = optimizer_and_scheduler(model)
    save_checkpoint(run_dir, 1, model=model, optimizer=optimizer, scheduler=scheduler,
                    trainer_state={"data_position": 4})
    train_step(model, optimizer, scheduler)
    save_checkpoint(run_dir, 2, model=model, processor=_DieWhileSaved(), optimizer=optimizer,
                    scheduler=scheduler, trainer_state={"data_position": 8})


def test_killed_mid_save_leaves_previous_checkpoint_usable(tmp_path):
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == CRASH_EXIT_CODE, proc.stderr[-2000:]
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_1", "step_2.tmp"]
    assert (ckpts / "step_2.tmp" / "model.safetensors").is_file()  # the crash came after the weights
    assert latest_checkpoint(tmp_path) == ckpts / "step_1"

    model = tiny_model(seed=3)
    optimizer, scheduler = optimizer_and_scheduler(model)
    state = load_checkpoint(ckpts / "step_1", model=model, optimizer=optimizer, scheduler=scheduler)
    assert state == {"data_position": 4}
    for (name, p), q in zip(tiny_model(seed=0).state_dict().items(), model.state_dict().values()):
        assert torch.equal(p, q), name

    # the resumed run saves step 2 again over the crashed leftovers
    train_step(model, optimizer, scheduler)
    save_checkpoint(tmp_path, 2, model=model, optimizer=optimizer, scheduler=scheduler,
                    trainer_state={"data_position": 8})
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_1", "step_2"]
    assert latest_checkpoint(tmp_path) == ckpts / "step_2"


def test_prune_keeps_last_n_and_best(tmp_path):
    model = tiny_model(seed=0)
    scores = {1: 0.1, 2: 0.6, 3: 0.3, 4: 0.6, 5: 0.2, 6: None}
    for step, score in scores.items():
        save_checkpoint(tmp_path, step, model=model, rng=False, metrics={"val/geo/pass@1": score})
    ckpts = tmp_path / "checkpoints"
    (ckpts / "step_9.tmp").mkdir()  # crashed save
    (ckpts / "step_8").mkdir()  # no COMPLETE marker
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert latest_checkpoint(tmp_path) == ckpts / "step_6"

    removed = prune_checkpoints(tmp_path, keep_last=2, best_metric="val/geo/pass@1", mode="max")
    assert sorted(p.name for p in removed) == ["step_1", "step_3", "step_4", "step_8", "step_9.tmp"]
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_2", "step_5", "step_6"]

    removed = prune_checkpoints(tmp_path, keep_last=1, best_metric="val/geo/pass@1", mode="min")
    assert [p.name for p in removed] == ["step_2"]
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_5", "step_6"]
    # re-saving an existing step swaps in the new copy
    save_checkpoint(tmp_path, 6, model=model, rng=False, metrics={"val/geo/pass@1": 0.9})
    assert read_checkpoint_meta(ckpts / "step_6")["metrics"] == {"val/geo/pass@1": 0.9}
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_5", "step_6"]
    with pytest.raises(ValueError, match="keep_last"):
        prune_checkpoints(tmp_path, keep_last=0)
    with pytest.raises(ValueError, match="mode"):
        prune_checkpoints(tmp_path, keep_last=1, best_metric="x", mode="best")


def test_save_rejects_a_module_without_save_pretrained(tmp_path):
    with pytest.raises(TypeError, match="PreTrainedModel"):
        save_checkpoint(tmp_path, 1, model=torch.nn.Linear(2, 2))


if __name__ == "__main__":
    _crash_child(sys.argv[1])
    sys.exit(0)  # not reached: the child dies inside the second save
