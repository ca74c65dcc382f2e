import pytest
import pytorch_lightning as pl
import torch

from ssv.config import to_container
from ssv.evaluation.checkpoints import CheckpointError, load_viewpoint_model
from ssv.module import SSVModule
from ssv.supervised import MODEL_KIND_KEY, SUPERVISED_KIND


def rewritten(source, target, edit):
    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    edit(checkpoint)
    torch.save(checkpoint, target)
    return target


def test_an_ssv_checkpoint_restores_the_trained_viewpoint_network(ssv_checkpoint):
    model = load_viewpoint_model(ssv_checkpoint)
    assert isinstance(model, SSVModule) and not model.training
    stored = torch.load(ssv_checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    for name, value in model.viewpoint_net.state_dict().items():
        assert torch.equal(value, stored[f"viewpoint_net.{name}"]), name


def test_pretrained_feature_weights_are_not_fetched_when_loading(tiny, tmp_path, monkeypatch):
    model = SSVModule(to_container(tiny("imc.features=alexnet", "imc.weights=null")))
    hyper_parameters = {"config": {**model.hparams["config"], "imc": {"features": "alexnet", "weights": "imagenet"}}}
    path = tmp_path / "alexnet.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hyper_parameters,
                "pytorch-lightning_version": pl.__version__}, path)

    downloads = []

    def no_network(url, *args, **kwargs):
        downloads.append(url)
        raise OSError("no network in this test")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    restored = load_viewpoint_model(path)
    assert downloads == []
    for name, value in model.consistency_features.state_dict().items():
        assert torch.equal(value, restored.consistency_features.state_dict()[name]), name


def test_a_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.ckpt"):
        load_viewpoint_model(tmp_path / "absent.ckpt")


@pytest.mark.parametrize("damage", ["truncated", "noise", "empty"])
def test_a_corrupt_file_is_not_a_readable_checkpoint(ssv_checkpoint, tmp_path, damage):
    data = ssv_checkpoint.read_bytes()
    content = {"truncated": data[: len(data) // 2], "noise": torch.randint(0, 255, (4000,)).byte().numpy().tobytes(),
               "empty": b""}[damage]
    path = tmp_path / f"{damage}.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f"{damage}.ckpt: not a readable checkpoint"):
        load_viewpoint_model(path)


def test_a_file_holding_no_lightning_checkpoint_is_refused(tmp_path):
    path = tmp_path / "tensor.ckpt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_viewpoint_model(path)


def test_weights_of_another_config_are_refused(ssv_checkpoint, tmp_path):
    path = rewritten(ssv_checkpoint, tmp_path / "wider.ckpt",
                     lambda c: c["hyper_parameters"]["config"]["model"].update(width=0.25))
    with pytest.raises(CheckpointError, match="does not match its stored ssv config"):
        load_viewpoint_model(path)


def test_ssv_weights_marked_as_supervised_are_refused(ssv_checkpoint, tmp_path):
    path = rewritten(ssv_checkpoint, tmp_path / "marked.ckpt", lambda c: c.update({MODEL_KIND_KEY: SUPERVISED_KIND}))
    with pytest.raises(CheckpointError, match="does not match its stored supervised config"):
        load_viewpoint_model(path)


def test_an_unknown_model_kind_is_refused(ssv_checkpoint, tmp_path):
    path = rewritten(ssv_checkpoint, tmp_path / "other.ckpt", lambda c: c.update({MODEL_KIND_KEY: "hologan"}))
    with pytest.raises(CheckpointError, match="not a checkpoint of an SSV or supervised viewpoint model"):
        load_viewpoint_model(path)


def test_a_stored_config_that_fails_validation_is_refused(ssv_checkpoint, tmp_path):
    path = rewritten(ssv_checkpoint, tmp_path / "future.ckpt",
                     lambda c: c["hyper_parameters"]["config"]["model"].update(unknown_key=1))
    with pytest.raises(CheckpointError, match="unknown_key"):
        load_viewpoint_model(path)
