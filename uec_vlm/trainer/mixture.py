"""Training mixtures: several dataset specs drawn with weights, reproducibly, resumably, rank-sharded.

`data.train=[geometry3k:train@/d/geo3k, geoqa_r1v:train@/d/geoqa]` with `data.train_weights=[1, 2]` draws a
source for every global draw index i from a counter-based stream (numpy PCG64 seeded by `(seed, i // 4096)`),
then the next item of that source's epoch-shuffled order. Every rank computes the same global sequence
from the same seed and keeps indices i with i % world == rank, so ranks get disjoint shares and the run
is the same for any batch split. The state is the number of items a rank has taken: resuming replays the
source choices (cheap, vectorised) and continues exactly where the checkpoint stopped.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

BLOCK = 4096


def train_specs(train: str | Sequence[str], weights: Sequence[float]) -> list[tuple[str, float]]:
    """(spec, weight) pairs from `data.train` / `data.train_weights`; empty weights = proportional to size
    (weight 0.0 here, resolved once the sizes are known). Raises ValueError naming the config key."""
    specs = [train] if isinstance(train, str) else list(train)
    if not specs or any(not isinstance(s, str) or not s.strip() for s in specs):
        raise ValueError(f"data.train must be a dataset spec or a non-empty list of specs, got {train!r}")
    dup = sorted({s for s in specs if specs.count(s) > 1})
    if dup:
        raise ValueError(f"data.train lists {dup} more than once: give one spec a larger data.train_weights entry")
    if not weights:
        return [(s, 0.0) for s in specs]
    if len(weights) != len(specs):
        raise ValueError(f"data.train_weights has {len(weights)} entries but data.train has {len(specs)} specs")
    bad = [w for w in weights if not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0)]
    if bad:
        raise ValueError(f"data.train_weights must be positive numbers, got {list(weights)}")
    return [(s, float(w)) for s, w in zip(specs, weights, strict=True)]


def source_labels(datasets: Sequence) -> list[str]:
    """One short label per source for metric names: `source/split` of its first record, made unique."""
    labels: list[str] = []
    for ds in datasets:
        first = ds[0]
        base = f"{first.source}/{first.split}"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}#{k}", k + 1
        labels.append(label)
    return labels


class MixtureStream:
    """Weighted draws over several datasets; `next(k)` returns this rank's next k examples."""

    def __init__(self, datasets: Sequence, weights: Sequence[float] | None, *, seed: int, rank: int = 0,
                 world: int = 1, shuffle: bool = True):
        if not datasets or any(len(ds) == 0 for ds in datasets):
            raise ValueError("a training mixture needs at least one non-empty dataset")
        self.datasets, self.seed, self.rank, self.world, self.shuffle = list(datasets), seed, rank, world, shuffle
        self.labels = source_labels(self.datasets)
        sizes = [len(ds) for ds in self.datasets]
        w = [float(x) for x in weights] if weights and any(weights) else [float(n) for n in sizes]
        self.weights = w
        self.probs = np.asarray(w) / sum(w)
        self._cum = np.cumsum(self.probs)
        self._cum[-1] = 1.0  # float rounding must never send u to a source past the last one
        self._label_by_uid = {ex.uid: i for i, ds in enumerate(self.datasets) for ex in ds}
        self._orders: dict[tuple[int, int], list[int]] = {}
        self._reset(0)

    # -------------------------------------------------------------- the global sequence
    def _block(self, b: int) -> np.ndarray:
        """Sources of global draws b*BLOCK ... (b+1)*BLOCK-1 (pure function of seed and b)."""
        u = np.random.default_rng([self.seed, b]).random(BLOCK)
        return np.searchsorted(self._cum, u, side="right").astype(np.int64)

    def _reset(self, taken: int) -> None:
        """Position this rank after `taken` items: replay the source counts of all earlier global draws."""
        self.taken = taken
        nxt = taken * self.world + self.rank  # this rank's next global index
        self._index = 0
        self._counts = np.zeros(len(self.datasets), dtype=np.int64)  # draws per source at global index _index
        self.drawn = np.zeros(len(self.datasets), dtype=np.int64)  # items this rank took per source
        full = nxt // BLOCK
        for b in range(full):
            src = self._block(b)
            self._counts += np.bincount(src, minlength=len(self.datasets))
            self.drawn += np.bincount(src[(np.arange(BLOCK) + b * BLOCK) % self.world == self.rank],
                                      minlength=len(self.datasets))
        self._index = full * BLOCK
        self._cur_block, self._cur = full, self._block(full)
        while self._index < nxt:
            s = int(self._cur[self._index - full * BLOCK])
            self._counts[s] += 1
            if self._index % self.world == self.rank:
                self.drawn[s] += 1
            self._index += 1

    def _order(self, s: int, epoch: int) -> list[int]:
        key = (s, epoch)
        if key not in self._orders:
            order = list(range(len(self.datasets[s])))
            if self.shuffle:
                random.Random(self.seed * 100_003 + 7919 * s + epoch).shuffle(order)
            self._orders = {k: v for k, v in self._orders.items() if k[0] != s}  # keep one epoch per source
            self._orders[key] = order
        return self._orders[key]

    def next(self, k: int) -> list:
        out = []
        while len(out) < k:
            b = self._index // BLOCK
            if b != self._cur_block:
                self._cur_block, self._cur = b, self._block(b)
            s = int(self._cur[self._index - b * BLOCK])
            c = int(self._counts[s])
            self._counts[s] += 1
            mine = self._index % self.world == self.rank
            self._index += 1
            if mine:
                n = len(self.datasets[s])
                out.append(self.datasets[s][self._order(s, c // n)[c % n]])
                self.drawn[s] += 1
                self.taken += 1
        return out

    # -------------------------------------------------------------- logging and state
    def label_of(self, example) -> str | None:
        i = self._label_by_uid.get(example.uid)
        return None if i is None else self.labels[i]

    def state_dict(self) -> dict:
        return {"kind": "mixture", "taken": self.taken, "labels": list(self.labels),
                "sizes": [len(ds) for ds in self.datasets], "weights": list(self.weights)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "mixture":
            raise ValueError("the checkpoint was written by a single-dataset run but data.train is now a mixture")
        now = {"labels": list(self.labels), "sizes": [len(ds) for ds in self.datasets], "weights": list(self.weights)}
        changed = {k: (state.get(k), v) for k, v in now.items() if state.get(k) != v}
        if changed:
            raise ValueError(f"data.train / data.train_weights changed since the checkpoint (was -> now): {changed}")
        self._reset(int(state["taken"]))


def source_metrics(stream: MixtureStream, samples: Sequence) -> dict[str, float]:
    """Per-source rollout figures of one step: prompts (groups), pass rate, and items drawn so far."""
    groups: dict[str, set[int]] = {}
    correct: dict[str, list[float]] = {}
    for x in samples:
        label = stream.label_of(x.example) or "other"
        groups.setdefault(label, set()).add(x.group_id)
        correct.setdefault(label, []).append(float(x.correct))
    out: dict[str, float] = {}
    for i, label in enumerate(stream.labels):
        out[f"data/{label}/drawn_total"] = float(stream.drawn[i])
        if label in groups:
            out[f"data/{label}/prompts"] = float(len(groups[label]))
            out[f"data/{label}/pass_rate"] = float(np.mean(correct[label]))
    return out
