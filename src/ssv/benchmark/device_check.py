"""One script of every check that needs a GPU, sized to finish in under 8 minutes on one card.

``python -m ssv.benchmark.device_check [--out DIR] [--budget-minutes 8] [--train-minutes 5] [--bench-profile paper]
[--bench-args "..."] [key=value ...]`` (overrides apply to both trainings)

1. The tests marked ``cuda`` (tests/ssv/test_cuda.py), which skip on a machine without one.
2. ``make bench PROFILE=paper`` with its bf16 and compile variants and the release's design as reference (the
   deployed predictor's CPU records left out). It keeps to what the budget leaves after the trainings, but to at
   least ``BENCH_MINUTES``: a measurement that would start later is listed as skipped.
3. Two trainings side by side on the card, the CPU recipe and the paper profile, each followed by its evaluation on
   the synthetic test split. Each trains for ``--train-minutes`` of wall-clock time, or for what the budget leaves
   after steps 1 and 2 and a minute for start-up and evaluation, whichever is less. Their synthetic collections
   are rendered on the CPU while steps 1 and 2 run, so that the minutes go to training.

Writes DIR/device_check.json with the device, every figure and the command of each step; prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from ssv.benchmark.accuracy import machine_description
from ssv.config import experiment_path, load_config
from ssv.synthetic.collection import ensure_rendered
from ssv.train import synthetic_settings

REPORT_FILE = "device_check.json"
TRAINED_PROFILES = ("cpu", "paper")
STARTUP_AND_EVALUATION_MINUTES = 1.0
SHORTEST_TRAINING_MINUTES = 0.5
# The whole paper benchmark took more than 7 minutes on an H100; this many give at least its first measurements.
BENCH_MINUTES = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs") / "device-check", help="default: %(default)s")
    parser.add_argument("--budget-minutes", type=float, default=8.0,
                        help="wall-clock minutes of the whole check, which the trainings fit (default %(default)s)")
    parser.add_argument("--train-minutes", type=float, default=5.0,
                        help="most wall-clock minutes of each training (default %(default)s)")
    parser.add_argument("--bench-profile", default="paper", help="profile of the speed benchmark (default %(default)s)")
    parser.add_argument("--bench-args", default="--reference --variants bf16,compile --no-predict",
                        help="further arguments of the speed benchmark (default: %(default)s)")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value for both trainings")
    return parser.parse_args(argv)


def bench_minutes(budget: float, spent: float, training: float) -> float:
    """The speed benchmark's time limit: what the budget leaves after the trainings, but at least BENCH_MINUTES."""
    return max(BENCH_MINUTES, budget - spent - training - STARTUP_AND_EVALUATION_MINUTES)


def training_minutes(budget: float, spent: float, most: float) -> float:
    """Minutes each training gets: ``most``, or what the budget leaves after start-up and evaluation if less."""
    return max(SHORTEST_TRAINING_MINUTES, min(most, budget - spent - STARTUP_AND_EVALUATION_MINUTES))


def max_time(minutes: float) -> str:
    """Lightning's DD:HH:MM:SS for a number of minutes (at least one second)."""
    seconds = max(1, round(minutes * 60))
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def timed_run(command: list[str], log: Path) -> dict:
    """Runs ``command`` with its output in ``log``; returns its exit code, seconds and command line."""
    started = time.perf_counter()
    with log.open("w") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    return {"command": shlex.join(command), "exit_code": code, "seconds": round(time.perf_counter() - started, 1),
            "log": str(log)}


def cuda_tests(out: Path) -> dict:
    step = timed_run([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                      "tests/ssv/test_cuda.py"], out / "cuda_tests.log")
    summary = [line for line in Path(step["log"]).read_text().splitlines() if re.search(r"\d+ (passed|skipped)", line)]
    return {**step, "summary": summary[-1].strip("= ") if summary else None}


def speed_benchmark(out: Path, profile: str, extra: str, minutes: float) -> dict:
    bench_dir = out / "bench"
    step = timed_run([sys.executable, "-m", "ssv.benchmark.speed", "--profile", profile, "--out", str(bench_dir),
                      "--time-limit", f"{minutes:.2f}", *shlex.split(extra)], out / "bench.log")
    bench_json = bench_dir / "bench.json"
    payload = json.loads(bench_json.read_text()) if bench_json.is_file() else {}
    # The per-measurement records travel in the one report, so that copying it back loses no figure.
    return {**step, "results": payload.get("results"), "records": payload.get("records")}


def render_training_data(overrides: list[str]) -> dict:
    """Renders the synthetic collection of each trained profile (a no-op where it exists); returns the seconds."""
    started = time.perf_counter()
    for profile in TRAINED_PROFILES:
        settings = synthetic_settings(load_config(experiment_path("faces"), overrides, profile=profile))
        if settings is not None:
            ensure_rendered(**settings, progress=False)
    return {"seconds": round(time.perf_counter() - started, 1)}


def trainings(out: Path, minutes: float, overrides: list[str]) -> dict:
    """Both trainings at once: each gets the wall-clock budget, and the two together fit the time limit."""
    running = {}
    for profile in TRAINED_PROFILES:
        command = [sys.executable, "-m", "ssv.train", "--category", "faces", "--profile", profile,
                   f"trainer.max_time={max_time(minutes)}", "trainer.logger=csv", f"runs_dir={out / 'runs'}",
                   f"run_name={profile}", *overrides]
        log = (out / f"train-{profile}.log").open("w")
        running[profile] = (command, log, time.perf_counter(),
                            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    results = {}
    for profile, (command, log, started, process) in running.items():
        code = process.wait()
        log.close()
        eval_file = out / "runs" / "faces" / profile / "eval" / "last-synthetic-faces" / "metrics.json"
        results[profile] = {"command": shlex.join(command), "exit_code": code, "log": log.name,
                            "seconds": round(time.perf_counter() - started, 1),
                            "evaluation": json.loads(eval_file.read_text()) if eval_file.is_file() else None}
    return results


def device_description() -> dict:
    if not torch.cuda.is_available():
        return {"name": None, "note": "no CUDA device: the cuda tests skip and everything runs on the CPU"}
    properties = torch.cuda.get_device_properties(0)
    return {"name": properties.name, "memory_gib": round(properties.total_memory / 2**30, 1),
            "capability": f"{properties.major}.{properties.minor}", "cuda": torch.version.cuda}


def summary_lines(report: dict) -> list[str]:
    lines = [f"Device: {report['device'].get('name') or 'none (CPU only)'}; {report['machine']}",
             f"CUDA tests: {report['cuda_tests']['summary']} (exit {report['cuda_tests']['exit_code']})"]
    lines += [f"bench {key}: {value:.2f}" for key, value in (report["speed"]["results"] or {}).items()]
    for profile, run in report["trainings"].items():
        metrics = run["evaluation"] or {}
        mae = metrics.get("mae_mean", float("nan"))
        lines.append(f"training {profile}: exit {run['exit_code']}, mean MAE {mae:.1f} after "
                     f"{metrics.get('iterations', '?')} iterations")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_MODE", "offline")
    started = time.perf_counter()
    report = {"command": shlex.join([sys.executable, "-m", "ssv.benchmark.device_check", *(argv or sys.argv[1:])]),
              "device": device_description(), "machine": machine_description()}
    with ThreadPoolExecutor(max_workers=1) as background:
        data = background.submit(render_training_data, args.overrides)
        print("[device-check] cuda tests (training data rendering meanwhile) ...", flush=True)
        report["cuda_tests"] = cuda_tests(args.out)
        limit = bench_minutes(args.budget_minutes, (time.perf_counter() - started) / 60, args.train_minutes)
        print(f"[device-check] speed benchmark (measurements starting within {limit:.1f} min) ...", flush=True)
        report["speed"] = speed_benchmark(args.out, args.bench_profile, args.bench_args, limit)
        minutes = training_minutes(args.budget_minutes, (time.perf_counter() - started) / 60, args.train_minutes)
        print(f"[device-check] trainings of {minutes:.1f} min: {', '.join(TRAINED_PROFILES)} ...", flush=True)
        report["training_minutes"] = round(minutes, 2)
        # The trainings start once their data is rendered; a rendering error ends the check here.
        report["data_rendering"] = data.result()
        report["trainings"] = trainings(args.out, minutes, args.overrides)
    (args.out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join(summary_lines(report)))
    print(f"Wrote {args.out / REPORT_FILE}")
    failed = [report["cuda_tests"]["exit_code"] not in (0, 5), report["speed"]["exit_code"] != 0,
              *(run["exit_code"] != 0 for run in report["trainings"].values())]
    return 1 if any(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
