"""The adapter table of docs/data_zoo.md, generated from the registry so that the doc cannot drift.

`uec-vlm data list --markdown` prints it; `--update docs/data_zoo.md` rewrites the part between the
markers; tests/data_zoo/test_catalogue.py fails when the doc and the registry disagree.
"""

from __future__ import annotations

from pathlib import Path

from data_zoo.example import DataError
from data_zoo.registry import BUILTIN_MODULES, Adapter, adapters

BEGIN, END = "<!-- adapter-table:begin (generated: uec-vlm data list --markdown) -->", "<!-- adapter-table:end -->"
HEADER = ("adapter", "what it is", "use", "licence", "hub id", "on disk (spec `name:split@DIR`)", "answer kinds",
          "splits", "subsets (metadata keys)")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "\\<").replace("\n", " ") or "-"


def catalogue(adapter_modules: tuple[str, ...] | list[str] = ()) -> dict[str, Adapter]:
    """The adapters the table lists: built-ins plus those of the named modules (not every registered one,
    so that installed plugins or adapters registered at run time never change the project's doc)."""
    keep = set(BUILTIN_MODULES) | set(adapter_modules)
    return {n: ad for n, ad in adapters(adapter_modules).items() if ad.load.__module__ in keep}


def markdown_table(table: dict[str, Adapter]) -> str:
    """One row per adapter, sorted by name (a markdown table, no trailing newline)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for name, ad in sorted(table.items()):
        cells = (f"`{name}`", ad.about, ad.role, ad.licence, f"`{ad.hub_id}`" if ad.hub_id else "", ad.needs,
                 ", ".join(ad.kinds), ", ".join(ad.splits) or "any", ", ".join(ad.subsets))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def replace_section(doc: str, table: str, where: str) -> str:
    """`doc` with the text between the markers replaced by `table`."""
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise DataError(f"{where} has no generated adapter table: expected the lines {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def update_doc(path: str | Path, table: str) -> bool:
    """Rewrite the table in the doc at `path`; True when it changed."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    new = replace_section(old, table, str(path))
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old
