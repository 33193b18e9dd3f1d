"""Name -> function registries (EasyR1 ``core_algos`` style) so a user plugs in their own estimator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Registry(dict):
    """A dict of named callables with a decorator to add one and a lookup that names the valid choices.

    >>> ADVANTAGES = Registry("advantage")
    >>> @ADVANTAGES.register("mine")
    ... def mine(rewards, group_ids, *, eps=1e-6): ...
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[Any], Any]:
        def deco(fn):
            if name in self and not overwrite:
                raise ValueError(f"{self.kind} {name!r} is already registered (pass overwrite=True to replace it)")
            self[name] = fn
            return fn

        return deco

    def get(self, name: str):  # type: ignore[override]
        if name not in self:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {sorted(self)}")
        return self[name]
