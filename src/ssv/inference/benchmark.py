"""Inference records of ``make bench``: images/s of V's inference graph on the CPU, at batch 1 and at batch 32,
with torch eager, torch.compile and ONNX Runtime.

Each runtime runs the graph ``predict`` runs (V per image, then the decoding to angles) on images that are
already preprocessed, with the profile's V and random weights (speed does not depend on the weights).

``python -m ssv.inference.benchmark [--profile paper|small] [--no-compile] [--iterations N] [--warmup N]`` measures
these records alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from ssv.benchmark.measure import Case, Record, machine, peak_memory_mib, table
from ssv.config import PROFILES, ConfigError, default_profile
from ssv.console import run_command
from ssv.inference.checkpoint import TrainedViewpointNetwork, weights_fingerprint
from ssv.inference.estimator import AnglesOf, TorchViewpoints
from ssv.inference.export import ViewpointGraph, export_onnx
from ssv.inference.onnx_model import OnnxViewpointModel
from ssv.networks import ViewpointNetwork, viewpoint_network_from

BATCHES = (1, 32)
EAGER, COMPILED, ONNX_RUNTIME = "torch eager", "torch.compile", "onnxruntime"


def compiled(network: ViewpointNetwork) -> AnglesOf:
    graph = torch.compile(ViewpointGraph(network).eval())

    def angles_of(images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return graph(images)

    return angles_of


def onnx_runtime(network: ViewpointNetwork, image_size: int, folder: Path) -> AnglesOf:
    trained = TrainedViewpointNetwork(network, image_size, weights_fingerprint(network.state_dict()),
                                      Path("random weights"))
    return OnnxViewpointModel(export_onnx(trained, folder / "viewpoint.onnx"))


def runtimes(network: ViewpointNetwork, image_size: int, folder: Path,
             with_compile: bool) -> dict[str, Callable[[], AnglesOf]]:
    """Builders of each runtime's ``images -> radians`` function, in the order they are measured."""
    builders = {EAGER: lambda: TorchViewpoints(network, "cpu")}
    if with_compile:
        builders[COMPILED] = lambda: compiled(network)
    builders[ONNX_RUNTIME] = lambda: onnx_runtime(network, image_size, folder)
    return builders


def time_batch(angles_of: AnglesOf, images: torch.Tensor, case: Case) -> list[float]:
    seconds = []
    for _ in range(case.warmup + case.iterations):
        start = time.perf_counter()
        angles_of(images)
        seconds.append(time.perf_counter() - start)
    return seconds[case.warmup:]


def runtime_records(name: str, build: Callable[[], AnglesOf], case: Case, image_size: int) -> list[Record]:
    """One record per batch size; torch.compile failing on this machine gives skipped records with the reason."""
    labels = [f"{case.name} {name}, batch {batch}" for batch in BATCHES]
    try:
        angles_of = build()
        timings = [time_batch(angles_of, torch.rand(batch, 3, image_size, image_size) * 2 - 1, case)
                   for batch in BATCHES]
    except Exception as error:
        if name != COMPILED:
            raise
        reason = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:400]}"
        return [Record(label, case.profile, batch, image_size, skipped=reason) for label, batch in zip(labels, BATCHES)]
    records = []
    for label, batch, seconds in zip(labels, BATCHES, timings):
        median = statistics.median(seconds)
        records.append(Record(label, case.profile, batch, image_size, median_ms=1000.0 * median,
                              images_per_s=batch / median, peak_memory_mib=peak_memory_mib()))
    return records


def run_deployment_case(case: Case) -> list[dict]:
    """Entry point of the measuring process (see ssv.benchmark.speed): the records as dicts."""
    model_config = case.config().model
    torch.manual_seed(0)
    network = viewpoint_network_from(model_config).eval()
    records = []
    with tempfile.TemporaryDirectory() as folder:
        for name, build in runtimes(network, model_config.image_size, Path(folder), case.compiled).items():
            records += runtime_records(name, build, case, model_config.image_size)
    return [record.as_dict() for record in records]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="faces")
    parser.add_argument("--profile", choices=PROFILES, help="V's size (default: the machine's profile)")
    parser.add_argument("--no-compile", action="store_true", help="leave out torch.compile")
    parser.add_argument("--iterations", type=int, default=20, help="timed calls per batch size (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (default %(default)s)")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Only the inference records of ``make bench`` (``python -m ssv.inference.benchmark``), printed as a table."""
    profile = args.profile or default_profile()
    case = Case("predict", profile, 1, args.overrides, args.category, compiled=not args.no_compile,
                iterations=args.iterations, warmup=args.warmup)
    records = run_deployment_case(case)
    print(f"{machine()}; profile {profile}, image size {records[0]['image_size']}")
    print(table(records))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
