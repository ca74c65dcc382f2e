"""Shared fixtures: a tiny SSV checkpoint and a tiny rendered labeled collection."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
from torch.utils.data import DataLoader

from ssv.benchmark.random_pairs import RandomMirrorPairs
from ssv.config import experiment_path, load_config, to_container
from ssv.module import SSVModule

TINY = [
    "model.image_size=32",
    "model.width=0.125",
    "model.code_size=8",
    "model.mapping_layers=2",
    "imc.features=pixels",
    "data.batch_size=4",
]
NUM_TEST = 30


def tiny_config(*overrides):
    return load_config(experiment_path("faces"), TINY + list(overrides), profile="small")


def fit_and_save(model: pl.LightningModule, dataset, path: Path, steps: int) -> Path:
    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_dataloaders=DataLoader(dataset, batch_size=4))
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def ssv_checkpoint(tmp_path_factory) -> Path:
    """An SSV checkpoint after two iterations of the tiny model."""
    model = SSVModule(to_container(tiny_config()))
    return fit_and_save(model, RandomMirrorPairs(8, 32), tmp_path_factory.mktemp("ssv") / "tiny.ckpt", steps=4)


@pytest.fixture(scope="session")
def rendered_faces(tmp_path_factory) -> Path:
    """A rendered synthetic faces collection at 32 px: ``train/`` and ``test/`` with ``labels.csv``."""
    from ssv.synthetic import ensure_rendered

    cache = tmp_path_factory.mktemp("synthetic")
    return ensure_rendered("faces", cache_dir=cache, num_train=16, num_test=NUM_TEST, image_size=32, progress=False)


@pytest.fixture(scope="session")
def supervised_checkpoint(tmp_path_factory, rendered_faces) -> Path:
    """A supervised-baseline checkpoint after two steps on the rendered faces' train split."""
    from datamodules.labeled import LabeledImageDataset
    from datamodules.manifest import read_manifest
    from ssv.supervised import SupervisedViewpointModule

    model = SupervisedViewpointModule(to_container(tiny_config()))
    train = LabeledImageDataset(read_manifest(rendered_faces / "train" / "labels.csv"), image_size=32)
    return fit_and_save(model, train, tmp_path_factory.mktemp("supervised") / "supervised.ckpt", steps=2)


@pytest.fixture
def tiny():
    """``tiny(*overrides)``: the tiny faces config with extra dotlist overrides."""
    return tiny_config
