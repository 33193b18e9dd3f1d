"""docs/data_zoo.md's adapter table is generated from the registry: this test fails when they disagree."""

import argparse
from pathlib import Path

import pytest

from data_zoo.catalogue import BEGIN, END, catalogue, markdown_table, replace_section
from data_zoo.example import DataError

DOC = Path(__file__).resolve().parents[2] / "docs" / "data_zoo.md"


def test_doc_table_equals_registry():
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert section == markdown_table(catalogue()), \
        "docs/data_zoo.md is stale: run `uec-vlm data list --markdown --update docs/data_zoo.md`"


def test_table_rows_and_escaping():
    table = markdown_table(catalogue()).splitlines()
    names = [row.split(" | ")[0].strip("| `") for row in table[2:]]
    assert names == sorted(catalogue()) and len(table) == len(catalogue()) + 2
    virl = next(r for r in table if r.startswith("| `virl39k`"))
    assert "| train | MIT (card) | `TIGER-Lab/ViRL39K` |" in virl and virl.endswith("| train | category, source |")
    assert "\\<answer>" in next(r for r in table if r.startswith("| `geoqa_r1v`"))
    with pytest.raises(DataError, match="no generated adapter table"):
        replace_section("# doc without markers\n", "|t|", "x.md")
    assert replace_section(f"a\n{BEGIN}\nold\n{END}\nb", "|t|", "x.md") == f"a\n{BEGIN}\n|t|\n{END}\nb"


def test_cli_prints_and_updates_the_table(tmp_path, capsys):
    from uec_vlm.commands import data as data_cmd

    def cli(*argv):
        parser = argparse.ArgumentParser()
        data_cmd.add_arguments(parser)
        return data_cmd.run(parser.parse_args(list(argv)))

    assert cli("list", "--markdown") == 0
    assert capsys.readouterr().out == markdown_table(catalogue()) + "\n"
    doc = tmp_path / "d.md"
    doc.write_text(f"# t\n{BEGIN}\nstale\n{END}\nafter\n")
    assert cli("list", "--markdown", "--update", str(doc)) == 0 and capsys.readouterr().out.endswith("updated\n")
    assert doc.read_text() == f"# t\n{BEGIN}\n{markdown_table(catalogue())}\n{END}\nafter\n"
    assert cli("list", "--markdown", "--update", str(doc)) == 0 and "already up to date" in capsys.readouterr().out
