import logging
import shutil
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from datamodules.datasets.folders import list_images
from datamodules.images import (
    SkippedImagesReport,
    UnlabeledImageDataModule,
    UnlabeledImageDataset,
    UnreadableImagesError,
    build_transform,
    collate_skipping_corrupt,
)

SIZE = 16


def write_image(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def random_image(height: int = 24, width: int = 36, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def write_truncated_jpeg(path: Path) -> Path:
    """A JPEG cut off near its end, as by an interrupted download."""
    _, encoded = cv2.imencode(".jpg", random_image(64, 64))
    path.write_bytes(encoded.tobytes()[: len(encoded) * 9 // 10])
    return path


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    """Six readable images of each supported kind in nested folders, plus files that are not images."""
    root = tmp_path / "images"
    write_image(root / "b.png", random_image(seed=1))
    write_image(root / "a" / "c.jpg", random_image(seed=2))
    write_image(root / "a" / "deep" / "d.JPEG", random_image(seed=3))
    write_image(root / "e.webp", random_image(seed=4))
    write_image(root / "a" / "gray.png", random_image(channels=1, seed=5))
    write_image(root / "rgba.png", random_image(channels=4, seed=6))
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "folder.png").mkdir()
    return root


@pytest.fixture
def corrupt_tree(image_tree: Path) -> Path:
    write_truncated_jpeg(image_tree / "truncated.jpg")
    (image_tree / "a" / "noise.png").write_bytes(np.random.default_rng(0).bytes(500))
    return image_tree


def test_transform_center_crops_non_square_images_to_float_chw_in_unit_range():
    image = np.zeros((30, 90, 3), dtype=np.uint8)
    image[:, 30:60] = 255  # the center third; the crop must keep only it
    output = build_transform(SIZE)(image=image)["image"]
    assert output.shape == (3, SIZE, SIZE)
    assert output.dtype == torch.float32
    assert torch.equal(output, torch.ones_like(output))

    output = build_transform(SIZE)(image=random_image(50, 20))["image"]
    assert output.shape == (3, SIZE, SIZE)
    assert output.min() >= -1 and output.max() <= 1
    assert output.min() < 0 < output.max()


def test_transform_is_deterministic_without_jitter():
    transform = build_transform(SIZE)
    image = random_image()
    assert torch.equal(transform(image=image)["image"], transform(image=image)["image"])


@pytest.mark.parametrize("color_jitter", [0.0, 0.5])
def test_transform_has_no_geometric_augmentation(color_jitter):
    allowed = (A.SmallestMaxSize, A.CenterCrop, A.ColorJitter, A.Normalize, A.pytorch.ToTensorV2)
    transform = build_transform(SIZE, color_jitter)
    assert all(isinstance(step, allowed) for step in transform.transforms)
    assert any(isinstance(step, A.ColorJitter) for step in transform.transforms) == (color_jitter > 0)


def test_jitter_changes_colours_only():
    image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    image[:, : SIZE // 2] = (200, 80, 40)  # left half coloured, right half black
    transform = build_transform(SIZE, color_jitter=0.5)
    outputs = [transform(image=image)["image"] for _ in range(4)]
    assert not all(torch.equal(outputs[0], other) for other in outputs[1:])
    for output in outputs:
        left, right = output[:, :, : SIZE // 2], output[:, :, SIZE // 2:]
        assert torch.all(left == left[:, :1, :1])
        assert torch.all(right == right[:, :1, :1])


def test_dataset_item_and_its_exact_mirror(image_tree):
    dataset = UnlabeledImageDataset(list_images(image_tree), build_transform(SIZE))
    for item in dataset:
        assert set(item) == {"image", "mirror"}
        assert item["image"].shape == item["mirror"].shape == (3, SIZE, SIZE)
        assert torch.equal(item["mirror"], torch.flip(item["image"], dims=[-1]))
        assert torch.equal(item["mirror"][..., 0], item["image"][..., -1])
    assert dataset.skipped_files == 0


def test_dataset_reads_grayscale_and_rgba_as_rgb(image_tree):
    gray = image_tree / "a" / "gray.png"
    item = UnlabeledImageDataset([gray], build_transform(SIZE))[0]
    assert item["image"].shape[0] == 3
    assert torch.equal(item["image"][0], item["image"][1]) and torch.equal(item["image"][1], item["image"][2])

    rgba = random_image(channels=4, seed=7)
    files = [write_image(image_tree / "x.png", rgba), write_image(image_tree / "y.png", rgba[..., :3])]
    rgba_item, rgb_item = UnlabeledImageDataset(files, build_transform(SIZE))
    assert torch.equal(rgba_item["image"], rgb_item["image"])


def test_colour_order_is_rgb(tmp_path):
    blue_bgr = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    blue_bgr[..., 0] = 255
    item = UnlabeledImageDataset([write_image(tmp_path / "blue.png", blue_bgr)], build_transform(SIZE))[0]
    assert item["image"][2].min() == 1 and item["image"][:2].max() == -1


def test_corrupt_files_are_skipped_with_a_warning_and_counted(corrupt_tree, caplog):
    truncated, noise = corrupt_tree / "truncated.jpg", corrupt_tree / "a" / "noise.png"
    empty = corrupt_tree / "empty.jpeg"
    empty.touch()
    dataset = UnlabeledImageDataset([truncated, noise, empty, corrupt_tree / "b.png"], build_transform(SIZE))
    with caplog.at_level(logging.WARNING, logger="datamodules.images"):
        assert dataset[0] is None and dataset[1] is None and dataset[2] is None
    for path in (truncated, noise, empty):
        assert str(path) in caplog.text
    assert dataset[3] is not None
    assert dataset.skipped_files == 3
    assert dataset.corrupt_files == [truncated, noise, empty]
    assert dataset[0] is None and dataset.skipped_files == 3  # each file counts once


def test_truncated_jpeg_is_rejected_although_cv2_imread_would_pad_it(tmp_path):
    truncated = write_truncated_jpeg(tmp_path / "truncated.jpg")
    assert cv2.imread(str(truncated)) is not None
    assert UnlabeledImageDataset([truncated], build_transform(SIZE))[0] is None


def test_collate_drops_corrupt_items():
    item = {"image": torch.zeros(3, 2, 2), "mirror": torch.ones(3, 2, 2)}
    batch = collate_skipping_corrupt([item, None, item])
    assert batch["image"].shape == batch["mirror"].shape == (2, 3, 2, 2)
    assert collate_skipping_corrupt([None, None]) is None


def test_epoch_over_a_folder_with_corrupt_files_never_crashes(corrupt_tree, caplog):
    datamodule = UnlabeledImageDataModule(str(corrupt_tree), image_size=SIZE, batch_size=1, num_workers=0)
    datamodule.setup("fit")
    assert datamodule.num_images == 8
    with caplog.at_level(logging.WARNING, logger="datamodules.images"):
        batches = list(datamodule.train_dataloader())
    assert len(batches) == 6  # batches of one corrupt file are dropped, not yielded as None
    for batch in batches:
        assert batch["image"].shape == batch["mirror"].shape == (1, 3, SIZE, SIZE)
    assert datamodule.skipped_files == 2
    assert datamodule.skipped_summary().startswith("Skipped 2 of 8 images as corrupt or unreadable: ")


def deny_reading(path):
    raise PermissionError(13, "Permission denied", str(path))


@pytest.mark.parametrize("denied", [False, True], ids=["empty files", "no read permission"])
def test_an_epoch_without_a_readable_image_stops_naming_the_folder(tmp_path, monkeypatch, denied):
    for index in range(4):
        path = tmp_path / f"{index}.png"
        if denied:
            write_image(path, random_image(seed=index))
        else:
            path.write_bytes(b"")
    if denied:  # chmod cannot stop root, who may run the tests
        monkeypatch.setattr(Path, "read_bytes", deny_reading)
    datamodule = UnlabeledImageDataModule(tmp_path, image_size=SIZE, batch_size=2, num_workers=0)
    datamodule.setup("fit")
    with pytest.raises(UnreadableImagesError, match=f"{tmp_path}: no image could be read.*4 image files"):
        list(datamodule.train_dataloader())


def test_lightning_runs_report_and_log_the_skipped_files(corrupt_tree, caplog):
    datamodule = UnlabeledImageDataModule(corrupt_tree, image_size=SIZE, batch_size=2, num_workers=0)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[SkippedImagesReport()])
    with caplog.at_level(logging.WARNING, logger="datamodules.images"):
        trainer.fit(MeanImageModel(), datamodule=datamodule)
    summaries = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Skipped")]
    assert len(summaries) == 1 and summaries[0].startswith("Skipped 2 of 8 images")  # new skips only
    assert trainer.callback_metrics["data/skipped_images"] == 2


def test_shuffle_is_seeded(image_tree):
    def first_batch(seed):
        datamodule = UnlabeledImageDataModule(image_tree, image_size=SIZE, batch_size=3, num_workers=0,
                                              seed=seed)
        datamodule.setup()
        return next(iter(datamodule.train_dataloader()))["image"]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


def test_workers_draw_different_augmentations_and_share_the_skipped_count(tmp_path):
    source = write_image(tmp_path / "source.png", random_image(SIZE, SIZE))
    (tmp_path / "copies").mkdir()
    for index in range(16):
        shutil.copy(source, tmp_path / "copies" / f"{index:02d}.png")
    write_truncated_jpeg(tmp_path / "copies" / "bad.jpg")
    (tmp_path / "copies" / "noise.png").write_bytes(b"\x89PNG not really")
    datamodule = UnlabeledImageDataModule(
        tmp_path / "copies", image_size=SIZE, batch_size=3, num_workers=2, color_jitter=0.4, drop_last=False
    )
    datamodule.setup("fit")
    images = torch.cat([batch["image"] for batch in datamodule.train_dataloader()])
    assert len(images) == 16
    assert len({tuple(image.flatten().tolist()) for image in images}) == 16
    assert datamodule.skipped_files == 2


def test_a_made_root_is_made_in_prepare_data_and_read_in_setup(image_tree):
    calls = []

    def make_root():
        calls.append("made")
        return image_tree

    datamodule = UnlabeledImageDataModule(make_root=make_root, image_size=SIZE, batch_size=2, num_workers=0)
    datamodule.prepare_data()
    assert calls == ["made"]
    datamodule.setup("fit")
    assert datamodule.image_root() == image_tree
    assert datamodule.num_images == len(list_images(image_tree))
    assert set(next(iter(datamodule.train_dataloader()))) == {"image", "mirror"}


@pytest.mark.parametrize("kwargs", [{}, {"root": "x", "make_root": lambda: Path("x")}])
def test_root_and_make_root_are_exclusive(kwargs):
    with pytest.raises(ValueError, match="exactly one"):
        UnlabeledImageDataModule(**kwargs)


def test_too_few_images_for_a_full_batch_is_a_clear_error(image_tree):
    datamodule = UnlabeledImageDataModule(image_tree, batch_size=32)
    with pytest.raises(ValueError, match="fewer than batch_size=32"):
        datamodule.setup("fit")
    UnlabeledImageDataModule(image_tree, batch_size=32, drop_last=False).setup("fit")


def test_num_images_needs_setup(image_tree):
    with pytest.raises(RuntimeError, match="setup"):
        UnlabeledImageDataModule(image_tree).num_images


class MeanImageModel(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.batch_shapes = []

    def training_step(self, batch, batch_idx):
        self.batch_shapes.append((tuple(batch["image"].shape), tuple(batch["mirror"].shape)))
        return (self.scale * (batch["image"] - batch["mirror"].flip(-1))).pow(2).mean() + self.scale

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_trains_with_a_lightning_trainer(corrupt_tree):
    datamodule = UnlabeledImageDataModule(corrupt_tree, image_size=SIZE, batch_size=2, num_workers=0)
    model = MeanImageModel()
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    assert len(model.batch_shapes) >= 2 * 3  # 8 files, 2 corrupt: at least 3 non-empty batches per epoch
    for image_shape, mirror_shape in model.batch_shapes:
        assert image_shape == mirror_shape and image_shape[0] in (1, 2) and image_shape[1:] == (3, SIZE, SIZE)
    assert datamodule.skipped_files == 2
