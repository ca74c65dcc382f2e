"""What the speed benchmark measures, each in a fresh process so that its peak memory is its own.

Every ``measure_*`` function takes a ``Case`` and returns a ``Record`` (or raises ``Skipped``).
"""

from __future__ import annotations

import itertools
import os
import platform
import resource
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from ssv.benchmark.random_pairs import RandomMirrorPairs
from ssv.benchmark.reference import ReleaseDesignModule
from ssv.config import experiment_path, load_config, to_container
from ssv.module import SSVModule
from ssv.train import build_datamodule

LOADER_IMAGES = 1024
LOADER_STORED_SIZE = 128


class Skipped(RuntimeError):
    """A measurement that cannot run here; its message is the reason."""


@dataclass
class Case:
    """One measurement: what to build and how to run it."""

    name: str
    profile: str
    batch: int
    overrides: list[str] = field(default_factory=list)
    category: str = "faces"
    design: str = "optimized"  # or "reference": the release's design (ssv.benchmark.reference)
    precision: str = "32-true"
    compiled: bool = False
    iterations: int = 5
    warmup: int = 1
    strategy: str = "auto"
    optional: bool = False  # a variant: failing to run is reported as skipped, with the reason

    def config(self):
        # The ImageNet AlexNet weights change no FLOP and cannot always be downloaded: random conv2 features.
        overrides = ["imc.weights=null", f"data.batch_size={self.batch}", f"trainer.compile={self.compiled}",
                     *self.overrides]
        return load_config(experiment_path(self.category), overrides, profile=self.profile)


@dataclass
class Record:
    """One line of the benchmark table and of bench.json."""

    name: str
    profile: str
    batch: int
    image_size: int
    median_ms: float | None = None
    images_per_s: float | None = None
    flops_per_iteration: float | None = None
    gflops_per_s: float | None = None
    peak_memory_mib: float | None = None
    passes: list[dict] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def machine() -> dict:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    return {"device": device, "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "python": platform.python_version()}


def _number(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(records: list[dict]) -> str:
    lines = ["| measurement | median ms | images/s | GFLOP each | GFLOP/s | peak MiB |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in records:
        if r["skipped"]:
            lines.append(f"| {r['name']} | skipped: {r['skipped']} | | | | |")
            continue
        gflop = None if r["flops_per_iteration"] is None else r["flops_per_iteration"] / 1e9
        lines.append(f"| {r['name']} | {_number(r['median_ms'])} | {_number(r['images_per_s'])} | {_number(gflop)} "
                     f"| {_number(r['gflops_per_s'])} | {_number(r['peak_memory_mib'], 0)} |")
    return "\n".join(lines)


def accelerator() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mib() -> float:
    """Peak GPU memory allocated by torch on CUDA; on CPU the process's peak resident set (torch included)."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


# ------------------------------------------------------------------------------------------------- training
class _GlobalScope:
    """Stands in for FlopCounterMode's module tracker, whose backward hooks break autograd.grad on a leaf
    (the gradient penalty); the ledger attributes FLOPs to passes itself."""

    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class FlopCounter(FlopCounterMode):
    """FlopCounterMode (torch.utils.flop_counter's formulas) counting the total only."""

    def __init__(self):
        super().__init__(display=False)
        self.mod_tracker = _GlobalScope()


class PassLedger:
    """FLOPs of every forward and backward pass of one training iteration, in the order they run."""

    # (network attribute, its methods that make a pass, label)
    PASSES = (
        ("generator", "styled_volume", "S volume"),
        ("generator", "render", "S render"),
        ("viewpoint_net", "forward", "V"),
        ("consistency_features", "forward", "Phi"),
    )

    def __init__(self, model: SSVModule):
        self.counter = FlopCounter()
        self.passes: list[dict] = []
        self.step = ""
        self._wrapped = []
        for attribute, method, label in self.PASSES:
            network = getattr(model, attribute)
            if network is not None:
                setattr(network, method, self._counted(label, getattr(network, method)))
                self._wrapped.append((network, method))

    def flops(self) -> int:
        return self.counter.get_total_flops()

    def add(self, label: str, flops: int) -> None:
        if flops > 0:
            self.passes.append({"step": self.step, "pass": f"{self.step}: {label}", "flops": flops})

    def _counted(self, label: str, method):
        def counted(inputs, *args, **kwargs):
            start = self.flops()
            output = method(inputs, *args, **kwargs)
            mode = "" if torch.is_grad_enabled() else ", no grad"
            self.add(f"{label} forward [{inputs.shape[0]}{mode}]", self.flops() - start)
            return output
        return counted

    def wrap_step(self, step: str, run):
        """Counts one optimisation step: its passes, its backward and the rest (the gradient penalty's grad)."""
        self.step = step
        start, known = self.flops(), len(self.passes)
        result = run()
        accounted = sum(entry["flops"] for entry in self.passes[known:])
        self.add("autograd.grad of the gradient penalty and other ops", self.flops() - start - accounted)
        return result

    def shares(self) -> list[dict]:
        total = sum(entry["flops"] for entry in self.passes)
        return [{**entry, "share": entry["flops"] / total} for entry in self.passes]

    def close(self) -> None:
        for network, method in self._wrapped:
            delattr(network, method)  # back to the class's method


class IterationClock(pl.Callback):
    """Times whole iterations and their two optimisation steps; counts the FLOPs of the first iteration."""

    STEPS = ("V step", "S step")

    def __init__(self, model: SSVModule, count_flops: bool):
        self.iteration_seconds: list[float] = []
        self.step_seconds: dict[str, list[float]] = {step: [] for step in self.STEPS}
        self.ledger = PassLedger(model) if count_flops else None
        self.flops = None
        self._wrap_optimise(model)

    def _wrap_optimise(self, model: SSVModule) -> None:
        original, calls = model._optimise, itertools.count()

        def timed(optimizer, compute_losses):
            step = self.STEPS[next(calls) % 2]
            synchronize()
            start = time.perf_counter()
            if self.counting:
                original_backward = model.manual_backward
                model.manual_backward = self._counted_backward(original_backward)
                result = self.ledger.wrap_step(step, lambda: original(optimizer, compute_losses))
                model.manual_backward = original_backward
            else:
                result = original(optimizer, compute_losses)
            synchronize()
            self.step_seconds[step].append(time.perf_counter() - start)
            return result

        model._optimise = timed

    def _counted_backward(self, backward):
        def counted(loss, *args, **kwargs):
            start = self.ledger.flops()
            backward(loss, *args, **kwargs)
            self.ledger.add("backward", self.ledger.flops() - start)
        return counted

    @property
    def counting(self) -> bool:
        return self.ledger is not None and self.flops is None

    def on_train_batch_start(self, *args) -> None:
        if self.counting:
            self.ledger.counter.__enter__()
        synchronize()
        self._started = time.perf_counter()

    def on_train_batch_end(self, *args) -> None:
        synchronize()
        self.iteration_seconds.append(time.perf_counter() - self._started)
        if self.counting:
            self.ledger.counter.__exit__(None, None, None)
            self.flops = self.ledger.flops()
            self.ledger.close()


def build_model(case: Case) -> SSVModule:
    config = to_container(case.config())
    torch.manual_seed(0)
    model = ReleaseDesignModule(config) if case.design == "reference" else SSVModule(config)
    return model


def measure_training(case: Case) -> list[Record]:
    """Median full iteration (every recipe loss on) through Lightning after ``warmup`` iterations, and its steps."""
    config = case.config()
    total = case.warmup + case.iterations
    loader = DataLoader(RandomMirrorPairs(case.batch * total, config.model.image_size), batch_size=case.batch)
    reset_peak_memory()
    with reported_as_skipped(case):
        model = build_model(case)
        # Compiled graphs would hide the per-network passes; their FLOPs are the eager model's anyway.
        clock = IterationClock(model, count_flops=not case.compiled)
        trainer = pl.Trainer(
            max_steps=2 * total, accelerator=accelerator(), devices=1, precision=case.precision,
            strategy=case.strategy, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, callbacks=[clock],
        )
        trainer.fit(model, train_dataloaders=loader)
    size = config.model.image_size
    passes = clock.ledger.shares() if clock.ledger else []
    iteration = _timed_record(case.name, case, size, clock.iteration_seconds[case.warmup:], clock.flops)
    iteration.passes = passes
    steps = [
        _timed_record(f"{case.name}: {step}", case, size, seconds[case.warmup:],
                      sum(p["flops"] for p in passes if p["step"] == step) if passes else None)
        for step, seconds in clock.step_seconds.items()
    ]
    return [iteration, *steps]


@contextmanager
def reported_as_skipped(case: Case):
    """A variant this machine cannot run (e.g. compiling a double backward) becomes a skipped record."""
    try:
        yield
    except Exception as error:
        if not case.optional:
            raise
        first_line = (str(error).strip().splitlines() or [""])[0][:400]
        raise Skipped(f"{type(error).__name__}: {first_line}") from error


def _timed_record(name: str, case: Case, image_size: int, seconds: list[float], flops: int | None) -> Record:
    median = statistics.median(seconds)
    return Record(
        name, case.profile, case.batch, image_size,
        median_ms=1000.0 * median,
        images_per_s=case.batch / median,
        flops_per_iteration=flops,
        gflops_per_s=None if flops is None else flops / median / 1e9,
        peak_memory_mib=peak_memory_mib(),
    )


# ------------------------------------------------------------------------------------------------- inference
def measure_inference(case: Case) -> list[Record]:
    """V's forward in inference mode on batches of the training size (V's minibatch stddev sees the batch)."""
    config = case.config()
    model = build_model(case).to(accelerator()).eval()
    if case.compiled:  # inference has no backward: V compiles whatever the loss settings
        model.viewpoint_net.compile()
    images = RandomMirrorPairs(case.batch, config.model.image_size).images.to(model.device)
    seconds, flops = [], None
    reset_peak_memory()
    with torch.inference_mode(), reported_as_skipped(case):
        for _ in range(case.warmup + case.iterations):
            synchronize()
            start = time.perf_counter()
            model(images)
            synchronize()
            seconds.append(time.perf_counter() - start)
    if not case.compiled:
        with torch.inference_mode(), FlopCounter() as counter:
            model(images)
        flops = counter.get_total_flops()
    return [_timed_record(case.name, case, config.model.image_size, seconds[case.warmup:], flops)]


# ------------------------------------------------------------------------------------------------- data
def write_crops(folder: Path, count: int, size: int) -> None:
    """JPEG crops of smooth colour fields with grain, about the size and entropy of prepared face crops."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for number in range(count):
        colours = cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (size, size),
                             interpolation=cv2.INTER_CUBIC)
        image = np.clip(colours + rng.normal(0, 6, colours.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{number:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])


def measure_loader(case: Case) -> list[Record]:
    """Images/s of the training DataModule (config's workers, augmentations) on a folder of JPEG crops."""
    with tempfile.TemporaryDirectory() as temporary:
        write_crops(Path(temporary), LOADER_IMAGES, LOADER_STORED_SIZE)
        config = case.config()
        config.data.root = temporary
        datamodule = build_datamodule(config)
        datamodule.setup("fit")
        loader = datamodule.train_dataloader()
        images, start = 0, None
        for batch in loader:
            if start is None:  # worker start-up is not counted
                start = time.perf_counter()
                continue
            images += len(batch["image"])
        seconds = time.perf_counter() - start
    return [Record(case.name, case.profile, case.batch, config.model.image_size,
                   median_ms=1000.0 * seconds * case.batch / images, images_per_s=images / seconds,
                   peak_memory_mib=peak_memory_mib())]


MEASUREMENTS = {"training": measure_training, "inference": measure_inference, "loader": measure_loader}


def skipped_record(case: Case, reason: str) -> dict:
    """The record of a measurement that did not run, with the reason."""
    return Record(case.name, case.profile, case.batch, case.config().model.image_size, skipped=reason).as_dict()


def run_case(kind: str, case: Case) -> list[dict]:
    """Entry point of the measuring process: its Records as dicts (one skipped Record when it cannot run)."""
    try:
        return [record.as_dict() for record in MEASUREMENTS[kind](case)]
    except Skipped as reason:
        return [skipped_record(case, str(reason))]
