"""Labeled data specs, and the dataset and data module of labeled images."""

import pytest
import torch

from datamodules.labeled import DATASET_SOURCES, LabeledImageDataModule, LabeledImageDataset, resolve_labeled_source
from datamodules.manifest import ManifestError, read_manifest


def test_specs_resolve_to_a_csv_a_folder_or_a_registered_scheme(write_collection, tmp_path, monkeypatch):
    manifest = write_collection(tmp_path / "set", count=2)
    assert len(resolve_labeled_source(str(manifest), 32)) == 2
    assert len(resolve_labeled_source(str(manifest.parent), 32)) == 2
    calls = []
    monkeypatch.setitem(DATASET_SOURCES, "toy", lambda argument, size: calls.append((argument, size)) or [])
    assert resolve_labeled_source("toy:split-a", 64) == [] and calls == [("split-a", 64)]


@pytest.mark.parametrize("spec, message", [("biwi:", "nothing after 'biwi:'"),
                                           ("nowhere/labels.txt", "neither a .csv manifest"),
                                           ("nowhere/labels.csv", "manifest not found")])
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ManifestError, match=message):
        resolve_labeled_source(spec, 32)


def test_dataset_items_are_resized_images_in_unit_range_with_degrees_and_index(write_collection, tmp_path):
    items = read_manifest(write_collection(tmp_path, count=3))
    sample = LabeledImageDataset(items, image_size=16)[2]
    assert sample["image"].shape == (3, 16, 16) and sample["image"].min() >= -1 and sample["image"].max() <= 1
    assert sample["angles"].tolist() == [20.0, -5.0, 2.0] and sample["index"] == 2


def test_an_unreadable_image_is_named(write_collection, tmp_path):
    items = read_manifest(write_collection(tmp_path, count=2))
    items[1].path.write_bytes(b"not a png")
    with pytest.raises(ManifestError, match=r"1.png: not a readable image"):
        LabeledImageDataset(items, image_size=16)[1]


def test_test_loader_keeps_every_image_in_order_and_train_loader_shuffles_full_batches(write_collection, tmp_path):
    items = read_manifest(write_collection(tmp_path, count=7))
    datamodule = LabeledImageDataModule(items, image_size=16, batch_size=3, seed=1)
    datamodule.setup()
    test_indices = torch.cat([batch["index"] for batch in datamodule.test_dataloader()])
    assert test_indices.tolist() == list(range(7))
    train_batches = list(datamodule.train_dataloader())
    assert [len(batch["index"]) for batch in train_batches] == [3, 3]
    assert torch.cat([batch["index"] for batch in train_batches]).tolist() != list(range(6))


def test_training_on_fewer_images_than_a_batch_is_refused(write_collection, tmp_path):
    datamodule = LabeledImageDataModule(read_manifest(write_collection(tmp_path, count=2)), image_size=16,
                                        batch_size=4)
    datamodule.setup()
    with pytest.raises(ValueError, match="fewer than batch_size=4"):
        datamodule.train_dataloader()
