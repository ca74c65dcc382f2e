"""ensure_rendered writes a labelled collection once, reuses it, and keys it by its settings."""

import csv
import math

import pytest
from PIL import Image

from datamodules.manifest import ManifestError
from ssv.synthetic import collection, ensure_rendered

TINY = dict(num_train=6, num_test=3, image_size=32, progress=False)


def _rows(split_dir):
    with open(split_dir / "labels.csv", newline="") as file:
        return list(csv.reader(file))


def test_writes_labelled_splits(tmp_path, capsys):
    path = ensure_rendered("cars", cache_dir=tmp_path, ranges=(1.0, 0.3, 0.1), **TINY)
    assert path.parent == tmp_path and path.name.startswith("cars-")
    assert "9 cars images" in capsys.readouterr().out
    for split, count in (("train", 6), ("test", 3)):
        header, *rows = _rows(path / split)
        assert header == ["path", "azimuth", "elevation", "tilt"]
        assert len(rows) == count
        for relative, *angles in rows:
            assert relative.startswith("images/") and relative.endswith(".png")
            assert Image.open(path / split / relative).size == (32, 32)
            limits = [math.degrees(r) for r in (1.0, 0.3, 0.1)]
            assert all(abs(float(angle)) <= limit for angle, limit in zip(angles, limits))
    assert (path / "settings.json").exists() and (path / collection.COMPLETE_MARKER).exists()
    assert _rows(path / "train")[1:] != _rows(path / "test")[1:]


def test_reuses_a_complete_collection(tmp_path, monkeypatch):
    first = ensure_rendered("faces", cache_dir=tmp_path, **TINY)

    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(collection, "_render_split", fail)
    assert ensure_rendered("faces", cache_dir=tmp_path, **TINY) == first


def test_other_settings_render_elsewhere(tmp_path):
    first = ensure_rendered("faces", cache_dir=tmp_path, **TINY)
    assert ensure_rendered("faces", cache_dir=tmp_path, seed=1, **TINY) != first
    assert ensure_rendered("faces", cache_dir=tmp_path, **{**TINY, "num_test": 2}) != first
    assert len(list(tmp_path.iterdir())) == 3


def test_same_seed_same_bytes(tmp_path):
    first = ensure_rendered("buses", cache_dir=tmp_path / "a", **TINY)
    second = ensure_rendered("buses", cache_dir=tmp_path / "b", **TINY)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in files)


def test_replaces_an_interrupted_render(tmp_path):
    path = ensure_rendered("faces", cache_dir=tmp_path, **TINY)
    (path / collection.COMPLETE_MARKER).unlink()
    (path / "train" / "images" / "000000.png").unlink()
    assert ensure_rendered("faces", cache_dir=tmp_path, **TINY) == path
    assert (path / "train" / "images" / "000000.png").exists()
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("settings, message", [
    (dict(category="trains"), "known categories: buses, cars, faces"),
    (dict(category="faces", num_train=0), "num_train"),
    (dict(category="faces", num_test=-1), "num_test"),
    (dict(category="faces", image_size=4), "image_size"),
    (dict(category="faces", ranges=(1.0, -0.1, 0.0)), "ranges"),
])
def test_rejects_bad_settings(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        ensure_rendered(cache_dir=tmp_path, progress=False, **settings)


def test_failed_render_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(collection.Image.Image, "save", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_rendered("cars", cache_dir=tmp_path, **TINY)
    assert list(tmp_path.iterdir()) == []


def test_splits_read_back_as_labeled_images_and_training_gets_only_the_images(tmp_path):
    settings = dict(category="faces", cache_dir=tmp_path, **TINY)
    root = ensure_rendered(**settings)
    test_items = collection.read_split("test", **settings)
    assert len(test_items) == TINY["num_test"] and all(item.path.parent == root / "test" / "images"
                                                       for item in test_items)
    assert len(collection.read_split("train", **settings)) == TINY["num_train"]
    assert collection.train_images(**settings) == root / "train" / "images"


def test_the_test_split_of_a_data_spec_is_rendered_at_the_model_size(tmp_path, monkeypatch):
    requests = []

    def rendered(**settings):
        requests.append(settings)
        return ensure_rendered("cars", cache_dir=tmp_path, **TINY)

    monkeypatch.setattr(collection, "ensure_rendered", rendered)
    assert len(collection.read_test_split("cars", 64)) == TINY["num_test"]
    assert requests == [{"category": "cars", "image_size": 64}]


def test_an_unknown_category_is_one_manifest_error():
    with pytest.raises(ManifestError, match="synthetic collection: unknown category 'boats'"):
        collection.read_split("test", category="boats")
