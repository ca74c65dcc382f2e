from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.labeled import (
    LABELED_SOURCES,
    LabeledImage,
    LabeledImageDataModule,
    LabeledImageDataset,
    ManifestError,
    read_manifest,
    resolve_labeled_source,
)

HEADER = "path,azimuth,elevation,tilt"


def write_png(path: Path, size: int = 20, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size + 4, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def write_collection(root: Path, count: int = 6, header: str = HEADER) -> Path:
    lines = [header]
    for index in range(count):
        write_png(root / "images" / f"{index}.png", seed=index)
        lines.append(f"images/{index}.png,{10.0 * index},{-2.5 * index},{index}")
    manifest = root / "labels.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_manifest_rows_become_labeled_images_relative_to_the_csv(tmp_path):
    items = read_manifest(write_collection(tmp_path / "set", count=3))
    assert items == [
        LabeledImage(tmp_path / "set" / "images" / f"{index}.png", 10.0 * index, -2.5 * index, float(index))
        for index in range(3)
    ]
    assert items[2].angles == (20.0, -5.0, 2.0)


def test_extra_columns_and_column_order_are_accepted(tmp_path):
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "labels.csv"
    manifest.write_text("tilt,note,path,elevation,azimuth\n3,x,a.png,2,1\n")
    assert read_manifest(manifest)[0].angles == (1.0, 2.0, 3.0)


def test_a_missing_column_is_named(tmp_path):
    manifest = write_collection(tmp_path, header="path,azimuth,elevation,roll")
    with pytest.raises(ManifestError) as error:
        read_manifest(manifest)
    assert str(manifest) in str(error.value) and "missing column(s) tilt" in str(error.value)


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf"])
def test_a_bad_number_is_named_with_its_line_and_column(tmp_path, value):
    manifest = write_collection(tmp_path, count=3)
    lines = manifest.read_text().splitlines()
    lines[2] = f"images/1.png,5,{value},0"
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=r"labels.csv line 3: column 'elevation' is not a finite number"):
        read_manifest(manifest)


def test_a_short_row_is_a_bad_number(tmp_path):
    manifest = write_collection(tmp_path, count=2)
    manifest.write_text(manifest.read_text() + "images/0.png,1,2\n")
    with pytest.raises(ManifestError, match="line 4: column 'tilt'"):
        read_manifest(manifest)


def test_a_missing_image_file_is_named(tmp_path):
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


def test_specs_resolve_to_a_csv_a_folder_or_a_registered_scheme(tmp_path, monkeypatch):
    manifest = write_collection(tmp_path / "set", count=2)
    assert len(resolve_labeled_source(str(manifest), 32)) == 2
    assert len(resolve_labeled_source(str(manifest.parent), 32)) == 2
    calls = []
    monkeypatch.setitem(LABELED_SOURCES, "toy", lambda argument, size: calls.append((argument, size)) or [])
    assert resolve_labeled_source("toy:split-a", 64) == [] and calls == [("split-a", 64)]


def test_synthetic_spec_reads_the_test_split_rendered_at_the_model_size(tmp_path, monkeypatch):
    from ssv import synthetic

    write_collection(tmp_path / "collection" / "test", count=4)
    write_collection(tmp_path / "collection" / "train", count=2)
    requests = []

    def rendered(**settings):
        requests.append(settings)
        return tmp_path / "collection"

    monkeypatch.setattr(synthetic, "ensure_rendered", rendered)
    items = resolve_labeled_source("synthetic:cars", 64)
    assert len(items) == 4 and requests == [{"category": "cars", "image_size": 64}]


def test_an_unknown_synthetic_category_is_one_clear_error():
    with pytest.raises(ManifestError, match="synthetic collection: unknown category 'boats'"):
        resolve_labeled_source("synthetic:boats", 32)


@pytest.mark.parametrize("spec, message", [("synthetic:", "nothing after 'synthetic:'"),
                                           ("nowhere/labels.txt", "neither a .csv manifest"),
                                           ("nowhere/labels.csv", "manifest not found")])
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ManifestError, match=message):
        resolve_labeled_source(spec, 32)


def test_dataset_items_are_resized_images_in_unit_range_with_degrees_and_index(tmp_path):
    items = read_manifest(write_collection(tmp_path, count=3))
    sample = LabeledImageDataset(items, image_size=16)[2]
    assert sample["image"].shape == (3, 16, 16) and sample["image"].min() >= -1 and sample["image"].max() <= 1
    assert sample["angles"].tolist() == [20.0, -5.0, 2.0] and sample["index"] == 2


def test_an_unreadable_image_is_named(tmp_path):
    items = read_manifest(write_collection(tmp_path, count=2))
    items[1].path.write_bytes(b"not a png")
    with pytest.raises(ManifestError, match=r"1.png: not a readable image"):
        LabeledImageDataset(items, image_size=16)[1]


def test_test_loader_keeps_every_image_in_order_and_train_loader_shuffles_full_batches(tmp_path):
    items = read_manifest(write_collection(tmp_path, count=7))
    datamodule = LabeledImageDataModule(items, image_size=16, batch_size=3, seed=1)
    datamodule.setup()
    test_indices = torch.cat([batch["index"] for batch in datamodule.test_dataloader()])
    assert test_indices.tolist() == list(range(7))
    train_batches = list(datamodule.train_dataloader())
    assert [len(batch["index"]) for batch in train_batches] == [3, 3]
    assert torch.cat([batch["index"] for batch in train_batches]).tolist() != list(range(6))


def test_training_on_fewer_images_than_a_batch_is_refused(tmp_path):
    datamodule = LabeledImageDataModule(read_manifest(write_collection(tmp_path, count=2)), image_size=16,
                                        batch_size=4)
    datamodule.setup()
    with pytest.raises(ValueError, match="fewer than batch_size=4"):
        datamodule.train_dataloader()
