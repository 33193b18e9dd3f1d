"""Child process: TRL's GRPOTrainer on the same checkpoint, batch and settings as worker_ours; one JSON line.

argv[1]: JSON with size, prompts, n, new_tokens, image_tokens, images, steps, warmup, lr, micro_batch_size.
One optimizer step = prompts x n samples generated at once, trained in micro-batches of micro_batch_size
(gradient accumulation), like uec-vlm's step. A step's time is the time between two `on_step_end` calls.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Workload, bench_reward_values, emit, model_dir  # noqa: E402
from workload import workload_examples  # noqa: E402


def trl_dataset(w: Workload):
    """The workload as TRL's conversational VLM dataset: a prompt with image slots + an `images` column."""
    from datasets import Dataset

    from uec_vlm.prompts import render_question

    rows = {"prompt": [], "images": []}
    for ex in workload_examples(w):
        # Same user text as uec-vlm's `direct` template; images first, as uec-vlm places them.
        text = render_question(ex, "direct").replace("<image>", "")
        rows["prompt"].append([{"role": "user", "content": [{"type": "image"}] * len(ex.images)
                                + [{"type": "text", "text": text}]}])
        rows["images"].append(ex.load_images())
    return Dataset.from_dict(rows)


def reward(completions, **kwargs):
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return bench_reward_values(texts)


def main(a: dict) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from transformers import AutoModelForImageTextToText, AutoProcessor, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    w = Workload(a.get("prompts", 8), a.get("n", 8), a.get("new_tokens", 64), a.get("image_tokens", 64),
                 a.get("images", 1))
    path = model_dir(a["size"])
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa")
    processor = AutoProcessor.from_pretrained(path)
    micro = a.get("micro_batch_size", 16)
    total = w.prompts * w.n
    steps = a.get("warmup", 1) + a.get("steps", 2)
    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            marks.append((time.perf_counter(), time.process_time()))

        def on_step_end(self, args, state, control, **kw):
            marks.append((time.perf_counter(), time.process_time()))

    with tempfile.TemporaryDirectory() as tmp:
        cfg = GRPOConfig(
            output_dir=tmp, max_steps=steps, per_device_train_batch_size=micro,
            gradient_accumulation_steps=total // micro, num_generations=w.n,
            max_completion_length=w.new_tokens, temperature=1.0, top_p=1.0, top_k=0, beta=0.0,
            num_iterations=1, learning_rate=a.get("lr", 1e-5), weight_decay=0.0, lr_scheduler_type="constant",
            warmup_steps=0, max_grad_norm=1.0, epsilon=0.2, loss_type="dapo", logging_steps=1,
            report_to="none", save_strategy="no", use_cpu=True, bf16=False, fp16=False, seed=0,
            dataloader_num_workers=0, disable_tqdm=True, log_completions=False, shuffle_dataset=False,
            gradient_checkpointing=bool(a.get("gradient_checkpointing", False)),
        )
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=cfg, train_dataset=trl_dataset(w),
                              processing_class=processor, callbacks=[Clock()])
        trainer.train()
    step_s = [b[0] - a_[0] for a_, b in zip(marks[:-1], marks[1:])][a.get("warmup", 1):]
    cpu_s = [b[1] - a_[1] for a_, b in zip(marks[:-1], marks[1:])][a.get("warmup", 1):]
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    emit({"framework": "trl", "step_s": step_s, "cpu_s": cpu_s, "params": sum(p.numel() for p in model.parameters()),
          "mean_completion_tokens": lengths[a.get("warmup", 1):]})


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
