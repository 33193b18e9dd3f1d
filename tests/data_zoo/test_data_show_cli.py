import json

from uec_vlm.cli import main


def test_data_show_writes_images_only_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "show", "synthgeo:test?n=5&seed=0", "--n", "2", "--start", "3"]) == 0
    out = capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no ./data_show/ behind the user's back
    assert out.count('"uid": "synthgeo/test/0-') == 2 and '"uid": "synthgeo/test/0-3"' in out
    assert out.rstrip().endswith("images not written (use --out DIR to write them as PNG files)")
    assert main(["data", "show", "synthgeo:test?n=5&seed=0", "--n", "1", "--out", "pngs"]) == 0
    record = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")
    assert record["image_files"] == ["pngs/synthgeo_test_0-0_0.png"] and (tmp_path / "pngs" / "synthgeo_test_0-0_0.png").is_file()
