"""The GRPO-UEC training loop: one step = named, timed phases, readable top to bottom in `train_step`.

    sample -> rollout -> reward -> [dynamic sampling] -> difficulty -> explore -> advantages -> retention
    -> accumulate -> update -> replay -> log -> validate -> checkpoint

With `uec.enabled = false` the explore / retention / buffer / replay phases are identity and the loop is
plain GRPO (or DAPO, AER, KL-Cov, ... through `algo.*`).

One control flow for every rank (docs/training.md, "Scale-out"): prompts, rollouts and rewards are
computed in per-rank shares and then exchanged, so every rank holds the same global list of samples and
takes every decision (kept groups, hard prompts, retention, buffer, update, replay, skipped steps) with
the same deterministic functions on the same data. A single process is the world-size-1 case of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch

from uec_vlm.algos.advantages import compute_advantages
from uec_vlm.algos.dapo import informative_groups, overlong_penalty
from uec_vlm.algos.noisy_rollout import rollout_fn
from uec_vlm.config import Config
from uec_vlm.progress import bar
from uec_vlm.trainer import distributed as dist_utils
from uec_vlm.trainer.decisions import DecisionLog
from uec_vlm.trainer.exchange import ensure_prompts, exchange_samples, fill_logprobs_global, share_values
from uec_vlm.trainer.samples import Sample, make_samples, score_samples
from uec_vlm.trainer.setup import TrainingSetup
from uec_vlm.trainer.update import policy_update
from uec_vlm.uec.buffers import replay_due
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
        self.world, self.rank = self.s.world, self.s.rank
        self.decisions = DecisionLog(self.s.run_dir.root, self.rank, self.s.start_step)
        self._dec: dict = {}
        self._prompt_index: dict[int, int] = {}  # group id -> index in the step's global example list
        self.step = 0

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[f"time/{name}"] = self.timings.get(f"time/{name}", 0.0) + time.perf_counter() - t0

    def _prepare(self, rows: list[Sample]) -> None:
        ensure_prompts(rows, self.s.prompt_for)

    def _generate(self, examples: list, idxs: list[int], *, n: int, temperature: float,
                  exploration: bool) -> list[Sample]:
        """Collective: n samples for each of examples[idxs] (one new group each), scored; every rank
        generates a contiguous share and all ranks receive all samples, in group-id order."""
        from uec_vlm.rollout import SamplingParams

        s, r = self.s, self.cfg.rollout
        first = s.next_group_id(len(idxs))
        self._prompt_index.update((first + j, i) for j, i in enumerate(idxs))
        mine = dist_utils.block(len(idxs), self.world, self.rank)
        errors: list[str] = []
        local: list[Sample] = []
        local_idx: list[int] = []
        # NoisyRollout perturbs the images of part of each group (main rollouts only, not UEC exploration).
        generate = s.backend.generate if exploration else rollout_fn(s.backend, s.processor, self.cfg, self.step)
        with dist_utils.gathered_for_generation(s.train_model), dist_utils.rank_local(errors), \
                bar(total=len(mine), desc="explore" if exploration else "rollout", unit="prompt") as progress:
            for c in range(mine.start, mine.stop, r.prompts_per_batch):
                js = range(c, min(c + r.prompts_per_batch, mine.stop))
                exs = [examples[idxs[j]] for j in js]
                prompts = [s.prompt_for(ex) for ex in exs]
                # Seeded by the chunk's first global group id: samples do not depend on the rank doing them.
                params = SamplingParams(n=n, temperature=temperature, top_p=r.top_p, top_k=r.top_k,
                                        max_new_tokens=r.max_new_tokens, seed=s.sampling_seed(first + c))
                made = make_samples(prompts, exs, generate(prompts, params), first_group_id=first + c,
                                    temperature=temperature, is_exploration=exploration)
                local.extend(made)
                local_idx.extend(idxs[first_j] for first_j in (x.group_id - first for x in made))
                progress.update(len(js))
            with self.phase("reward"):
                score_samples(local, s.reward_fn, self.cfg.reward.correct_threshold)
                self._shape_rewards(local)
        everyone = exchange_samples(local, local_idx, examples, errors)
        # Counted over the exchanged (global) samples: the same on every rank, so a token budget stops all together.
        s.rollout_tokens += sum(x.num_tokens for x in everyone)
        return everyone

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
        self.timings, self._dec, self._prompt_index = {}, {}, {}
        self.step = step
        s.prompt_cache.clear()
        m: dict[str, float] = {}
        global_prompts = cfg.trainer.prompts_per_step * self.world

        with self.phase("sample"):
            examples = s.next_examples(global_prompts)

        with self.phase("rollout"):
            samples = self._generate(examples, list(range(len(examples))), n=cfg.rollout.n,
                                     temperature=cfg.rollout.temperature, exploration=False)

        if cfg.algo.dynamic_sampling:
            with self.phase("dynamic_sampling"):
                samples, rounds = self._dynamic_sampling(examples, samples, global_prompts)
                m["dapo/resample_rounds"] = rounds
                self._dec["kept_groups"] = sorted({x.group_id for x in samples})

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
            hard_ids = sorted(pr.group_ids[buckets == HARD].tolist())
            m["uec/hard_prompts"] = float(len(hard_ids))

        explore: list[Sample] = []
        if cfg.uec.enabled and cfg.uec.explore and hard_ids:
            with self.phase("explore"):
                self._dec["hard"] = hard_ids
                explore = self._generate(examples, [self._prompt_index[g] for g in hard_ids], n=cfg.uec.explore_n,
                                         temperature=cfg.uec.explore_temperature, exploration=True)
                solved = {x.group_id for x in explore if x.correct}
                m["uec/explore_samples"] = float(len(explore))
                m["uec/explore_success"] = len(solved) / len(hard_ids)
                for x in explore:
                    group_rate.setdefault(x.group_id, 0.0)
        elif cfg.uec.enabled:
            m["uec/explore_success"] = None

        with self.phase("advantages"):
            everything = samples + explore
            rewards, _, gids = self._tensors(everything)
            lengths = torch.tensor([x.num_tokens for x in everything], dtype=torch.float32)
            adv = compute_advantages(cfg.algo.advantage, rewards, gids, lengths=lengths,
                                     **cfg.algo.params.get(cfg.algo.advantage, {}))
            for smp, a in zip(everything, adv.tolist(), strict=True):
                smp.advantage = a
                smp.pass_rate = group_rate[smp.group_id]

        with self.phase("retention"):
            retained = self._retain(everything, m)

        with self.phase("accumulate"):
            batch = self._accumulate(retained, m)

        if batch:
            with self.phase("update"):
                m.update(self._update(batch, step))
        with self.phase("replay"):
            m.update(self._replay(batch, step))
        m["actor/updated"] = float(bool(batch))

        self._rollout_metrics(samples, explore, m)
        m.update(self.timings)
        m["time/step"] = sum(v for k, v in self.timings.items() if k != "time/reward")
        self._dec.update({"updated": bool(batch), "popped": len(batch), "bad_steps": self.bad_steps,
                          "updates": s.updates, "lr": float(s.optimizer.param_groups[0]["lr"])})
        self._dec.update({k.split("/", 1)[1]: m[k] for k in ("uec/retained", "uec/buffer_size", "uec/replay_size",
                                                            "uec/replayed", "actor/optimizer_steps",
                                                            "actor/skipped_steps") if k in m})
        self.decisions.record(step, self._dec)
        return m

    # ------------------------------------------------------------------ phases
    def _dynamic_sampling(self, examples: list, samples: list[Sample], global_prompts: int):
        """DAPO: keep groups with mixed ACCURACY (some correct, some not; never judged by the shaped reward),
        sampling more prompts (whole global batches) until the batch is full or the round cap."""
        cfg = self.cfg
        target = global_prompts * cfg.rollout.n
        kept: list[Sample] = []
        rounds = 0
        while True:
            _, accuracy, gids = self._tensors(samples)
            keep = informative_groups(accuracy, gids)
            kept.extend(x for x, k in zip(samples, keep.tolist(), strict=True) if k)
            if len(kept) >= target or rounds >= cfg.algo.max_resample_rounds:
                break
            rounds += 1
            start = len(examples)
            examples.extend(self.s.next_examples(global_prompts))
            samples = self._generate(examples, list(range(start, len(examples))), n=cfg.rollout.n,
                                     temperature=cfg.rollout.temperature, exploration=False)
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

    def _optimizer_steps(self, n: int) -> int:
        t = self.cfg.trainer
        mini = t.mini_batch_size * self.world
        return t.ppo_epochs * (-(-n // mini) if mini else 1)

    def _update(self, batch: list[Sample], step: int) -> dict:
        s, cfg = self.s, self.cfg
        # Samples that waited in the buffer were generated by older weights: recompute their old log-probs.
        # AER needs the batch's entropy before its loss: the same no-grad pass measures it (globally).
        observe = s.control.needs_observation
        single_pass = self._optimizer_steps(len(batch)) == 1
        on_policy = s.batch_buffer is None and single_pass and not observe
        fill = {"pad_token_id": s.pad_token_id, "micro_batch_size": cfg.trainer.micro_batch_size,
                "prepare": self._prepare}
        if not on_policy:
            for x in batch:
                x.old_logp = None
            h = fill_logprobs_global(s.model, batch, attr="old_logp", with_entropy=observe, **fill)
            if observe and h is not None:  # a controller's H0 must come from real tokens (global mean)
                s.control.observe(h)
        if s.ref_model is not None:
            fill_logprobs_global(s.ref_model, [x for x in batch if x.ref_logp is None], attr="ref_logp", **fill)
        s.scheduler.begin((step - 1) / cfg.trainer.steps, step / cfg.trainer.steps, self._optimizer_steps(len(batch)))
        out = policy_update(s.train_model, s.optimizer, s.scheduler, batch, settings=s.update_settings,
                            control=s.control, pad_token_id=s.pad_token_id, rng=s.py_rng, generator=s.torch_gen,
                            on_policy=on_policy, prepare=self._prepare)
        out.update({f"control/{k}": v for k, v in s.control.metrics().items()})
        s.updates += 1
        s.backend.update_weights(s.model)
        return self._check_finite(out)

    def _check_finite(self, out: dict) -> dict:
        if out.get("actor/skipped_steps", 0):  # decided globally in policy_update: the same on every rank
            self.bad_steps += int(out["actor/skipped_steps"])
            print(f"warning: {int(out['actor/skipped_steps'])} optimizer step(s) skipped: non-finite loss or gradient "
                  f"({self.bad_steps} so far, limit trainer.max_bad_steps={self.cfg.trainer.max_bad_steps})")
            if self.bad_steps > self.cfg.trainer.max_bad_steps:
                raise FloatingPointError(f"stopping: {self.bad_steps} non-finite steps > trainer.max_bad_steps; "
                                         "the last good checkpoint is intact")
        return out

    def _replay(self, batch: list[Sample], step: int) -> dict:
        """Stabilizer: store the just-trained high-|A| samples with their PRE-update old log-probs, and
        replay the buffer on every `freq`-th rollout step (or update, `uec.replay.trigger`)."""
        s, r = self.s, self.cfg.uec.replay
        if s.replay_buffer is None:
            return {}
        out = {"uec/replayed": 0.0}
        if batch:
            adv = torch.tensor([x.advantage for x in batch])
            chosen = [i for i, k in enumerate(replay_mask(adv, rule=r.rule, threshold=r.threshold).tolist()) if k]
            # On-policy updates stored the old log-probs on the rank that trained each sample: share them.
            share_values(batch, "old_logp", [i for i in chosen if batch[i].old_logp is not None])
            s.replay_buffer.push([batch[i] for i in chosen])
            out["uec/replay_pushed"] = float(len(chosen))
        if replay_due(step, s.updates, r.freq, r.trigger, updated=bool(batch)) and len(s.replay_buffer) >= s.replay_buffer.n0:
            # A stateless generator: the subset depends on (seed, step) only, identical on every rank.
            gen = torch.Generator().manual_seed(self.cfg.trainer.seed * 1_000_003 + step)
            replay = s.replay_buffer.sample(gen)
            s.scheduler.begin(step / self.cfg.trainer.steps, step / self.cfg.trainer.steps,
                              self._optimizer_steps(len(replay)))
            m = policy_update(s.train_model, s.optimizer, s.scheduler, replay, settings=s.update_settings,
                              control=s.control, pad_token_id=s.pad_token_id, rng=s.py_rng, generator=s.torch_gen,
                              on_policy=False, prepare=self._prepare)
            self._check_finite(m)
            s.backend.update_weights(s.model)
            out["uec/replayed"] = float(len(replay))
            out.update({f"replay/{k.split('/', 1)[1]}": v for k, v in m.items() if k.startswith("actor/")})
            self._dec["replay_skipped_steps"] = m["actor/skipped_steps"]
        out["uec/replay_size"] = float(len(s.replay_buffer))
        return out

    def _rollout_metrics(self, samples: list[Sample], explore: list[Sample], m: dict) -> None:
        if not samples:
            return
        keys = sorted({k for x in samples for k in x.rewards})
        for k in keys:
            m[f"reward/{k}"] = float(np.mean([x.rewards.get(k, 0.0) for x in samples]))
        m["reward/pass_rate"] = float(np.mean([x.correct for x in samples]))
        m.update(self.s.source_metrics(samples))
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
        """Run the loop. Any exception leaves as the run's FIRST failure by name (distributed.named_failure)."""
        try:
            return self._train()
        except Exception as e:
            failure = dist_utils.named_failure(e)
            if failure is e:
                raise
            raise failure from e

    def _train(self) -> dict:
        cfg, s = self.cfg, self.s
        t = cfg.trainer
        history_val: dict[int, dict] = {}
        if s.start_step == 0:
            v = self.validate(0)
            if v:
                history_val[0] = v
                s.logger.log(0, v)
        step = s.start_step
        if 0 < t.rollout_token_budget <= s.rollout_tokens:
            return s.finish(step, history_val)  # resumed a run that already spent its token budget
        for step in range(s.start_step + 1, t.steps + 1):
            metrics = self.train_step(step)
            metrics["perf/rollout_tokens"] = float(s.rollout_tokens)
            # The token budget (equal-budget comparisons) ends the run like its last step would.
            last = step == t.steps or 0 < t.rollout_token_budget <= s.rollout_tokens
            if t.val_every and step % t.val_every == 0 and not last:
                metrics.update(self.validate(step))
            if last:
                v = self.validate(step)
                history_val[step] = v
                metrics.update(v)
            metrics["perf/peak_mem_gb"] = s.peak_memory_gb()
            s.logger.log(step, metrics)
            if (t.save_every and step % t.save_every == 0) or last:
                s.save(step, metrics)
            if last:
                break
        summary = s.finish(step, history_val)
        return summary
