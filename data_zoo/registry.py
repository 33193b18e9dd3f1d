"""Adapter registry and `load_dataset(spec)`: the single entry point from a spec string to canonical Examples.

Adapters register by name with `@register_adapter(name)`; third-party packages expose modules (or adapter
functions) under the entry-point group `uec_vlm.adapters`; a user's own module is named in a config and
passed as `adapter_modules`. An adapter is a function `(split, root, options) -> iterable of Example |
RecordError`; everything after that (policy, placeholder checks, duplicates, empty sets) happens here once.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from data_zoo.example import ANSWER_KINDS, IMAGE_PLACEHOLDER, LETTERS, DataError, Example
from data_zoo.records import RecordError
from data_zoo.spec import Spec, parse_spec

ENTRY_POINT_GROUP = "uec_vlm.adapters"
MAX_QUESTION_CHARS = 1_000_000
"""A question longer than this is a bad record (no prompt budget holds it; tokenizing it costs minutes)."""
BUILTIN_MODULES = ("data_zoo.synthgeo", "data_zoo.adapters.geometry3k", "data_zoo.adapters.mathvista",
                   "data_zoo.adapters.mathverse", "data_zoo.adapters.mathvision", "data_zoo.adapters.wemath",
                   "data_zoo.adapters.r1v", "data_zoo.adapters.r1v_train", "data_zoo.adapters.geo170k",
                   "data_zoo.adapters.mmk12", "data_zoo.adapters.virl39k", "data_zoo.adapters.thinklite",
                   "data_zoo.adapters.dynamath", "data_zoo.adapters.logicvista", "data_zoo.adapters.generic",
                   "data_zoo.canonical")

LoadFn = Callable[[str, "str | None", dict], Iterable["Example | RecordError"]]


@dataclass(frozen=True)
class Adapter:
    """A registered adapter. `needs` says in words what it reads (shown by `uec-vlm data list`).

    The catalogue fields (`about`, `role`, `licence`, `kinds`, `subsets`) feed the adapter table in
    docs/data_zoo.md (`uec-vlm data list --markdown`); they describe, they never change loading.
    """

    name: str
    load: LoadFn
    splits: tuple[str, ...] = ()
    default_split: str | None = None
    hub_id: str | None = None
    needs: str = ""
    about: str = ""
    role: str = ""
    licence: str = ""
    kinds: tuple[str, ...] = ()
    subsets: tuple[str, ...] = ()


_ADAPTERS: dict[str, Adapter] = {}
_discovered = False


def register_adapter(name: str, *, splits: Sequence[str] = (), default_split: str | None = None,
                     hub_id: str | None = None, needs: str = "", role: str = "", licence: str = "",
                     kinds: Sequence[str] = (), subsets: Sequence[str] = ()) -> Callable[[LoadFn], LoadFn]:
    """Decorator registering `load(split, root, options)` as adapter `name` (re-registering replaces it).

    `splits` (if given) are the only accepted splits; `hub_id` makes `name:split` without `@DIR` (and the
    hub id itself) load from the hub; `needs` is the one-line description of the files it reads. For the
    catalogue: `role` (`train`, `eval`, `train/eval`), `licence` as the upstream states it, answer `kinds`
    produced, and the metadata keys usable as `subsets` for per-subset reports. The docstring's first
    line says what the dataset is.
    """
    unknown = [k for k in kinds if k not in ANSWER_KINDS]
    if unknown:
        raise DataError(f"adapter {name!r}: unknown answer kinds {unknown}; known: {list(ANSWER_KINDS)}")

    def deco(fn: LoadFn) -> LoadFn:
        doc_lines = (fn.__doc__ or "").strip().splitlines()
        first = doc_lines[0] if doc_lines else ""
        _ADAPTERS[name] = Adapter(name, fn, tuple(splits), default_split or (splits[0] if splits else None),
                                  hub_id, needs or first, first, role, licence, tuple(kinds), tuple(subsets))
        return fn
    return deco


def _import(module: str, what: str) -> None:
    try:
        importlib.import_module(module)
        return
    except ModuleNotFoundError as e:
        # `python -m` puts the current folder on sys.path, the `uec-vlm` script does not: look there too,
        # so `--adapter-module my_adapters` finds ./my_adapters.py either way.
        if e.name != module.split(".")[0] or "" in sys.path or os.getcwd() in sys.path:
            raise DataError(f"cannot import {what} {module!r}: {type(e).__name__}: {e}") from e
    except Exception as e:  # a user module may fail in any way while importing; name it
        raise DataError(f"cannot import {what} {module!r}: {type(e).__name__}: {e}") from e
    sys.path.append(os.getcwd())
    try:
        importlib.import_module(module)
    except Exception as e:
        raise DataError(f"cannot import {what} {module!r} (also looked in {os.getcwd()}): "
                        f"{type(e).__name__}: {e}") from e


def _discover() -> None:
    """Import built-in adapters and entry points once (lazily, so importing the registry stays cheap)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()  # a module registers on import; a decorated function is registered already
        except Exception as e:  # a broken third-party package must not hide every other adapter
            raise DataError(f"adapter entry point {ep.name!r} ({ep.value}) failed to load: {e}") from e


def adapters(adapter_modules: Iterable[str] = ()) -> dict[str, Adapter]:
    """All registered adapters by name (built-ins, entry points, and the given user modules)."""
    _discover()
    for module in adapter_modules:
        _import(module, "adapter module")
    return dict(_ADAPTERS)


class Dataset(Sequence):
    """A sized, indexable sequence of Examples. `skipped` lists (record id, reason) dropped by on_error=skip."""

    def __init__(self, name: str, examples: list[Example], skipped: list[tuple[str, str]] | None = None):
        self.name = name
        self.examples = examples
        self.skipped = skipped or []

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index):
        return self.examples[index]

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} examples, {len(self.skipped)} skipped)"


def _outside(path: str, roots: Sequence[str]) -> bool:
    """Whether `path` leaves every folder of `roots` (lexically: `..` and absolute paths; symlinks placed
    inside a folder by its owner are followed as usual)."""
    p = os.path.normpath(os.path.abspath(path))
    return not any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def check_example(ex: Example, check_images: bool = False, require_image_files: bool = True,
                  roots: Sequence[str] = (), gold_check: Callable[[Example], None] | None = None) -> str | None:
    """The reason `ex` is not a valid canonical record, or None. Decodes its images only if `check_images`;
    `require_image_files=False` accepts image paths that do not exist (scoring needs annotations only).
    roots: folders image paths must stay inside (empty: no such rule). gold_check: raises ValueError when
    the gold answer cannot be graded as its kind (the trainer passes the graders' check)."""
    if not str(ex.id):
        return "empty id"
    if len(ex.question) > MAX_QUESTION_CHARS:
        return f"question is {len(ex.question)} characters, over the limit of {MAX_QUESTION_CHARS}"
    n_ph = ex.question.count(IMAGE_PLACEHOLDER)
    if n_ph != len(ex.images):
        return f"question has {n_ph} {IMAGE_PLACEHOLDER} placeholders but the record has {len(ex.images)} images"
    if not str(ex.answer).strip():
        return "empty answer"
    if ex.answer_kind not in ANSWER_KINDS:
        return f"answer_kind {ex.answer_kind!r} not in {ANSWER_KINDS}"
    if ex.answer_kind == "choice":
        if ex.gold_letter is None or ex.gold_letter not in LETTERS:
            return f"choice question without a gold letter (got {ex.gold_letter!r})"
        if ex.choices is not None and LETTERS.index(ex.gold_letter) >= len(ex.choices):
            return f"gold letter {ex.gold_letter} beyond {len(ex.choices)} choices"
    if ex.choices is not None:
        problem = _choices_problem(ex.choices)
        if problem:
            return problem
    if gold_check is not None:
        try:
            gold_check(ex)
        except ValueError as e:
            return str(e)
    for ref in ex.images if roots else ():
        if ref.path is not None and ref.data is None and _outside(ref.path, roots):
            return (f"image path {ref.path} is outside the dataset folder {roots[0]}; move the image into it, "
                    "or set data.allow_outside_root=true if you trust this dataset")
    for ref in ex.images if require_image_files else ():
        if ref.path is not None and ref.data is None and not os.path.isfile(ref.path):
            return f"image file not found: {ref.path}"
    if check_images:
        try:
            for ref in ex.images:
                ref.load()
        except DataError as e:
            return str(e)
    return None


def _choices_problem(choices: list) -> str | None:
    if not isinstance(choices, list) or any(not isinstance(c, str) for c in choices):
        return f"choices must be a list of option texts, got {str(choices)[:200]}"
    if len(choices) > len(LETTERS):
        return f"{len(choices)} choices, more than the {len(LETTERS)} option letters"
    return None


# Reason kinds for `uec-vlm data validate`'s summary: the first matching phrase names the kind.
REASON_KINDS = (
    ("image file not found", "missing image file"), ("aspect ratio", "image aspect ratio too extreme"),
    ("image too large", "image too large"), ("no pixels", "corrupt or unreadable image"),
    ("corrupt", "corrupt or unreadable image"), ("unsupported image", "bad image value"),
    ("empty image", "bad image value"), ("outside the dataset folder", "image path outside the dataset folder"),
    ("placeholders", "placeholder / image count mismatch"), ("characters, over the limit", "question too long"),
    ("is not a valid", "gold answer does not parse as its kind"), ("choice", "bad choices or gold letter"),
    ("gold letter", "bad choices or gold letter"), ("answer must be", "bad gold answer value"),
    ("duplicate id", "duplicate id"), ("empty answer", "empty answer"), ("missing", "missing field"),
    ("answer_kind", "unknown answer kind"), ("not UTF-8", "file not UTF-8"), ("invalid JSON", "invalid JSON"),
)


def reason_kind(reason: str) -> str:
    """The kind of a bad-record reason (for per-reason counts); "other" when no phrase matches."""
    return next((kind for phrase, kind in REASON_KINDS if phrase in reason), "other")


def _resolve(spec: Spec, table: dict[str, Adapter]) -> tuple[Adapter, str, str | None, dict]:
    """(adapter, split, root, options) for a parsed spec."""
    if spec.kind == "adapter":
        adapter = table[spec.name]
        split = spec.split or adapter.default_split
        if split is None:
            raise DataError(f"spec {spec.raw!r} needs a split (`{spec.name}:SPLIT`)")
        if adapter.splits and split not in adapter.splits:
            raise DataError(f"unknown split {split!r} for adapter {spec.name!r} (spec {spec.raw!r}); "
                            f"known splits: {list(adapter.splits)}")
        return adapter, split, spec.root, spec.options
    if spec.kind == "hub":
        for adapter in table.values():
            if adapter.hub_id and adapter.hub_id.lower() == spec.hub_id.lower():
                return adapter, spec.split, None, spec.options
        return table["generic"], spec.split, None, dict(spec.options, hub_id=spec.hub_id)
    # A local path: canonical exports load back as themselves, everything else goes through `generic`.
    from data_zoo.canonical import is_canonical

    if is_canonical(Path(spec.root)):
        return table["canonical"], spec.options.get("split", ""), spec.root, spec.options
    return table["generic"], spec.options.get("split", "train"), spec.root, spec.options


def resolve_spec(spec: str, adapter_modules: Iterable[str] = ()) -> tuple[Adapter, str, str | None, dict]:
    """(adapter, split, root, options) for `spec` without reading a record: a bad name fails here, cheaply."""
    table = adapters(adapter_modules)
    return _resolve(parse_spec(spec, frozenset(table)), table)


def dataset_roots(root: str | None, options: dict) -> list[str]:
    """Folders a local dataset's image paths must stay in: the spec's folder (a file's own folder) and an
    explicit `image_root` option. Empty for hub datasets and generated ones (no local paths)."""
    roots = []
    if root:
        base = os.path.abspath(os.path.expanduser(root))
        roots.append(base if os.path.isdir(base) else os.path.dirname(base))
    if options.get("image_root"):
        roots.append(os.path.abspath(os.path.expanduser(options["image_root"])))
    return [os.path.normpath(r) for r in roots]


def load_dataset(spec: str, *, on_error: str = "fail", adapter_modules: Iterable[str] = (),
                 check_images: bool = False, require_image_files: bool = True, allow_outside_root: bool = False,
                 gold_check: Callable[[Example], None] | None = None) -> Dataset:
    """Load the dataset named by `spec` as canonical Examples.

    on_error: "fail" raises DataError at the first bad record (naming record and file); "skip" drops it
    and records (id, reason) in `Dataset.skipped`. check_images decodes every image once (then drops the
    pixels) so that corrupt images are caught at load instead of at use. require_image_files=False loads
    annotations whose image files are absent (for `uec-vlm eval score`, which never looks at images). An empty result is an error.
    Image paths leaving the dataset's folder are bad records unless allow_outside_root. gold_check (e.g.
    the graders' `check_gold`) makes a gold answer that cannot be graded a bad record at load.
    """
    if on_error not in ("fail", "skip"):
        raise DataError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    adapter, split, root, options = resolve_spec(spec, adapter_modules)
    roots = () if allow_outside_root else dataset_roots(root, options)
    examples: list[Example] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in adapter.load(split, root, dict(options)):
        if isinstance(item, RecordError):
            rid, reason = item.record_id, item.reason
        else:
            rid = str(item.id)
            try:
                reason = check_example(item, check_images, require_image_files, roots, gold_check)
            except Exception as e:  # a check must never take the whole load down: the record is named
                reason = f"{type(e).__name__}: {e}"
            if reason is None and rid in seen:
                reason = f"duplicate id {rid!r} within {item.source}/{item.split}"
        if reason is None:
            seen.add(rid)
            examples.append(item)
            continue
        if on_error == "fail":
            raise DataError(f"bad record {rid} in {spec!r}: {reason}")
        skipped.append((rid, reason))
    if not examples:
        detail = f" ({len(skipped)} records skipped as bad, first: {skipped[0]})" if skipped else ""
        raise DataError(f"dataset {spec!r} is empty{detail}")
    return Dataset(spec, examples, skipped)
