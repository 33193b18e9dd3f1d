"""A study config (YAML) -> `StudySpec`, and the ordinary run configs it expands to.

A run's config is built as `load_config(sources, overrides)` with

    sources   = base + the method's preset names / YAML files
    overrides = common settings (flattened) + the method's key=value items + the run's own keys

so presets come first and every shared setting (`common`) wins over them: a preset such as `grpo` sets
`rollout.n`, and a study that wants n = 8 for every method says so once in `common`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from uec_vlm.config import ConfigError
from uec_vlm.config_loader import _deep_merge, _override_to_dict, load_config, split_cli_args

WARM_STARTS = ("shared", "per_seed", "none")
KNOWN_KEYS = {"name", "output_dir", "report_dir", "base", "common", "methods", "seeds", "dataset", "baseline",
              "model", "warm_start", "workers", "devices", "difficulty_key", "n_boot", "notes"}
TINY_KEYS = {"arch", "hidden_size", "num_layers", "num_heads", "vision_depth", "vocab_size", "seed"}


@dataclass(frozen=True)
class RunPlan:
    """One (method, seed) training run: its folder and the sources/overrides of its config."""

    method: str
    seed: int
    run_dir: Path
    sources: tuple[str, ...]
    overrides: tuple[str, ...]

    @property
    def eval_dir(self) -> Path:
        return self.run_dir / "eval"

    @property
    def key(self) -> str:
        return f"{self.method}/seed{self.seed}"


@dataclass
class StudySpec:
    name: str
    output_dir: Path
    report_dir: Path
    base: list[str]
    common: dict
    methods: dict[str, list[str]]
    seeds: list[int]
    dataset: str
    baseline: str
    model: dict
    warm_start: str = "shared"
    workers: int = 1
    devices: list[str] = field(default_factory=list)
    difficulty_key: str = "difficulty"
    n_boot: int = 10_000
    notes: str = ""
    source: str = "<dict>"

    def plans(self, model_path: str | dict[int, str]) -> list[RunPlan]:
        """Every (method, seed) run, methods in config order. model_path: one warm start, or one per seed."""
        out = []
        for method in self.methods:
            for seed in self.seeds:
                path = model_path[seed] if isinstance(model_path, dict) else model_path
                out.append(self.plan(method, seed, path))
        return out

    def run_dir(self, method: str, seed: int) -> Path:
        return self.output_dir / "runs" / method / f"seed{seed}"

    def plan(self, method: str, seed: int, model_path: str) -> RunPlan:
        run_dir = self.run_dir(method, seed)
        sources, method_overrides = split_cli_args(self.methods[method])
        # eval.seed = seed: every method at a given seed draws the same per-problem sampling seeds
        own = flatten_overrides({"model": {"path": str(model_path)}, "data": {"train": self.dataset},
                                 "trainer": {"seed": seed, "output_dir": str(run_dir), "resume": "auto"},
                                 "eval": {"output_dir": str(run_dir / "eval"), "seed": seed}})
        return RunPlan(method, seed, run_dir, (*self.base, *sources),
                       (*flatten_overrides(self.common), *method_overrides, *own))

    def shared_config_args(self, model_path: str, out: Path, seed: int) -> tuple[list[str], list[str]]:
        """Sources/overrides of a warm-start (SFT) config: base + common, no method."""
        own = {"model": {"path": str(model_path)}, "data": {"train": self.dataset},
               "trainer": {"seed": seed, "output_dir": str(out)}}
        return list(self.base), [*flatten_overrides(self.common), *flatten_overrides(own)]


def flatten_overrides(tree: dict, prefix: str = "") -> list[str]:
    """{'a': {'b': 1}, 'c': ['x?n=1']} -> ['a.b=1', 'c=["x?n=1"]'] (JSON values: valid YAML, specs quoted)."""
    out = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(flatten_overrides(value, f"{dotted}."))
        else:
            out.append(f"{dotted}={json.dumps(value)}")
    return out


def _require(cond: bool, source: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"study {source}: {message}")


def parse_study(data: dict, source: str = "<dict>") -> StudySpec:
    """Check a study mapping and build the spec. Raises ConfigError naming the file and the key."""
    _require(isinstance(data, dict), source, "top level must be a mapping")
    unknown = sorted(set(data) - KNOWN_KEYS)
    _require(not unknown, source, f"unknown key(s) {unknown}; allowed: {sorted(KNOWN_KEYS)}")
    for key in ("methods", "seeds", "dataset", "baseline", "model"):
        _require(key in data, source, f"missing required key {key!r}")
    methods = data["methods"]
    _require(isinstance(methods, dict) and methods, source, "methods must map a name to a list of presets/overrides")
    for name, items in methods.items():
        ok = isinstance(items, list) and items and all(isinstance(i, str) for i in items)
        _require(ok, source, f"methods.{name} must be a non-empty list of preset names / files / key=value strings")
        _require("/" not in str(name), source, f"method name {name!r} must not contain '/'")
    seeds = data["seeds"]
    ok = isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    _require(ok, source, f"seeds must be a non-empty list of integers (got {seeds!r})")
    _require(len(set(seeds)) == len(seeds), source, f"seeds has duplicates: {seeds}")
    _require(data["baseline"] in methods, source, f"baseline {data['baseline']!r} is not one of methods {list(methods)}")
    model = data["model"]
    _require(isinstance(model, dict) and (("path" in model) != ("tiny" in model)), source,
             "model needs exactly one of `path: CHECKPOINT` or `tiny: {arch: ..., hidden_size: ...}`")
    if "tiny" in model:
        tiny = model["tiny"]
        _require(isinstance(tiny, dict) and not set(tiny) - TINY_KEYS, source,
                 f"model.tiny must be a mapping with keys among {sorted(TINY_KEYS)} (got {tiny!r})")
    warm = data.get("warm_start", "shared")
    _require(warm in WARM_STARTS, source, f"warm_start {warm!r}: choose one of {WARM_STARTS}")
    workers = data.get("workers", 1)
    _require(isinstance(workers, int) and workers >= 1, source, f"workers must be an integer >= 1 (got {workers!r})")
    common = data.get("common") or {}
    _require(isinstance(common, dict), source, "common must be a mapping of config sections")
    base = data.get("base") or []
    base = [base] if isinstance(base, str) else base
    output_dir = Path(data.get("output_dir") or f"runs/study/{data.get('name', 'study')}")
    spec = StudySpec(
        name=str(data.get("name", output_dir.name)), output_dir=output_dir,
        report_dir=Path(data.get("report_dir") or output_dir / "report"), base=list(base), common=common,
        methods={str(k): list(v) for k, v in methods.items()}, seeds=list(seeds), dataset=str(data["dataset"]),
        baseline=str(data["baseline"]), model=dict(model), warm_start=warm, workers=workers,
        devices=[str(d) for d in data.get("devices") or []], difficulty_key=str(data.get("difficulty_key", "difficulty")),
        n_boot=int(data.get("n_boot", 10_000)), notes=str(data.get("notes") or ""), source=source)
    for method in spec.methods:  # fail now, naming the method, rather than hours into the study
        plan = spec.plan(method, spec.seeds[0], "MODEL")
        try:
            load_config(plan.sources, plan.overrides)
        except ConfigError as e:
            raise ConfigError(f"study {source}: method {method!r}: {e}") from e
    return spec


def load_study(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> StudySpec:
    """Read a study YAML (a file, or a name under configs/study/) and apply `key=value` overrides to it."""
    from uec_vlm.config_loader import CONFIG_DIR

    p, source = Path(path), str(path)  # a name stays a name in the report's "regenerate" line
    if not p.is_file() and (CONFIG_DIR / "study" / f"{path}.yaml").is_file():
        p = CONFIG_DIR / "study" / f"{path}.yaml"
    else:
        source = str(p)
    if not p.is_file():
        raise ConfigError(f"study config {str(path)!r} not found (a YAML file, or a name in {CONFIG_DIR / 'study'})")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"study {p}: not valid YAML: {e}") from e
    for item in overrides:
        _deep_merge(data, _override_to_dict(item))
    return parse_study(data, source)
