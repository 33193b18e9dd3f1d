"""One place for the KV-cache argument name: transformers >= 5.2x calls it `cache` (and warns, once per
process, about `past_key_values`); earlier 5.x releases only know `past_key_values`."""

from __future__ import annotations

import functools
import inspect


@functools.cache
def _cache_arg(forward_owner: type) -> str:
    params = inspect.signature(forward_owner.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cache_kwargs(model, cache) -> dict:
    """`{name: cache}` for `model(...)` with the argument name this transformers version expects."""
    return {_cache_arg(type(model)): cache}


def output_cache(out):
    """The cache a forward returned (`out.cache`, or `out.past_key_values` on older versions)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values
