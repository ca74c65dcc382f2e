"""Export V alone as a deployable file: ONNX or TorchScript.

``python -m ssv.inference.export --ckpt PATH [--format onnx|torchscript] [--out FILE]``

The graph takes images ``[B, 3, S, S]`` in [-1, 1] (RGB, resized and centre-cropped to S) with a dynamic batch
size B and returns ``viewpoint`` ``[B, 3]``: azimuth, elevation, tilt in radians, in V's own frame (apply a
calibration for the labeled frame). V's minibatch-stddev channel is computed per image, so every image's result
is the one it gets alone. The file records S and the fingerprint of V's weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from ssv.inference.checkpoint import CheckpointError, TrainedViewpointNetwork, load_viewpoint_network
from ssv.console import run_command
from ssv.inference.onnx_model import FINGERPRINT_KEY, IMAGE_SIZE_KEY, INPUT_NAME, OUTPUT_NAME, SOURCE_KEY, UNITS_KEY
from ssv.networks import ViewpointNetwork

FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
TORCHSCRIPT_METADATA = "ssv.json"
EXAMPLE_BATCH = 2  # not 1, so that the exporter cannot specialise the batch dimension to a constant
ONNX_OPSET = 18


class ViewpointGraph(nn.Module):
    """V's inference graph: per-image forward pass and spherical-regression decoding to radians."""

    def __init__(self, network: ViewpointNetwork):
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.read_views(images)


def metadata(trained: TrainedViewpointNetwork) -> dict[str, str]:
    return {IMAGE_SIZE_KEY: str(trained.image_size), FINGERPRINT_KEY: trained.fingerprint,
            SOURCE_KEY: str(trained.source), UNITS_KEY: "radians: azimuth, elevation, tilt"}


def example_images(image_size: int) -> torch.Tensor:
    return torch.rand(EXAMPLE_BATCH, 3, image_size, image_size) * 2 - 1


def export_onnx(trained: TrainedViewpointNetwork, path: Path) -> Path:
    """Exports with torch.export (dynamo) and a symbolic batch dimension, then adds the metadata."""
    import onnx

    graph = ViewpointGraph(trained.network).eval()
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(graph, (example_images(trained.image_size),), str(path), dynamo=True, verbose=False,
                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=ONNX_OPSET,
                      dynamic_shapes={"images": {0: batch}}, external_data=False)
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, metadata(trained))
    onnx.save(model, str(path))
    return path


def export_torchscript(trained: TrainedViewpointNetwork, path: Path) -> Path:
    """Traces the graph; ``torch.jit.load(path)`` runs it on any batch size (the tests check 1 and 5)."""
    graph = ViewpointGraph(trained.network).eval()
    with warnings.catch_warnings():
        # The shape checks of the minibatch-stddev stage are constant under the per-image rule (one image per
        # group), so the tracer's warnings that it records them as constants do not apply; jit is deprecated
        # in favour of torch.export, which the ONNX export uses.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(graph, example_images(trained.image_size))
    torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_METADATA: json.dumps(metadata(trained))})
    return path


EXPORTERS = {"onnx": export_onnx, "torchscript": export_torchscript}


def default_output(checkpoint: Path, format_name: str) -> Path:
    return checkpoint.with_name(checkpoint.stem + FORMATS[format_name])


def export(checkpoint: str | Path, format_name: str = "onnx", out: Path | None = None) -> Path:
    """Writes V of ``checkpoint`` in ``format_name`` to ``out`` (default: beside the checkpoint)."""
    trained = load_viewpoint_network(checkpoint)
    path = out or default_output(trained.source, format_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return EXPORTERS[format_name](trained, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="checkpoint of SSV or of the supervised baseline")
    parser.add_argument("--format", choices=sorted(FORMATS), default="onnx", help="default: %(default)s")
    parser.add_argument("--out", type=Path, help="output file (default: beside the checkpoint, <stem>.onnx or "
                                                 "<stem>.torchscript.pt)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # e.g. "torchvision is not installed" notes
    path = export(args.ckpt, args.format, args.out)
    print(f"Wrote the {args.format} model to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (CheckpointError,))


if __name__ == "__main__":
    sys.exit(main())
