"""YAML files, preset names and `key.sub=value` overrides -> a validated `Config`.

Sources merge left to right: `uec-vlm train uec configs/data/geo3k.yaml trainer.steps=10` applies the
`uec` preset, then the file, then the override. Unknown keys and wrong types are rejected naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from uec_vlm.config import Config, ConfigError, validate

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
PRESET_DIRS = ("algo", "")


def preset_path(name: str) -> Path | None:
    """`uec` -> configs/algo/uec.yaml; `quickstart` -> configs/quickstart.yaml; None if not found."""
    for sub in PRESET_DIRS:
        p = CONFIG_DIR / sub / f"{name}.yaml"
        if p.is_file():
            return p
    return None


def list_presets() -> list[str]:
    return sorted({p.stem for sub in PRESET_DIRS for p in (CONFIG_DIR / sub).glob("*.yaml")})


def _read_source(src: str, chain: tuple[Path, ...] = ()) -> dict:
    """One preset or YAML file with its `include:`s merged in; `chain` is the include path that led here."""
    path = Path(src)
    if not path.is_file():
        found = preset_path(src)
        if found is None:
            where = f" (included by {chain[-1]})" if chain else ""
            raise ConfigError(f"config {src!r}{where} is neither a file nor a preset; presets: {', '.join(list_presets())}")
        path = found
    if path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path.resolve()))
        raise ConfigError(f"{path}: include cycle {cycle}; remove one of these `include:` entries")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file ({e})") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(data).__name__}")
    includes = data.pop("include", [])
    merged: dict = {}
    if not isinstance(includes, (str, list)):
        raise ConfigError(f"{path}: `include` must be a file/preset name or a list of them, got {includes!r}")
    for inc in [includes] if isinstance(includes, str) else includes:
        if not isinstance(inc, str):
            raise ConfigError(f"{path}: `include` entries must be file/preset names, got {inc!r}")
        inc_path = (path.parent / inc) if (path.parent / inc).is_file() else inc
        _deep_merge(merged, _read_source(str(inc_path), (*chain, path.resolve())))
    _deep_merge(merged, data)
    return merged


def _deep_merge(dst: dict, src: dict) -> dict:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def _override_to_dict(item: str) -> dict:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        # Dataset specs such as `[synthgeo:test?n=100]` are not valid YAML flow items: split them plainly.
        text = raw.strip()
        value = [v.strip() for v in text[1:-1].split(",") if v.strip()] if text[:1] + text[-1:] == "[]" else text
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def _type_name(tp) -> str:
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _coerce(value: Any, tp, key: str):
    """Check `value` against the annotation `tp`, converting int->float and building nested dataclasses."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: {value!r} is not one of {[_type_name(a) for a in args]}")
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(f"{key}: {value!r} not allowed; choose one of {', '.join(map(repr, get_args(tp)))}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return _build(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item_tp,) = get_args(tp)
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        k_tp, v_tp = get_args(tp)
        return {_coerce(k, k_tp, key): _coerce(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads `1e-6` (no dot) as a string; accept any number spelling.
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected float, got {value!r} (str)") from None
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tp in (int, float, bool, str):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r} ({type(value).__name__})")
        return value
    return value


def _build(cls, data: dict, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = {fl.name for fl in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(f"unknown config key(s) {', '.join(where + u for u in unknown)}; "
                          f"allowed in {prefix or 'the top level'}: {', '.join(sorted(names))}")
    base = cls()
    kwargs = {}
    for name in names:
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], key)
        else:
            kwargs[name] = getattr(base, name)
    return cls(**kwargs)


def load_config(sources: list[str] | tuple[str, ...] = (), overrides: list[str] | tuple[str, ...] = (),
                *, check: bool = True) -> Config:
    """Merge preset names / YAML files, then `key=value` overrides, into a validated Config."""
    merged: dict = {}
    for src in sources:
        _deep_merge(merged, _read_source(src))
    for item in overrides:
        _deep_merge(merged, _override_to_dict(item))
    cfg = _build(Config, merged)
    return validate(cfg) if check else cfg


def split_cli_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Separate config sources (paths/presets) from `key=value` overrides."""
    sources = [a for a in args if "=" not in a]
    overrides = [a for a in args if "=" in a]
    return sources, overrides


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def save_config(cfg, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return path


def field_docs(cls=Config, prefix: str = "") -> list[tuple[str, str, Any]]:
    """(key, help, default) for every leaf field: what `uec-vlm config --fields` prints."""
    out = []
    for fl in dataclasses.fields(cls):
        key = f"{prefix}.{fl.name}" if prefix else fl.name
        tp = typing.get_type_hints(cls)[fl.name]
        if dataclasses.is_dataclass(tp):
            out.extend(field_docs(tp, key))
        else:
            default = fl.default if fl.default is not dataclasses.MISSING else fl.default_factory()
            out.append((key, fl.metadata.get("help", ""), default))
    return out
