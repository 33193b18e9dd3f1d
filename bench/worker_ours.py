"""Child process: run uec-vlm's trainer for warm-up + timed steps on one workload; print one JSON line.

argv[1] is a JSON object: size, prompts, n, new_tokens, image_tokens, images, steps, warmup, preset
("grpo" or "uec"), data ("" = the synthetic workload, else a dataset spec such as synthgeo:train?n=64),
reward, lr, micro_batch_size, profile (write a cProfile summary of one step to this path, or ""), flops (count
the language model's token positions in the training forward and the prefill, time the prefill, and measure a
plain torch.mm peak in the same process afterwards).
Under torchrun every rank runs it; rank 0 prints.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Workload, emit, matmul_peak_gflops, model_dir  # noqa: E402
from workload import workload_parquet  # noqa: E402


def build_config(a: dict, w: Workload, out_dir: str):
    from uec_vlm.config_loader import load_config

    data = a.get("data") or str(workload_parquet(w))
    px = w.image_px ** 2 * w.images if not a.get("data") else 224 * 224
    overrides = [
        f"model.path={model_dir(a['size'])}", f"data.train={data}", "data.val=", "prompt.template=direct",
        f"prompt.min_pixels={min(px, 3136)}", f"prompt.max_pixels={max(px, 3136)}",
        "prompt.max_prompt_length=4096",
        f"rollout.n={w.n}", "rollout.temperature=1.0", "rollout.top_p=1.0", "rollout.top_k=0",
        f"rollout.max_new_tokens={w.new_tokens}", f"rollout.prompts_per_batch={w.prompts}",
        f"reward.name={a.get('reward', 'bench.common:bench_reward')}", "reward.weights={accuracy: 1.0}",
        "algo.kl_coef=0.0", f"optim.lr={a.get('lr', 1e-5)}", "optim.weight_decay=0.0",
        f"trainer.prompts_per_step={w.prompts}", f"trainer.micro_batch_size={a.get('micro_batch_size', 16)}",
        "trainer.ppo_epochs=1", "trainer.mini_batch_size=0", f"trainer.output_dir={out_dir}",
        "trainer.resume=never", "trainer.console=false", "trainer.tensorboard=false", "trainer.seed=0",
        f"model.gradient_checkpointing={str(bool(a.get('gradient_checkpointing', False))).lower()}",
    ]
    overrides += a.get("overrides", [])
    return load_config([a.get("preset", "grpo")], overrides)


def measure(a: dict) -> dict:
    """Build a Trainer for `a`, run warm-up + timed steps; return step times, phases and counts."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from uec_vlm.trainer import distributed as dist_utils
    from uec_vlm.trainer.loop import Trainer

    w = Workload(a.get("prompts", 8), a.get("n", 8), a.get("new_tokens", 64), a.get("image_tokens", 64),
                 a.get("images", 1))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(build_config(a, w, tmp))
        counter = LMCounter(trainer.s.model) if a.get("flops") else None
        cpu_phases = phase_cpu_seconds(trainer)
        for step in range(1, a.get("warmup", 1) + 1):
            trainer.train_step(step)
        times, cpu, phases, samples, tokens, retained = [], [], {}, [], [], []
        if counter is not None:
            counter.reset()
        cpu_phases.clear()
        for step in range(a.get("warmup", 1) + 1, a.get("warmup", 1) + a.get("steps", 2) + 1):
            dist_utils.barrier()
            t0, c0 = time.perf_counter(), time.process_time()
            if a.get("profile") and step == a.get("warmup", 1) + 1:
                import cProfile

                prof = cProfile.Profile()
                m = prof.runcall(trainer.train_step, step)
                prof.dump_stats(a["profile"])
            else:
                m = trainer.train_step(step)
            cpu.append(time.process_time() - c0)
            dist_utils.barrier()
            times.append(time.perf_counter() - t0)
            for k, v in m.items():
                if k.startswith("time/"):
                    phases.setdefault(k[5:], []).append(v)
            tokens.append(m.get("response/length_mean", 0.0))
            retained.append(m.get("uec/retained", float(w.prompts * w.n)))
            samples.append(m.get("uec/explore_samples", 0.0) + w.prompts * w.n)
        params = sum(p.numel() for p in trainer.s.model.parameters())
        trainer.s.logger.close()
    out = {"framework": "uec-vlm", "step_s": times, "cpu_s": cpu, "phases": phases, "cpu_phases": cpu_phases, "params": params,
           "mean_completion_tokens": tokens, "retained": retained, "samples": samples,
           "world": dist_utils.world_size()}
    if counter is not None:
        out["flops"] = dict(counter.totals(), mm_peak_gflops=matmul_peak_gflops())
    return out


def phase_cpu_seconds(trainer) -> dict[str, float]:
    """Make the trainer's `phase` timer also add up CPU seconds (`time.process_time`) per phase; returns the
    dict it fills (the trainer's own `time/*` metrics are wall seconds)."""
    from contextlib import contextmanager

    wall_phase, totals = trainer.phase, {}

    @contextmanager
    def phase(name):
        c0 = time.process_time()
        try:
            with wall_phase(name):
                yield
        finally:
            totals[name] = totals.get(name, 0.0) + time.process_time() - c0

    trainer.phase = phase
    return totals


class LMCounter:
    """Hooks on the language model: token positions it runs with gradient (the training forward; checkpoint
    replays re-run layers, not this module, so they are not counted) and without (prefill calls of more than
    one position, timed in CPU seconds; decode steps excluded), and its matmul parameter count (decoder
    layers + LM head)."""

    def __init__(self, policy):
        import torch

        lm = policy.model.language_model
        self.matmul_params = sum(p.numel() for p in lm.layers.parameters() if p.dim() == 2)
        self.matmul_params += policy.lm_head.weight.numel()
        self._grad = torch.is_grad_enabled
        lm.register_forward_pre_hook(self._pre, with_kwargs=True)
        lm.register_forward_hook(self._post, with_kwargs=True)
        self.reset()

    def reset(self):
        self.train_tokens = self.prefill_tokens = 0
        self.prefill_s, self._t0 = 0.0, None

    def _pre(self, module, args, kwargs):
        x = kwargs.get("inputs_embeds")
        positions = int(x.shape[0] * x.shape[1]) if x is not None else 0
        if self._grad():
            self.train_tokens += positions
        elif x is not None and x.shape[1] > 1:
            self.prefill_tokens += positions
            self._t0 = time.process_time()

    def _post(self, module, args, kwargs, output):
        if self._t0 is not None:
            self.prefill_s += time.process_time() - self._t0
            self._t0 = None

    def totals(self) -> dict:
        return {"matmul_params": self.matmul_params, "train_tokens": self.train_tokens,
                "prefill_tokens": self.prefill_tokens, "prefill_s": self.prefill_s}


if __name__ == "__main__":
    from uec_vlm.trainer import distributed as dist_utils

    result = measure(json.loads(sys.argv[1]))
    if dist_utils.is_main():
        emit(result)
