"""Everything a run owns, built from the config: model, data, reward, backend, optimizer, buffers, logger.

Also the state that must survive a resume (data position, buffers, controller, counters, RNG streams),
and saving/finishing. The loop (`loop.py`) only reads and steps these objects.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from uec_vlm.algos.papo import settings_from_config as papo_settings
from uec_vlm.config import Config
from uec_vlm.config_loader import to_dict
from uec_vlm.trainer import distributed as dist_utils
from uec_vlm.trainer.mixture import MixtureStream, source_metrics, train_specs
from uec_vlm.trainer.prompt_stream import PromptStream
from uec_vlm.trainer.schedule import ProgressLR
from uec_vlm.trainer.update import UpdateSettings


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def build_model(cfg: Config):
    from uec_vlm.models.loading import load_policy

    m = cfg.model
    if not m.path:
        raise ValueError("model.path is empty: point it at a checkpoint directory or hub id "
                         "(`uec-vlm make-tiny-model OUT` builds a tiny offline one)")
    lora = None
    if m.lora_rank > 0:
        lora = {"r": m.lora_rank, "lora_alpha": m.lora_alpha, "lora_dropout": m.lora_dropout,
                "target_modules": list(m.lora_target_modules)}
    return load_policy(m.path, dtype=m.dtype, device=resolve_device(m.device),
                       attn_implementation=m.attn_implementation, gradient_checkpointing=m.gradient_checkpointing,
                       lora=lora, freeze_vision=m.freeze_vision, trust_remote_code=m.trust_remote_code)


def load_data(cfg: Config, spec: str):
    """Dataset `spec` under the run's data policy: on_error, adapter modules, the dataset-folder rule for
    image paths, and gold answers checked by the graders at load (not at the first reward)."""
    from data_zoo.registry import load_dataset
    from uec_vlm.rewards.graders import check_gold

    return load_dataset(spec, on_error=cfg.data.on_error, adapter_modules=cfg.data.adapter_modules,
                        allow_outside_root=cfg.data.allow_outside_root, gold_check=check_gold)


def build_backend(cfg: Config, model, processor):
    from uec_vlm.rollout import make_backend

    r = cfg.rollout
    if r.backend == "vllm":
        from uec_vlm.rollout.vllm import EngineOptions

        # vLLM refuses a context longer than the model's positions; longer prompts are filtered anyway.
        limit = getattr(model.config.get_text_config(), "max_position_embeddings", None)
        max_len = cfg.prompt.max_prompt_length + r.max_new_tokens
        options = EngineOptions(gpu_memory_utilization=r.vllm_gpu_memory_utilization,
                                max_model_len=min(max_len, int(limit)) if limit else max_len,
                                tensor_parallel_size=r.vllm_tensor_parallel_size, dtype=cfg.model.dtype,
                                sleep=r.vllm_sleep, weight_sync=r.vllm_weight_sync, seed=cfg.trainer.seed)
        return make_backend("vllm", model, processor, model_path=cfg.model.path, options=options)
    return make_backend("hf", model, processor, prompt_batch_size=r.prompts_per_batch)


def build_control(cfg: Config):
    from uec_vlm.algos.entropy import ENTROPY_CONTROLS
    from uec_vlm.algos.rules import control_params

    return ENTROPY_CONTROLS.get(cfg.algo.entropy_control)(**control_params(cfg))


class TrainingSetup:
    """Builds the run's objects and restores them from `trainer.resume`."""

    def __init__(self, cfg: Config):
        from data_zoo.registry import Dataset
        from uec_vlm.prompts import ImageBudget
        from uec_vlm.resolve import resolve_names
        from uec_vlm.rewards import build_reward
        from uec_vlm.trainer.checkpoint import latest_checkpoint, load_checkpoint
        from uec_vlm.trainer.metrics_log import MetricsLogger
        from uec_vlm.trainer.run_dir import RunDir, check_resume_config
        from uec_vlm.uec.buffers import BatchBuffer, ReplayBuffer

        self.cfg = cfg
        t = cfg.trainer
        resolve_names(cfg)  # every name, before the model loads
        dist_utils.init_from_env(t.dist_timeout_s)
        self.rank, self.world = dist_utils.rank(), dist_utils.world_size()
        self.run_dir = RunDir(t.output_dir)
        ckpt = self._resume_point(latest_checkpoint)
        if ckpt is not None:  # the run that wrote the checkpoint saved its config two levels up
            saved = ckpt.parent.parent / "config.yaml"
            check_resume_config(saved if saved.is_file() else self.run_dir.config_path, to_dict(cfg),
                                allow=t.allow_config_change)
        seed_everything(t.seed)
        self.model, self.processor = build_model(cfg)
        self.pad_token_id = int(self.processor.tokenizer.pad_token_id)
        if ckpt is not None:  # weights go in before FSDP2 sharding; optimizer and the rest after
            load_checkpoint(ckpt, model=self.model, restore_rng=False)
        self.train_model = dist_utils.wrap_policy(self.model, t.distributed)
        self.ref_model = None
        if cfg.algo.kl_coef > 0:
            self.ref_model, _ = build_model(cfg)
            self.ref_model.eval().requires_grad_(False)
        self.image_budget = ImageBudget(cfg.prompt.min_pixels, cfg.prompt.max_pixels)

        self.train_sets = [self._load_train(spec) for spec, _ in train_specs(cfg.data.train, cfg.data.train_weights)]
        self.train_set = self.train_sets[0] if len(self.train_sets) == 1 else Dataset(
            "+".join(ds.name for ds in self.train_sets), [ex for ds in self.train_sets for ex in ds],
            [s for ds in self.train_sets for s in ds.skipped])
        # One global draw sequence from trainer.seed, the same on every rank: all ranks draw the same global
        # batch of examples and each generates a share of it (docs/training.md, "Scale-out").
        if len(self.train_sets) == 1:
            self.stream = PromptStream(self.train_set, seed=t.seed, shuffle=cfg.data.shuffle)
        else:
            self.stream = MixtureStream(self.train_sets, cfg.data.train_weights, seed=t.seed, shuffle=cfg.data.shuffle)
            if dist_utils.is_main():
                print("data: mixture " + ", ".join(f"{lb} ({len(ds)} examples, p={p:.3f})" for lb, ds, p in
                                                   zip(self.stream.labels, self.train_sets, self.stream.probs)))
        self.prompt_cache: dict[str, object] = {}  # uid -> encoded prompt built on this rank (cleared per step)
        if cfg.data.overlap_check and dist_utils.is_main():
            from data_zoo.overlap import contamination_warnings
            from uec_vlm.resolve import resolve_val_spec

            val = resolve_val_spec(cfg.data.val, cfg.data.train, cfg.data.adapter_modules)[0]
            named = {"data.val": [val] if val else [], "eval.suite": list(cfg.eval.suite)}
            specs = [x for s in cfg.data.overlap_check for x in named.get(s, [s])]
            for line in contamination_warnings(self.train_sets, specs, cfg.data.overlap_threshold,
                                               adapter_modules=cfg.data.adapter_modules):
                print(line)
        if dist_utils.is_main():
            from uec_vlm.algos.rules import single_pass_notes

            for line in single_pass_notes(cfg):
                print(line)
        self.filtered_prompts: list[str] = []
        self.bad_at_use: list[str] = []

        self.reward_fn = build_reward(cfg.reward.name, weights=dict(cfg.reward.weights), timeout_s=cfg.reward.timeout_s,
                                      workers=cfg.reward.workers)
        self.backend = build_backend(cfg, self.model, self.processor)
        self.control = build_control(cfg)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        o = cfg.optim
        self.optimizer = torch.optim.AdamW(trainable, lr=o.lr, weight_decay=o.weight_decay, betas=tuple(o.betas),
                                           eps=o.eps)
        self.scheduler = ProgressLR(self.optimizer, schedule=o.schedule, warmup_steps=o.warmup_steps)
        self.update_settings = UpdateSettings(
            ppo_epochs=t.ppo_epochs, mini_batch_size=t.mini_batch_size, micro_batch_size=t.micro_batch_size,
            clip_low=cfg.algo.clip_low, clip_high=cfg.algo.clip_high, dual_clip=cfg.algo.dual_clip,
            kl_coef=cfg.algo.kl_coef, kl_kind=cfg.algo.kl_kind, loss_agg=cfg.algo.loss_agg,
            max_new_tokens=cfg.rollout.max_new_tokens, grad_clip=o.grad_clip,
            importance_correction=cfg.uec.importance_correction, policy_loss=cfg.algo.policy_loss,
            policy_loss_kwargs=dict(cfg.algo.params.get(cfg.algo.policy_loss, {})),
            top_entropy_quantile=cfg.algo.top_entropy_quantile,
            papo=papo_settings(cfg, self.processor))
        u = cfg.uec
        n0 = u.n0 or t.prompts_per_step * cfg.rollout.n
        self.batch_buffer = BatchBuffer(n0) if (u.enabled and u.batch_buffer) else None
        self.replay_buffer = ReplayBuffer(n0, u.replay.size_factor) if (u.enabled and u.replay.enabled) else None
        self.py_rng = random.Random(t.seed + 1)
        self.torch_gen = torch.Generator().manual_seed(t.seed + 2)
        self.group_counter = 0
        self.updates = 0
        self.rollout_tokens = 0  # response tokens generated by all ranks (trainer.rollout_token_budget)

        self.start_step = 0
        if ckpt is not None:
            self._restore(ckpt)
        if dist_utils.is_main():
            self.run_dir.write_config(to_dict(cfg))
        self.logger = MetricsLogger(
            self.run_dir, total_steps=t.steps, console=t.console and dist_utils.is_main(),
            tensorboard=t.tensorboard and dist_utils.is_main(), wandb=t.wandb and dist_utils.is_main(),
            wandb_project=t.wandb_project, wandb_config=to_dict(cfg),
            resume_step=self.start_step if (ckpt is not None or self.run_dir.last_step is not None) else None,
            is_main=dist_utils.is_main())

    # ---------------------------------------------------------------- data
    def _load_train(self, spec: str):
        d = self.cfg.data
        ds = load_data(self.cfg, spec)
        if d.max_train_examples:
            ds.examples = ds.examples[: d.max_train_examples]
        if ds.skipped:
            print(f"data: skipped {len(ds.skipped)} bad records of {spec} (first: {ds.skipped[0]})")
        return ds

    def source_metrics(self, samples) -> dict:
        """Per-source counts and pass rates of a mixture run (nothing for a single training set)."""
        return source_metrics(self.stream, samples) if isinstance(self.stream, MixtureStream) else {}

    def next_examples(self, k: int) -> list:
        """The next k examples of the global stream, identical on every rank (collective).

        Too-long prompts (image tokens counted) and, with data.on_error=skip, records that fail at use are
        filtered, counted and replaced by the next examples. Each rank encodes a contiguous share of the
        candidates (kept in `prompt_cache`); the uids it had to drop, and any error, are gathered so every
        rank keeps the same examples or raises together.
        """
        from uec_vlm.prompts import build_prompts

        out: list = []
        skip = self.cfg.data.on_error == "skip"
        while len(out) < k:
            batch = self.stream.next(k - len(out))
            errors: list[str] = []
            dropped: list[str] = []
            bad: list[tuple[str, str]] = []
            with dist_utils.rank_local(errors):
                share = [batch[i] for i in dist_utils.block(len(batch), self.world, self.rank)]
                kept, dropped = build_prompts(share, self.processor, template=self.cfg.prompt.template,
                                              image_budget=self.image_budget,
                                              max_prompt_length=self.cfg.prompt.max_prompt_length,
                                              bad=bad if skip else None)
                self.prompt_cache.update((p.uid, p) for p in kept)
            parts = dist_utils.gather_checked((dropped, bad), errors)
            too_long = {uid for d, _ in parts for uid in d}
            failed = [(uid, reason) for _, b in parts for uid, reason in b]
            for uid, reason in failed:  # data.on_error=skip also covers records that fail only at use
                if dist_utils.is_main():
                    print(f"data: skipped {uid} at use ({reason})")
            self.bad_at_use.extend(uid for uid, _ in failed)
            gone = too_long | {uid for uid, _ in failed}
            if gone:
                self.filtered_prompts.extend(ex.uid for ex in batch if ex.uid in too_long)
                if len(set(self.filtered_prompts) | set(self.bad_at_use)) >= len(self.train_set):
                    raise ValueError(f"no usable prompt left in {self.cfg.data.train}: {len(self.filtered_prompts)} "
                                     f"exceed prompt.max_prompt_length={self.cfg.prompt.max_prompt_length} (image "
                                     f"tokens included), {len(self.bad_at_use)} failed at use")
            out.extend(ex for ex in batch if ex.uid not in gone)
        return out

    def prompt_for(self, example):
        """The encoded prompt of an example that passed the filters (built here if another rank did)."""
        from uec_vlm.prompts import build_prompt

        if example.uid not in self.prompt_cache:
            self.prompt_cache[example.uid] = build_prompt(
                example, self.processor, template=self.cfg.prompt.template, image_budget=self.image_budget)
        return self.prompt_cache[example.uid]

    def next_group_id(self, count: int) -> int:
        """First of `count` run-unique group ids; a global counter, identical on every rank."""
        first = self.group_counter
        self.group_counter += count
        return first

    def sampling_seed(self, group_id: int) -> int:
        """Seed of a generation call whose first prompt has `group_id`: a function of the run seed and the
        global group id only, so a prompt's samples do not depend on which rank generates them."""
        return (self.cfg.trainer.seed * 1_000_003 + group_id * 7919 + 12_345) % (2**31)

    def peak_memory_gb(self) -> float:
        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**30
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    # ---------------------------------------------------------------- state
    def trainer_state(self) -> dict:
        return {
            "stream": self.stream.state_dict(),
            "batch_buffer": None if self.batch_buffer is None else self.batch_buffer.state_dict(),
            "replay_buffer": None if self.replay_buffer is None else self.replay_buffer.state_dict(),
            "control": self.control.state_dict(),
            "py_rng": self.py_rng.getstate(),
            "torch_gen": self.torch_gen.get_state(),
            "group_counter": self.group_counter,
            "updates": self.updates,
            "rollout_tokens": self.rollout_tokens,
            "filtered_prompts": list(self.filtered_prompts),
            "bad_at_use": list(self.bad_at_use),
        }

    def _resume_point(self, latest_checkpoint):
        mode = self.cfg.trainer.resume
        if mode == "never":
            return None
        if mode == "auto":
            return latest_checkpoint(self.run_dir)
        path = Path(mode)
        if not path.is_dir():
            raise ValueError(f"trainer.resume={mode!r}: no such checkpoint directory")
        return path

    def _restore(self, ckpt: Path) -> None:
        """Optimizer, scheduler, data position, buffers, controller, counters and RNG (weights are in)."""
        from uec_vlm.trainer.checkpoint import load_checkpoint, read_checkpoint_meta

        optimizer = self._optimizer_state()
        if not (ckpt / "optimizer.pt").exists():  # checkpoints of older FSDP2 runs: AdamW moments restart
            print(f"note: {ckpt} has no optimizer.pt; AdamW moments restart from zero")
            optimizer = None
        ts = load_checkpoint(ckpt, model=None, optimizer=optimizer, scheduler=self.scheduler)
        self.stream.load_state_dict(ts["stream"])
        if self.batch_buffer is not None and ts.get("batch_buffer") is not None:
            self.batch_buffer.load_state_dict(ts["batch_buffer"])
        if self.replay_buffer is not None and ts.get("replay_buffer") is not None:
            self.replay_buffer.load_state_dict(ts["replay_buffer"])
        self.control.load_state_dict(ts["control"])
        self.py_rng.setstate(ts["py_rng"])
        self.torch_gen.set_state(ts["torch_gen"])
        self.group_counter, self.updates = ts["group_counter"], ts["updates"]
        self.filtered_prompts = list(ts.get("filtered_prompts", []))
        self.rollout_tokens = int(ts.get("rollout_tokens", 0))
        self.bad_at_use = list(ts.get("bad_at_use", []))
        self.start_step = int(read_checkpoint_meta(ckpt)["step"])
        self.backend.update_weights(self.model)
        print(f"resumed from {ckpt} (step {self.start_step})")

    def _optimizer_state(self):
        """The optimizer, or under FSDP2 its full-state view (`ShardedOptimizerState`)."""
        from torch.distributed.fsdp import FSDPModule

        if isinstance(self.model, FSDPModule):
            return dist_utils.ShardedOptimizerState(self.model, self.optimizer)
        return self.optimizer

    def save(self, step: int, metrics: dict) -> None:
        from uec_vlm.trainer.checkpoint import prune_checkpoints, save_checkpoint

        full = dist_utils.full_state_dict(self.model)  # FSDP2: gathered on every rank, written by rank 0
        optimizer = self._optimizer_state()
        if isinstance(optimizer, dist_utils.ShardedOptimizerState):  # a collective, like the weights above
            optimizer = optimizer.state_dict()
        save_checkpoint(self.run_dir, step, model=dist_utils.unwrap(self.model), processor=self.processor,
                        state_dict=full, optimizer=optimizer,
                        scheduler=self.scheduler, trainer_state=self.trainer_state(),
                        metrics={k: v for k, v in metrics.items() if k.startswith("val/")},
                        is_main=dist_utils.is_main())
        if dist_utils.is_main():
            best = next((k for k in sorted(metrics) if k.startswith("val/") and k.endswith("pass@1")), None)
            prune_checkpoints(self.run_dir, keep_last=self.cfg.trainer.keep_last, best_metric=best, mode="max")
        dist_utils.barrier()

    def finish(self, step: int, history_val: dict[int, dict]) -> dict:
        self.logger.close()
        summary = {
            "run": str(self.run_dir.root),
            "steps": step,
            "optimizer_updates": self.updates,
            "rollout_tokens": float(self.rollout_tokens),
            "prompts_filtered_too_long": len(self.filtered_prompts),
            "train_records_skipped": len(self.train_set.skipped),
            "train_records_skipped_at_use": len(self.bad_at_use),
            "validation": {str(k): v for k, v in history_val.items()},
        }
        if dist_utils.is_main():
            self.run_dir.write_summary(summary)
        return summary
