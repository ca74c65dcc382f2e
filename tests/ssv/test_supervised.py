import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ssv.config import to_container
from ssv.evaluation.checkpoints import load_viewpoint_model
from ssv.module import SSVModule
from ssv.networks.layers import MinibatchStdDev
from ssv.supervised import MODEL_KIND_KEY, SUPERVISED_KIND, SupervisedViewpointModule

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`

COUNT = 8


@pytest.fixture
def config(tiny):
    """``config(*overrides)``: the shared tiny config at a learning rate that fits 40 steps."""
    return lambda *overrides: tiny("optim.lr=2e-3", *overrides)


class LabeledNoise(Dataset):
    """Fixed random images, each with its own viewpoint label in degrees."""

    def __init__(self):
        generator = torch.Generator().manual_seed(2)
        self.images = torch.rand(COUNT, 3, 32, 32, generator=generator) * 2 - 1
        self.angles = (torch.rand(COUNT, 3, generator=generator) * 2 - 1) * torch.tensor([70.0, 50.0, 40.0])

    def __len__(self):
        return COUNT

    def __getitem__(self, index):
        return {"image": self.images[index], "angles": self.angles[index], "index": index}


def fit(model: SupervisedViewpointModule, steps: int) -> pl.Trainer:
    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_dataloaders=DataLoader(LabeledNoise(), batch_size=COUNT))
    return trainer


def mean_error_deg(model: SupervisedViewpointModule, data: LabeledNoise) -> float:
    model.eval()
    with torch.no_grad():
        return float((torch.rad2deg(model(data.images)) - data.angles).abs().mean())


def test_uses_the_viewpoint_network_of_ssv_with_its_optimiser_settings(config):
    settings = to_container(config("model.head_dropout=0.3", "model.stddev_group=2", "optim.eps=1e-6"))
    supervised, ssv = SupervisedViewpointModule(settings), SSVModule(settings)
    shapes = {name: value.shape for name, value in supervised.viewpoint_net.state_dict().items()}
    assert shapes == {name: value.shape for name, value in ssv.viewpoint_net.state_dict().items()}
    assert repr(supervised.viewpoint_net) == repr(ssv.viewpoint_net)
    assert supervised.viewpoint_net.angle_heads[0].hidden[-1].p == 0.3
    assert [m.group_size for m in supervised.viewpoint_net.modules() if isinstance(m, MinibatchStdDev)] == [2]
    optimizer = supervised.configure_optimizers()
    assert optimizer.defaults["lr"] == pytest.approx(2e-3) and optimizer.defaults["betas"] == (0.0, 0.99)
    assert optimizer.defaults["eps"] == pytest.approx(1e-6)
    assert {id(p) for p in optimizer.param_groups[0]["params"]} == {id(p) for p in supervised.parameters()}


def test_learns_the_labeled_viewpoints_in_degrees(config):
    model = SupervisedViewpointModule(to_container(config()))
    data = LabeledNoise()
    before = mean_error_deg(model, data)
    trainer = fit(model, steps=40)
    after = mean_error_deg(model, data)
    assert model.iteration == 40
    assert after < 0.2 * before and after < 15.0, (before, after)
    assert torch.isfinite(trainer.callback_metrics["v/view"])


def test_checkpoint_is_marked_and_restores_through_the_evaluation_loader(tmp_path, config):
    model = SupervisedViewpointModule(to_container(config()))
    trainer = fit(model, steps=2)
    path = tmp_path / "supervised.ckpt"
    trainer.save_checkpoint(path)
    assert torch.load(path, weights_only=True)[MODEL_KIND_KEY] == SUPERVISED_KIND
    restored = load_viewpoint_model(path)
    assert isinstance(restored, SupervisedViewpointModule)
    model.eval()
    with torch.no_grad():
        images = LabeledNoise().images
        assert torch.equal(model(images), restored(images))
