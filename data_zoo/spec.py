"""Dataset specs: the one string that names a dataset everywhere (configs, CLI, evals).

    synthgeo:train?n=200&seed=0        adapter `synthgeo`, split `train`, options n, seed
    geometry3k:test@/data/geo3k        adapter on a local copy in its upstream layout
    mathvista:testmini                 adapter on its hub copy (online only)
    hiyouga/geometry3k@train           a hub id and split
    /data/mine.jsonl?question=q        a local parquet/jsonl/json file, image folder or save_to_disk folder
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from data_zoo.example import DataError

_ADAPTER_RE = re.compile(r"^(?P<name>[A-Za-z_][\w-]*)(?::(?P<split>[\w.-]+))?(?:@(?P<root>.+))?$")
_HUB_RE = re.compile(r"^(?P<hub>[\w.-]+/[\w.-]+)(?:@(?P<split>[\w.-]+))?$")


@dataclass(frozen=True)
class Spec:
    """A parsed spec. `kind` says which form it was: a registered adapter, a local path, or a hub id."""

    raw: str
    kind: Literal["adapter", "path", "hub"]
    name: str | None = None
    split: str | None = None
    root: str | None = None
    hub_id: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def parse_spec(spec: str, adapter_names: set[str] | frozenset[str]) -> Spec:
    """Parse `spec` given the registered adapter names. Raises DataError for a spec that names nothing."""
    if not isinstance(spec, str) or not spec.strip():
        raise DataError(f"empty dataset spec: {spec!r}")
    body, _, query = spec.strip().partition("?")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as e:
        raise DataError(f"bad options {query!r} in dataset spec {spec!r}: {e}") from e
    m = _ADAPTER_RE.match(body)
    if m and m["name"] in adapter_names:
        root = os.path.expanduser(m["root"]) if m["root"] else None
        return Spec(spec, "adapter", name=m["name"], split=m["split"], root=root, options=options)
    if os.path.exists(os.path.expanduser(body)):
        return Spec(spec, "path", root=os.path.expanduser(body), options=options)
    if m and (m["split"] or m["root"]):
        raise DataError(f"unknown adapter {m['name']!r} in spec {spec!r}; registered: {sorted(adapter_names)}")
    h = _HUB_RE.match(body)
    if h and os.path.splitext(body)[1] not in (".parquet", ".jsonl", ".json"):
        return Spec(spec, "hub", hub_id=h["hub"], split=h["split"] or "train", options=options)
    if m:
        raise DataError(f"unknown adapter {m['name']!r} in spec {spec!r}; registered: {sorted(adapter_names)}")
    raise DataError(f"dataset spec {spec!r} is neither a registered adapter, an existing path, nor a hub id")
