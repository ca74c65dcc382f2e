import hashlib
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import webdataset
from pytorch_lightning.callbacks import ModelCheckpoint

from datamodules.datasets.preparation import shard_folder
from datamodules.images import UnlabeledImageDataModule
from datamodules.shards import (
    INDEX_NAME,
    ResumableShardLoader,
    ShardIndex,
    ShardStream,
    batches_taken_from,
    is_shard_collection,
    read_shard,
    worker_slices,
    write_shards,
)

REPO = Path(__file__).resolve().parents[2]
SIZE = 8


def keys_only(batch):
    return [key for key, _ in batch]


def numbered(count: int):
    return (("txt", str(number).encode()) for number in range(count))


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """26 tiny samples in shards of 4 (the last one of 2)."""
    write_shards(numbered(26), tmp_path / "shards", samples_per_shard=4)
    return tmp_path / "shards"


def loader(root, batch_size=3, rank=0, world_size=1, num_workers=0, drop_last=True, seed=0, **kwargs):
    stream = ShardStream(root, batch_size, rank=rank, world_size=world_size, drop_last=drop_last, seed=seed)
    return ResumableShardLoader(stream, num_workers=num_workers, collate_fn=keys_only, **kwargs)


def epoch_keys(data_loader) -> list[str]:
    return [key for batch in data_loader for key in batch]


def test_written_shards_are_standard_webdataset_tars_with_an_index(collection):
    index = ShardIndex.load(collection)
    assert index.names == tuple(f"shard-{number:06d}.tar" for number in range(7))
    assert index.counts == (4,) * 6 + (2,) and index.total == 26
    assert read_shard(collection / index.names[1]) == [(f"{n:09d}", str(n).encode()) for n in range(4, 8)]
    urls = [str(collection / name) for name in index.names]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False, nodesplitter=None, empty_check=False))
    assert [int(sample["txt"]) for sample in samples] == list(range(26))
    assert is_shard_collection(collection) and not is_shard_collection(collection.parent)


def test_index_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a shard collection"):
        ShardIndex.load(tmp_path)
    (tmp_path / INDEX_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="malformed"):
        ShardIndex.load(tmp_path)
    (tmp_path / INDEX_NAME).write_text(json.dumps({"shards": []}))
    with pytest.raises(ValueError, match="no samples"):
        ShardIndex.load(tmp_path)


def test_a_shard_that_disagrees_with_the_index_is_an_error(collection):
    index = json.loads((collection / INDEX_NAME).read_text())
    index["shards"][0]["count"] = 5
    (collection / INDEX_NAME).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="holds 4 samples but shards.json lists 5"):
        epoch_keys(loader(collection))


def test_worker_slices_are_whole_batches_longest_first():
    assert worker_slices(10, 3, 2) == [(0, 6), (6, 10)]
    assert worker_slices(13, 3, 3) == [(0, 6), (6, 12), (12, 13)]
    assert worker_slices(4, 3, 3) == [(0, 3), (3, 4), (4, 4)]
    assert [batches_taken_from(worker, 3, 7) for worker in range(3)] == [3, 2, 2]
    assert batches_taken_from(2, 3, 1) == 0


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_ranks_read_disjoint_parts_that_cover_the_collection(collection, world_size):
    parts = [epoch_keys(loader(collection, rank=rank, world_size=world_size, drop_last=False))
             for rank in range(world_size)]
    assert all(len(part) == 26 // world_size for part in parts)
    every = [key for part in parts for key in part]
    assert len(set(every)) == len(every) == 26 - 26 % world_size


def test_workers_split_a_rank_without_overlap(collection):
    ranks = [loader(collection, rank=rank, world_size=2, num_workers=2, drop_last=False) for rank in range(2)]
    every = [key for data_loader in ranks for key in epoch_keys(data_loader)]
    assert sorted(every) == [f"{n:09d}" for n in range(26)]


def test_each_epoch_is_a_new_order_of_the_whole_collection(collection):
    data_loader = loader(collection, drop_last=False, seed=5)
    epochs = [epoch_keys(data_loader) for _ in range(3)]
    assert all(sorted(epoch) == [f"{n:09d}" for n in range(26)] for epoch in epochs)
    assert len({tuple(epoch) for epoch in epochs}) == 3
    assert epoch_keys(loader(collection, drop_last=False, seed=5)) == epochs[0]


def test_drop_last_gives_every_rank_the_same_number_of_full_batches(collection):
    for rank in range(3):
        batches = list(loader(collection, batch_size=4, rank=rank, world_size=3, num_workers=2))
        assert len(batches) == 2 and all(len(batch) == 4 for batch in batches)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_resumed_loader_continues_with_the_next_batch(collection, num_workers):
    settings = {"rank": 1, "world_size": 2, "num_workers": num_workers, "persistent_workers": num_workers > 0}
    reference = loader(collection, **settings)
    expected = [batch for _ in range(3) for batch in reference]  # 3 epochs of 4 batches
    for stop in (1, 3, 4, 6, 9):
        interrupted = loader(collection, **settings)
        seen = []
        while len(seen) < stop:
            for batch in interrupted:
                seen.append(batch)
                if len(seen) == stop:
                    break
        resumed = loader(collection, **settings)
        resumed.load_state_dict(interrupted.state_dict())
        while len(seen) < len(expected):
            seen += list(resumed)
        assert seen == expected, f"stopped after {stop} batches"


def test_a_state_from_another_layout_restarts_its_epoch(collection, caplog):
    interrupted = loader(collection)
    iterator = iter(interrupted)
    next(iterator)
    state = interrupted.state_dict()
    assert state == {"epoch": 0, "delivered_batches": 1, "num_workers": 0, "batch_size": 3, "drop_last": 1,
                     "world_size": 1, "seed": 0}
    resumed = loader(collection, batch_size=2)
    with caplog.at_level(logging.WARNING):
        resumed.load_state_dict(state)
    assert "epoch 0 is drawn again from its start" in caplog.text
    assert epoch_keys(resumed) == epoch_keys(loader(collection, batch_size=2))


def write_image_folder(root: Path, count: int) -> Path:
    root.mkdir(parents=True)
    for number in range(count):
        image = np.random.default_rng(number).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        cv2.imwrite(str(root / f"{number:03d}.png"), image)
    return root


def test_shard_folder_skips_unreadable_images_and_shuffles(tmp_path, caplog):
    source = write_image_folder(tmp_path / "images", 9)
    (source / "broken.png").write_bytes(b"\x89PNG broken")
    with caplog.at_level(logging.WARNING):
        index, scan = shard_folder(source, tmp_path / "shards", samples_per_shard=4)
    assert index.counts == (4, 4, 1)
    assert [item.reason for item in scan.skipped] == ["unreadable image"]
    assert "broken.png: unreadable image" in caplog.text
    assert "broken.png" in (tmp_path / "shards" / "skipped.csv").read_text()
    stored = [data for name in index.names for _, data in read_shard(index.root / name)]
    originals = [(source / f"{number:03d}.png").read_bytes() for number in range(9)]
    assert sorted(stored) == sorted(originals) and stored != originals


def image_digests(batches) -> list[str]:
    return [hashlib.sha1(image.numpy().tobytes()).hexdigest() for batch in batches for image in batch["image"]]


@pytest.fixture
def image_shards(tmp_path: Path) -> Path:
    index, _ = shard_folder(write_image_folder(tmp_path / "images", 20), tmp_path / "shards", samples_per_shard=6)
    return index.root


def test_datamodule_reads_shards_like_a_folder(image_shards, tmp_path):
    datamodule = UnlabeledImageDataModule(image_shards, image_size=SIZE, batch_size=4, num_workers=0)
    datamodule.setup("fit")
    assert datamodule.num_images == 20
    batches = list(datamodule.train_dataloader())
    assert len(batches) == 5
    for batch in batches:
        assert batch["image"].shape == batch["mirror"].shape == (4, 3, SIZE, SIZE)
        assert torch.equal(batch["mirror"], batch["image"].flip(-1))
    folder = UnlabeledImageDataModule(tmp_path / "images", image_size=SIZE, batch_size=4, num_workers=0)
    folder.setup("fit")
    assert sorted(image_digests(batches)) == sorted(image_digests(folder.train_dataloader()))


def test_datamodule_takes_rank_and_world_size_from_its_trainer(image_shards):
    digests = []
    for rank in range(2):
        datamodule = UnlabeledImageDataModule(image_shards, image_size=SIZE, batch_size=5, num_workers=0)
        datamodule.trainer = SimpleNamespace(global_rank=rank, world_size=2)
        datamodule.setup("fit")
        digests.append(image_digests(datamodule.train_dataloader()))
    assert len(digests[0]) == len(digests[1]) == 10
    assert not set(digests[0]) & set(digests[1])


def test_corrupt_image_inside_a_shard_is_skipped_and_counted(tmp_path, caplog):
    good = write_image_folder(tmp_path / "images", 3)
    samples = [("png", (good / f"{n:03d}.png").read_bytes()) for n in range(3)] + [("jpg", b"\xff\xd8 broken")]
    write_shards(samples, tmp_path / "shards")
    datamodule = UnlabeledImageDataModule(tmp_path / "shards", image_size=SIZE, batch_size=2, num_workers=0)
    datamodule.setup("fit")
    with caplog.at_level(logging.WARNING):
        batches = list(datamodule.train_dataloader())
    assert sorted(len(batch["image"]) for batch in batches) == [1, 2]
    assert datamodule.skipped_files == 1
    assert "Skipping corrupt image 000000003" in caplog.text
    assert datamodule.skipped_summary() == f"Skipped 1 corrupt images in {tmp_path / 'shards'} so far"


class BatchRecorder(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.digests = []

    def training_step(self, batch, batch_idx):
        self.digests.append(image_digests([batch]))
        return (self.weight - batch["image"].mean()) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(shards: Path, run_dir: Path, max_steps: int, ckpt_path=None, num_workers: int = 0) -> BatchRecorder:
    model = BatchRecorder()
    datamodule = UnlabeledImageDataModule(shards, image_size=SIZE, batch_size=3, num_workers=num_workers)
    trainer = pl.Trainer(max_steps=max_steps, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=run_dir,
                         callbacks=[ModelCheckpoint(dirpath=run_dir, every_n_train_steps=1, save_last=True)])
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    return model


@pytest.mark.parametrize("stop", [4, 8])  # within the first epoch of 6 batches, and within the second
def test_lightning_resumes_a_run_with_the_next_batch(image_shards, tmp_path, stop):
    straight = fit(image_shards, tmp_path / "straight", max_steps=10)
    first = fit(image_shards, tmp_path / "interrupted", max_steps=stop)
    second = fit(image_shards, tmp_path / "interrupted", max_steps=10, ckpt_path=tmp_path / "interrupted" / "last.ckpt")
    assert first.digests + second.digests == straight.digests


DDP_SCRIPT = """
import json, sys
import pytorch_lightning as pl
import torch
from datamodules.images import UnlabeledImageDataModule

class Recorder(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.sums = []

    def training_step(self, batch, batch_idx):
        self.sums += [round(float(image.sum()), 3) for image in batch["image"]]
        return (self.weight - batch["image"].mean()) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

if __name__ == "__main__":
    shards, out = sys.argv[1], sys.argv[2]
    model = Recorder()
    datamodule = UnlabeledImageDataModule(shards, image_size=8, batch_size=2, num_workers=1, drop_last=False)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=datamodule)
    with open(f"{out}/rank{trainer.global_rank}.json", "w") as handle:
        json.dump(model.sums, handle)
"""


@pytest.mark.slow
def test_two_ddp_processes_read_disjoint_halves(image_shards, tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT))
    subprocess.run([sys.executable, str(script), str(image_shards), str(tmp_path)], cwd=REPO, check=True,
                   timeout=300)
    halves = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert len(halves[0]) == len(halves[1]) == 10
    assert len(set(halves[0]) | set(halves[1])) == 20
