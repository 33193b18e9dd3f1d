"""The supervised warm start: target format and a loss that goes down on a real tiny model."""

from __future__ import annotations

from data_zoo.synthgeo import generate
from uec_vlm.prompts import ImageBudget
from uec_vlm.trainer.sft import run_sft, target_text


def test_target_text_uses_the_answer_text():
    ex = generate(8, 0, "train", difficulty=0)[0]
    assert target_text(ex, "boxed") == f"\\boxed{{{ex.answer}}}"
    assert target_text(ex, "think_boxed") == f"<think> </think> \\boxed{{{ex.answer}}}"


def test_sft_loss_decreases(tiny_qwen2_5_vl_dir):
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    examples = generate(8, 0, "train", difficulty=0)
    logged = []
    losses = run_sft(model, processor, examples, steps=20, lr=3e-3, batch_size=8, micro_batch_size=4,
                     template="direct", image_budget=ImageBudget(3136, 50176), max_prompt_length=256,
                     style="boxed", log=lambda step, m: logged.append(step))
    assert len(losses) == 20 and logged == list(range(1, 21))
    assert losses[-1] < 0.5 * losses[0]
