"""The labels.csv manifest: rows become labeled images; every fault is named with its file, line and column."""

import pytest

from datamodules.manifest import LabeledImage, ManifestError, read_manifest, write_manifest

HEADER = "path,azimuth,elevation,tilt"


def test_manifest_rows_become_labeled_images_relative_to_the_csv(write_collection, tmp_path):
    items = read_manifest(write_collection(tmp_path / "set", count=3))
    assert items == [
        LabeledImage(tmp_path / "set" / "images" / f"{index}.png", 10.0 * index, -2.5 * index, float(index))
        for index in range(3)
    ]
    assert items[2].angles == (20.0, -5.0, 2.0)


def test_extra_columns_and_column_order_are_accepted(write_png, tmp_path):
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "labels.csv"
    manifest.write_text("tilt,note,path,elevation,azimuth\n3,x,a.png,2,1\n")
    assert read_manifest(manifest)[0].angles == (1.0, 2.0, 3.0)


def test_a_missing_column_is_named(write_collection, tmp_path):
    manifest = write_collection(tmp_path, header="path,azimuth,elevation,roll")
    with pytest.raises(ManifestError) as error:
        read_manifest(manifest)
    assert str(manifest) in str(error.value) and "missing column(s) tilt" in str(error.value)


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf"])
def test_a_bad_number_is_named_with_its_line_and_column(write_collection, tmp_path, value):
    manifest = write_collection(tmp_path, count=3)
    lines = manifest.read_text().splitlines()
    lines[2] = f"images/1.png,5,{value},0"
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=r"labels.csv line 3: column 'elevation' is not a finite number"):
        read_manifest(manifest)


def test_a_short_row_is_a_bad_number(write_collection, tmp_path):
    manifest = write_collection(tmp_path, count=2)
    manifest.write_text(manifest.read_text() + "images/0.png,1,2\n")
    with pytest.raises(ManifestError, match="line 4: column 'tilt'"):
        read_manifest(manifest)


def test_a_missing_image_file_is_named(write_collection, tmp_path):
    manifest = write_collection(tmp_path, count=3)
    (tmp_path / "images" / "1.png").unlink()
    with pytest.raises(ManifestError, match=r"line 3: image not found: .*images/1.png"):
        read_manifest(manifest)


def test_a_missing_manifest_and_an_empty_one_are_named(tmp_path):
    with pytest.raises(ManifestError, match="absent.csv: manifest not found"):
        read_manifest(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER + "\n")
    with pytest.raises(ManifestError, match="empty.csv: no rows"):
        read_manifest(empty)


def test_written_rows_read_back_rounded_to_four_decimals(write_png, tmp_path):
    write_png(tmp_path / "images" / "a.png")
    write_manifest(tmp_path / "labels.csv", [("images/a.png", 12.345678, -0.00001, 90.0)])
    assert tmp_path.joinpath("labels.csv").read_text().splitlines() == [HEADER, "images/a.png,12.3457,0.0000,90.0000"]
    assert read_manifest(tmp_path / "labels.csv")[0].angles == (12.3457, 0.0, 90.0)
