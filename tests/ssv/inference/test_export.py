"""Export: the ONNX file matches torch under ONNX Runtime, TorchScript too, both on any batch size."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from ssv.inference.checkpoint import load_viewpoint_network
from ssv.inference.export import TORCHSCRIPT_METADATA, ViewpointGraph, export, export_onnx, main
from ssv.inference.onnx_model import FINGERPRINT_KEY, IMAGE_SIZE_KEY


@pytest.fixture(scope="module")
def trained(ssv_checkpoint):
    return load_viewpoint_network(ssv_checkpoint)


def torch_radians(trained, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return ViewpointGraph(trained.network).eval()(images).numpy()


def test_onnx_runtime_matches_torch_on_batches_of_any_size(onnx_model, trained):
    session = onnxruntime.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # symbolic, not fixed at the example's size
    images = torch.rand(9, 3, 32, 32) * 2 - 1
    for batch in (1, 9):
        (viewpoint,) = session.run(["viewpoint"], {"images": images[:batch].numpy()})
        np.testing.assert_allclose(viewpoint, torch_radians(trained, images[:batch]), atol=1e-4, rtol=0)
    (alone,) = session.run(["viewpoint"], {"images": images[4:5].numpy()})
    np.testing.assert_allclose(alone[0], viewpoint[4], atol=1e-5)  # the per-image rule


def test_the_onnx_graph_reads_signs_with_the_network_s_readout(ssv_checkpoint, tmp_path):
    trained = load_viewpoint_network(ssv_checkpoint)
    trained.network.sign_readout = "expected"
    path = export_onnx(trained, tmp_path / "expected.onnx")
    images = torch.rand(6, 3, 32, 32) * 2 - 1
    (viewpoint,) = onnxruntime.InferenceSession(str(path)).run(["viewpoint"], {"images": images.numpy()})
    np.testing.assert_allclose(viewpoint, torch_radians(trained, images), atol=1e-4, rtol=0)
    trained.network.sign_readout = "argmax"
    assert np.abs(viewpoint - torch_radians(trained, images)).max() > 1e-2  # the rule reached the graph


def test_onnx_metadata_names_the_image_size_and_the_weights(onnx_model, trained):
    metadata = onnxruntime.InferenceSession(str(onnx_model)).get_modelmeta().custom_metadata_map
    assert metadata[IMAGE_SIZE_KEY] == "32" and metadata[FINGERPRINT_KEY] == trained.fingerprint


def test_torchscript_matches_torch_on_batches_of_any_size(ssv_checkpoint, trained, tmp_path):
    assert main(["--ckpt", str(ssv_checkpoint), "--format", "torchscript", "--out", str(tmp_path / "v.pt")]) == 0
    extra = {TORCHSCRIPT_METADATA: ""}
    scripted = torch.jit.load(str(tmp_path / "v.pt"), _extra_files=extra)
    assert json.loads(extra[TORCHSCRIPT_METADATA])[FINGERPRINT_KEY] == trained.fingerprint
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    for batch in (1, 5):
        with torch.no_grad():
            np.testing.assert_allclose(scripted(images[:batch]).numpy(), torch_radians(trained, images[:batch]),
                                       atol=1e-5)


def test_export_writes_beside_the_checkpoint_by_default(ssv_checkpoint, tmp_path):
    copy = tmp_path / "last.ckpt"
    copy.write_bytes(ssv_checkpoint.read_bytes())
    assert export(copy, "torchscript") == tmp_path / "last.torchscript.pt"
    assert (tmp_path / "last.torchscript.pt").is_file()


def test_a_file_that_is_not_a_checkpoint_stops_export_with_one_line(tmp_path, capsys):
    (tmp_path / "notes.ckpt").write_text("hello")
    assert main(["--ckpt", str(tmp_path / "notes.ckpt"), "--format", "onnx"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "notes.ckpt: not a readable checkpoint" in error
    assert error.count("\n") == 1
