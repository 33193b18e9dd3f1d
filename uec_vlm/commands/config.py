"""`uec-vlm config`: print the resolved config of presets/files/overrides, or every field's documentation."""

from __future__ import annotations

import argparse

HELP = "Show the resolved config (presets, files, key=value overrides) or document every field."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="*", help="preset names, YAML files and key.sub=value overrides")
    parser.add_argument("--fields", action="store_true", help="list every config key with its default and help")
    parser.add_argument("--presets", action="store_true", help="list preset names")
    parser.add_argument("--check", action="store_true",
                        help="also resolve every name (registries, template, reward, dataset specs, model path) "
                             "as `train` and `eval` would before loading a model")


def run(args) -> int:
    import yaml

    from uec_vlm.config_loader import field_docs, list_presets, load_config, split_cli_args, to_dict

    if args.presets:
        print("\n".join(list_presets()))
        return 0
    if args.fields:
        for key, text, default in field_docs():
            print(f"{key} = {default!r}\n    {text}")
        return 0
    sources, overrides = split_cli_args(args.sources)
    cfg = load_config(sources, overrides)
    if args.check:
        from uec_vlm.resolve import resolve_names

        resolve_names(cfg, datasets=("data.train", "data.val", "eval.suite"), model=bool(cfg.model.path))
    print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
    return 0
