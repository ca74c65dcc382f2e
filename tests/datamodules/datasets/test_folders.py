"""Any folder of images: every image file under it, found by extension, sorted, named by its relative path."""

from pathlib import Path

import pytest

from datamodules.datasets.folders import IMAGE_EXTENSIONS, list_images, scan

IMAGE_NAMES = {"b.png", "a/c.jpg", "a/deep/d.JPEG", "e.webp"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Image files of each supported kind in nested folders (their content is not read), and things that are not."""
    root = tmp_path / "images"
    for name in IMAGE_NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"pixels")
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "folder.png").mkdir()
    return root


def test_list_images_is_recursive_sorted_and_case_insensitive(tree):
    files = list_images(tree)
    assert {path.relative_to(tree).as_posix() for path in files} == IMAGE_NAMES
    assert files == sorted(files)
    assert ".webp" in IMAGE_EXTENSIONS


def test_list_images_accepts_a_string_root(tree):
    assert list_images(str(tree)) == list_images(tree)


def test_list_images_missing_root_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        list_images(tmp_path / "missing")


def test_list_images_without_images_names_the_root(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("nothing here")
    with pytest.raises(ValueError, match=str(tmp_path)):
        list_images(tmp_path)


def test_scan_names_each_sample_by_its_path_without_extension(tree):
    assert {sample.name for sample in scan(tree).samples} == {"b", "a/c", "a/deep/d", "e"}
