"""Epoch-shuffled prompt order with a resumable position: resume never replays or skips data."""

from __future__ import annotations

import random


class PromptStream:
    """Yields examples in a seeded order that is reshuffled each epoch; state = (epoch, position)."""

    def __init__(self, dataset, *, seed: int, shuffle: bool = True):
        if len(dataset) == 0:
            raise ValueError(f"dataset {getattr(dataset, 'name', '?')} has no usable examples")
        self.dataset, self.seed, self.shuffle = dataset, seed, shuffle
        self.epoch, self.position = 0, 0
        self._order = self._make_order()

    def _make_order(self) -> list[int]:
        order = list(range(len(self.dataset)))
        if self.shuffle:
            random.Random(self.seed * 100_003 + self.epoch).shuffle(order)
        return order

    def next(self, k: int) -> list:
        out = []
        while len(out) < k:
            if self.position >= len(self._order):
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._make_order()
            out.append(self.dataset[self._order[self.position]])
            self.position += 1
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") == "mixture":
            raise ValueError("the checkpoint was written by a mixture run but data.train is now a single spec")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._make_order()
