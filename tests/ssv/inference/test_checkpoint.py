"""V alone from a checkpoint: both model kinds, the same weights as the training module, one-line failures."""

import pytest
import torch

from ssv.evaluation.checkpoints import load_viewpoint_model
from ssv.inference.checkpoint import CheckpointError, load_viewpoint_network, weights_fingerprint


@pytest.mark.parametrize("kind", ["ssv_checkpoint", "supervised_checkpoint"])
def test_v_alone_matches_the_training_modules_prediction(kind, request):
    path = request.getfixturevalue(kind)
    trained = load_viewpoint_network(path)
    module = load_viewpoint_model(path)
    assert trained.image_size == 32 and not trained.network.training
    assert trained.fingerprint == weights_fingerprint(module.viewpoint_net.state_dict())
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for name, value in module.viewpoint_net.per_image(images)._asdict().items():
            torch.testing.assert_close(getattr(trained.network.per_image(images), name), value)


def test_the_fingerprint_changes_with_any_weight(ssv_checkpoint):
    state = load_viewpoint_network(ssv_checkpoint).network.state_dict()
    before = weights_fingerprint(state)
    state["score_head.bias"] = state["score_head.bias"] + 1e-6
    assert weights_fingerprint(state) != before


def test_foreign_files_are_refused_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"layer.weight": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_viewpoint_network(tmp_path / "absent.ckpt")
    with pytest.raises(CheckpointError, match="garbage.ckpt: not a readable checkpoint"):
        load_viewpoint_network(garbage)
    with pytest.raises(CheckpointError, match="foreign.ckpt: not a checkpoint of an SSV or supervised"):
        load_viewpoint_network(foreign)
