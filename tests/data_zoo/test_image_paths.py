from data_zoo.records import resolve_image_path


def test_missing_image_is_named_where_its_folder_is(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "images").mkdir()
    bases = [tmp_path / "data", tmp_path, tmp_path / "images"]
    assert resolve_image_path("images/95.jpg", bases) == str(tmp_path / "images" / "95.jpg")
    (tmp_path / "images" / "95.jpg").write_bytes(b"x")
    (tmp_path / "data" / "images").mkdir()
    assert resolve_image_path("images/95.jpg", bases) == str(tmp_path / "images" / "95.jpg")  # the one that exists
    assert resolve_image_path("nowhere/1.png", bases) == str(tmp_path / "data" / "nowhere" / "1.png")
