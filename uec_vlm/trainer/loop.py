"""The GRPO-UEC training loop: one step = named, timed phases, readable top to bottom in `train_step`.

    sample -> rollout -> reward -> [dynamic sampling] -> difficulty -> explore -> advantages -> retention
    -> accumulate -> update -> replay -> log -> validate -> checkpoint

With `uec.enabled = false` the explore / retention / buffer / replay phases are identity and the loop is
plain GRPO (or DAPO, AER, KL-Cov, ... through `algo.*`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch

from uec_vlm.algos.advantages import compute_advantages
from uec_vlm.algos.dapo import informative_groups, overlong_penalty
from uec_vlm.config import Config
from uec_vlm.progress import bar
from uec_vlm.trainer.samples import Sample, make_samples, score_samples
from uec_vlm.trainer.setup import TrainingSetup
from uec_vlm.trainer.update import fill_logprobs, policy_update
from uec_vlm.uec.buffers import should_replay
from uec_vlm.uec.selection import (
    BUCKET_NAMES,
    HARD,
    difficulty_buckets,
    pass_rates,
    replay_mask,
    retention_mask,
)

ValidateFn = Callable[[object, int], dict]


class Trainer:
    """Owns the run state; `train()` runs the loop. Build it with `Trainer(cfg, validate_fn)`."""

    def __init__(self, cfg: Config, validate_fn: ValidateFn | None = None):
        self.cfg = cfg
        self.s = TrainingSetup(cfg)  # model, processor, data, reward, backend, optimizer, buffers, logger
        self.validate_fn = validate_fn
        self.timings: dict[str, float] = {}
        self.bad_steps = 0
        self.best_val: float | None = None

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[f"time/{name}"] = self.timings.get(f"time/{name}", 0.0) + time.perf_counter() - t0

    def _rollout(self, prompts, examples, *, n: int, temperature: float, exploration: bool) -> list[Sample]:
        if not prompts:
            return []
        from uec_vlm.rollout import SamplingParams

        r = self.cfg.rollout
        params = SamplingParams(n=n, temperature=temperature, top_p=r.top_p, top_k=r.top_k,
                                max_new_tokens=r.max_new_tokens, seed=self.s.sampling_seed())
        completions = []
        with bar(total=len(prompts), desc="explore" if exploration else "rollout", unit="prompt") as progress:
            for i in range(0, len(prompts), r.prompts_per_batch):
                completions.extend(self.s.backend.generate(prompts[i:i + r.prompts_per_batch], params))
                progress.update(len(prompts[i:i + r.prompts_per_batch]))
        samples = make_samples(prompts, examples, completions, first_group_id=self.s.next_group_id(len(prompts)),
                               temperature=temperature, is_exploration=exploration)
        with self.phase("reward"):
            score_samples(samples, self.s.reward_fn, self.cfg.reward.correct_threshold)
            self._shape_rewards(samples)
        return samples

    def _shape_rewards(self, samples: list[Sample]) -> None:
        """The scalar the advantage sees: overall reward, DAPO +-1 scale and overlong shaping if asked."""
        a = self.cfg.algo
        for s in samples:
            r = float(s.rewards["overall"])
            s.rewards["train"] = 2.0 * r - 1.0 if a.reward_scale == "pm1" else r
        if a.overlong.enabled and samples:
            lengths = torch.tensor([s.num_tokens for s in samples], dtype=torch.float32)
            pen = overlong_penalty(lengths, self.cfg.rollout.max_new_tokens, a.overlong.buffer, a.overlong.factor)
            for s, p in zip(samples, pen.tolist(), strict=True):
                s.rewards["overlong_penalty"] = p
                s.rewards["train"] += p

    @staticmethod
    def _tensors(samples: list[Sample]):
        rewards = torch.tensor([s.rewards["train"] for s in samples], dtype=torch.float32)
        accuracy = torch.tensor([float(s.correct) for s in samples], dtype=torch.float32)
        gids = torch.tensor([s.group_id for s in samples], dtype=torch.long)
        return rewards, accuracy, gids

    # ------------------------------------------------------------------ one step
    def train_step(self, step: int) -> dict:
        cfg, s = self.cfg, self.s
        self.timings = {}
        m: dict[str, float] = {}

        with self.phase("sample"):
            prompts, examples = s.next_prompts(cfg.trainer.prompts_per_step)

        with self.phase("rollout"):
            samples = self._rollout(prompts, examples, n=cfg.rollout.n, temperature=cfg.rollout.temperature,
                                    exploration=False)

        if cfg.algo.dynamic_sampling:
            with self.phase("dynamic_sampling"):
                samples, rounds = self._dynamic_sampling(samples)
                m["dapo/resample_rounds"] = rounds

        with self.phase("difficulty"):
            rewards, accuracy, gids = self._tensors(samples)
            pr = pass_rates(accuracy, gids, threshold=0.5)
            buckets = difficulty_buckets(pr.rates, hard_max=cfg.uec.hard_max_pass_rate,
                                         solved_min=cfg.uec.solved_min_pass_rate)
            group_rate = dict(zip(pr.group_ids.tolist(), pr.rates.tolist(), strict=True))
            for b, name in enumerate(BUCKET_NAMES):
                sel = buckets == b
                m[f"uec/bucket/{name}/count"] = float(sel.sum())
                m[f"uec/bucket/{name}/pass_rate"] = float(pr.rates[sel].mean()) if sel.any() else None
            hard_ids = set(pr.group_ids[buckets == HARD].tolist())
            m["uec/hard_prompts"] = float(len(hard_ids))

        explore: list[Sample] = []
        if cfg.uec.enabled and cfg.uec.explore and hard_ids:
            with self.phase("explore"):
                first = {}
                for smp in samples:
                    if smp.group_id in hard_ids:
                        first.setdefault(smp.group_id, smp)
                explore = self._rollout([x.prompt for x in first.values()], [x.example for x in first.values()],
                                        n=cfg.uec.explore_n, temperature=cfg.uec.explore_temperature,
                                        exploration=True)
                solved = {x.group_id for x in explore if x.correct}
                m["uec/explore_samples"] = float(len(explore))
                m["uec/explore_success"] = len(solved) / max(len(first), 1)
                for x in explore:
                    group_rate.setdefault(x.group_id, 0.0)
        elif cfg.uec.enabled:
            m["uec/explore_success"] = None

        with self.phase("advantages"):
            everything = samples + explore
            rewards, _, gids = self._tensors(everything)
            adv = compute_advantages(cfg.algo.advantage, rewards, gids)
            for smp, a in zip(everything, adv.tolist(), strict=True):
                smp.advantage = a

        with self.phase("retention"):
            retained = self._retain(everything, m)

        with self.phase("accumulate"):
            batch = self._accumulate(retained, m)

        if batch:
            with self.phase("update"):
                m.update(self._update(batch, group_rate))
            with self.phase("replay"):
                m.update(self._replay(batch))
        m["actor/updated"] = float(bool(batch))

        self._rollout_metrics(samples, explore, m)
        m.update(self.timings)
        m["time/step"] = sum(v for k, v in self.timings.items() if k != "time/reward")
        return m

    # ------------------------------------------------------------------ phases
    def _dynamic_sampling(self, samples: list[Sample]) -> tuple[list[Sample], int]:
        """DAPO: keep groups with mixed outcomes; sample more prompts until the batch is full or the cap."""
        cfg = self.cfg
        target = cfg.trainer.prompts_per_step * cfg.rollout.n
        kept: list[Sample] = []
        rounds = 0
        while True:
            rewards, _, gids = self._tensors(samples)
            keep = informative_groups(rewards, gids)
            kept.extend(x for x, k in zip(samples, keep.tolist(), strict=True) if k)
            if len(kept) >= target or rounds >= cfg.algo.max_resample_rounds:
                break
            rounds += 1
            prompts, examples = self.s.next_prompts(cfg.trainer.prompts_per_step)
            samples = self._rollout(prompts, examples, n=cfg.rollout.n, temperature=cfg.rollout.temperature,
                                    exploration=False)
        # Whole groups only, so that group statistics stay as computed.
        out, groups = [], []
        for x in kept:
            if x.group_id not in groups:
                if len(out) >= target:
                    break
                groups.append(x.group_id)
            out.append(x)
        return out, rounds

    def _retain(self, everything: list[Sample], m: dict) -> list[Sample]:
        u = self.cfg.uec
        if not (u.enabled and u.retention):
            m["uec/retained"], m["uec/dropped"] = float(len(everything)), 0.0
            return everything
        adv = torch.tensor([x.advantage for x in everything])
        keep = retention_mask(adv, torch.tensor([x.is_exploration for x in everything]),
                              torch.tensor([x.truncated for x in everything]),
                              regular_min_abs_adv=u.regular_min_abs_adv, explore_rule=u.explore_rule,
                              explore_threshold=u.explore_threshold,
                              drop_truncated_positive=u.drop_truncated_positive)
        retained = [x for x, k in zip(everything, keep.tolist(), strict=True) if k]
        m["uec/retained"], m["uec/dropped"] = float(len(retained)), float(len(everything) - len(retained))
        m["uec/retained_explore"] = float(sum(x.is_exploration for x in retained))
        return retained

    def _accumulate(self, retained: list[Sample], m: dict) -> list[Sample]:
        """UEC's batch buffer: update only once n0 samples wait. Without it every step updates."""
        buf = self.s.batch_buffer
        if buf is None:
            return retained
        m["uec/buffer_dropped"] = float(buf.push(retained))
        batch = buf.pop() if buf.ready() else []
        m["uec/buffer_size"] = float(len(buf))
        return batch

    def _update(self, batch: list[Sample], group_rate: dict[int, float]) -> dict:
        s, cfg = self.s, self.cfg
        # Samples that waited in the buffer were generated by older weights: recompute their old log-probs.
        # AER needs the batch's entropy before its loss: the same no-grad pass measures it.
        on_policy = s.batch_buffer is None
        observe = cfg.algo.entropy_control == "aer"
        if not on_policy or observe:
            for x in batch:
                x.old_logp = None
            ents = fill_logprobs(s.model, batch, pad_token_id=s.pad_token_id,
                                 micro_batch_size=cfg.trainer.micro_batch_size, with_entropy=observe)
            if ents:  # AER's H0 must come from real tokens
                s.control.observe(float(np.mean(ents)))
            on_policy = False
        if s.ref_model is not None:
            fill_logprobs(s.ref_model, [x for x in batch if x.ref_logp is None], pad_token_id=s.pad_token_id,
                          micro_batch_size=cfg.trainer.micro_batch_size, attr="ref_logp")
        out = policy_update(s.train_model, s.optimizer, s.scheduler, batch, settings=s.update_settings,
                            control=s.control, pad_token_id=s.pad_token_id, rng=s.py_rng, generator=s.torch_gen,
                            on_policy=on_policy, pass_rates=group_rate)
        out.update({f"control/{k}": v for k, v in s.control.metrics().items()})
        s.updates += 1
        s.backend.update_weights(s.model)
        return self._check_finite(out)

    def _check_finite(self, out: dict) -> dict:
        if out.get("actor/skipped_steps", 0):
            self.bad_steps += int(out["actor/skipped_steps"])
            print(f"warning: {int(out['actor/skipped_steps'])} optimizer step(s) skipped: non-finite loss or gradient "
                  f"({self.bad_steps} so far, limit trainer.max_bad_steps={self.cfg.trainer.max_bad_steps})")
            if self.bad_steps > self.cfg.trainer.max_bad_steps:
                raise FloatingPointError(f"stopping: {self.bad_steps} non-finite steps > trainer.max_bad_steps; "
                                         "the last good checkpoint is intact")
        return out

    def _replay(self, batch: list[Sample]) -> dict:
        """Stabilizer: store high-|A| samples (with stored old log-probs) and replay them every freq updates."""
        s, r = self.s, self.cfg.uec.replay
        if s.replay_buffer is None:
            return {}
        adv = torch.tensor([x.advantage for x in batch])
        keep = replay_mask(adv, rule=r.rule, threshold=r.threshold)
        chosen = [x for x, k in zip(batch, keep.tolist(), strict=True) if k]
        if any(x.old_logp is None for x in chosen):  # on-policy update had no stored old log-probs: use the current ones
            fill_logprobs(s.model, [x for x in chosen if x.old_logp is None], pad_token_id=s.pad_token_id,
                          micro_batch_size=self.cfg.trainer.micro_batch_size)
        s.replay_buffer.push(chosen)
        out = {"uec/replay_size": float(len(s.replay_buffer)), "uec/replay_pushed": float(len(chosen)),
               "uec/replayed": 0.0}
        if should_replay(s.updates, r.freq) and len(s.replay_buffer) >= s.replay_buffer.n0:
            replay = s.replay_buffer.sample(s.torch_gen)
            m = policy_update(s.train_model, s.optimizer, s.scheduler, replay, settings=s.update_settings,
                              control=s.control, pad_token_id=s.pad_token_id, rng=s.py_rng, generator=s.torch_gen,
                              on_policy=False)
            self._check_finite(m)
            s.backend.update_weights(s.model)
            out["uec/replayed"] = float(len(replay))
            out.update({f"replay/{k.split('/', 1)[1]}": v for k, v in m.items() if k.startswith("actor/")})
        return out

    def _rollout_metrics(self, samples: list[Sample], explore: list[Sample], m: dict) -> None:
        if not samples:
            return
        keys = sorted({k for x in samples for k in x.rewards})
        for k in keys:
            m[f"reward/{k}"] = float(np.mean([x.rewards.get(k, 0.0) for x in samples]))
        m["reward/pass_rate"] = float(np.mean([x.correct for x in samples]))
        lengths = [x.num_tokens for x in samples]
        m["response/length_mean"] = float(np.mean(lengths))
        m["response/length_max"] = float(max(lengths))
        m["response/truncation_rate"] = float(np.mean([x.truncated for x in samples]))
        tokens = sum(lengths) + sum(x.num_tokens for x in explore)
        m["perf/tokens_per_s"] = tokens / max(self.timings.get("time/rollout", 0.0) + self.timings.get("time/explore", 0.0), 1e-9)

    # ------------------------------------------------------------------ the loop
    def validate(self, step: int) -> dict:
        if self.validate_fn is None:
            return {}
        t0 = time.perf_counter()
        self.s.model.eval()
        out = self.validate_fn(self.s.model, step)
        out = {f"val/{k}" if not k.startswith("val/") else k: v for k, v in out.items()}
        out["time/validate"] = time.perf_counter() - t0
        return out

    def train(self) -> dict:
        cfg, s = self.cfg, self.s
        t = cfg.trainer
        history_val: dict[int, dict] = {}
        if s.start_step == 0:
            v = self.validate(0)
            if v:
                history_val[0] = v
                s.logger.log(0, v)
        step = s.start_step
        for step in range(s.start_step + 1, t.steps + 1):
            metrics = self.train_step(step)
            if t.val_every and step % t.val_every == 0 and step < t.steps:
                metrics.update(self.validate(step))
            if step == t.steps:
                v = self.validate(step)
                history_val[step] = v
                metrics.update(v)
            metrics["perf/peak_mem_gb"] = s.peak_memory_gb()
            s.logger.log(step, metrics)
            if (t.save_every and step % t.save_every == 0) or step == t.steps:
                s.save(step, metrics)
        summary = s.finish(step, history_val)
        return summary

