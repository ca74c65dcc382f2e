import pytest
import torch

from ssv.inference.checkpoint import CheckpointError, load_viewpoint_network
from ssv.inference.export import ViewpointGraph
from ssv.inference.onnx_model import OnnxViewpointModel


def test_an_exported_model_reads_its_image_size_and_gives_v_radians(onnx_model, ssv_checkpoint):
    model = OnnxViewpointModel(onnx_model)
    assert model.image_size == 32 and model.path == onnx_model
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = ViewpointGraph(load_viewpoint_network(ssv_checkpoint).network).eval()(images)
    torch.testing.assert_close(model(images), expected, atol=1e-4, rtol=0)


def test_missing_and_unreadable_files_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="ONNX model not found"):
        OnnxViewpointModel(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="not a readable ONNX model"):
        OnnxViewpointModel(tmp_path / "bad.onnx")
