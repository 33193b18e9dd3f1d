"""Commands shown in README.md and docs/*.md, as the doc-commands test sees them.

A command is a line of a fenced bash/sh/console (or unlabelled) block, backslash continuations joined, or
an inline code span, that starts with one of PROGRAMS. A `# comment` and a synopsis description (text after
three or more spaces) are cut; whitespace is normalised. Python and YAML blocks are not commands, nor are
error messages as the CLI prints them (`uec-vlm config: invalid config: ...`).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ("uec-vlm ", "make ", "torchrun ", "python ", "python3 ", "pip ", "huggingface-cli ", "tensorboard ")
FENCE = re.compile(r"```([a-z]*)\n(.*?)```", re.S)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _clean(line: str) -> str:
    line = re.split(r"\s#\s|\s{3,}", line.strip())[0]
    return " ".join(line.split())


def doc_commands() -> dict[str, list[str]]:
    """{command: [files that show it]} in first-seen order."""
    found: dict[str, list[str]] = {}

    def add(cmd: str, where: str) -> None:
        if re.match(r"uec-vlm [\w-]+: ", cmd):  # an error message as the CLI prints it, not a command
            return
        if cmd.startswith(PROGRAMS) or cmd in ("uec-vlm", "make"):
            found.setdefault(cmd, [])
            if where not in found[cmd]:
                found[cmd].append(where)

    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        for lang, body in FENCE.findall(text):
            if lang in ("", "bash", "sh", "console"):
                for line in re.sub(r"\\\n\s*", " ", body).splitlines():
                    add(_clean(line), where)
        for span in re.findall(r"`([^`\n]+)`", FENCE.sub("", text)):
            add(_clean(span), where)
    return found


def fenced_blocks(path: Path, lang: str) -> list[str]:
    return [body for block_lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if block_lang == lang]


if __name__ == "__main__":
    for cmd, files in doc_commands().items():
        print(f"{cmd!r}: {files}")
