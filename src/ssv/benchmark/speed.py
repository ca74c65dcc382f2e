"""Training-speed benchmark: full iterations, the V and S steps, the data loader and inference (V's forward at the
training batch, and the deployed predictor at batch 1 and 32 with torch eager, torch.compile and ONNX Runtime).

``python -m ssv.benchmark.speed [--profile paper|small] [--batch N] [--reference] [--variants bf16,compile]
[--iterations N] [--warmup N] [--no-predict] [--time-limit MINUTES] [--out DIR] [key=value ...]``

Each measurement runs in a fresh process (its peak memory is its own) and reports the median after warm-up.
``--reference`` also measures the same iteration built from the release's design (ssv.benchmark.reference) and
prints the speed-up. Writes DIR/bench.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ssv.benchmark.measure import Case, machine, run_case, skipped_record, table
from ssv.config import PROFILES, ConfigError, default_profile, experiment_path, load_config
from ssv.console import run_command
from ssv.inference.benchmark import run_deployment_case

VARIANTS = {"bf16": {"precision": "bf16-mixed"}, "compile": {"compiled": True}}
DESIGNS = ("iteration", "reference iteration")
LOADER_TARGET = 3.0  # the loader must deliver this many times what a training step consumes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="faces")
    parser.add_argument("--profile", choices=PROFILES, help="default: cpu without a GPU, paper with one")
    parser.add_argument("--batch", type=int, help="default: the profile's batch size")
    parser.add_argument("--reference", action="store_true", help="also measure the release's design; print the ratio")
    parser.add_argument("--variants", default="bf16,compile",
                        help="comma-separated from: bf16, compile; 'none' for none (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first (default: %(default)s)")
    parser.add_argument("--strategy", default="auto", help="Lightning strategy of the training measurements")
    parser.add_argument("--no-predict", action="store_true",
                        help="leave out the deployed predictor's records (they measure the CPU, not a GPU)")
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="list the measurements that would start later than this as skipped")
    parser.add_argument("--out", type=Path, help="default: runs/bench/speed-<profile>-b<batch>")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value, applied to every measurement")
    args = parser.parse_args(argv)
    variants = [] if args.variants == "none" else [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)} or 'none'")
    if args.iterations < 1 or args.warmup < 0:
        parser.error("--iterations must be at least 1 and --warmup at least 0")
    if args.time_limit is not None and args.time_limit <= 0:
        parser.error("--time-limit must be a positive number of minutes")
    args.variants = variants
    return args


def planned_cases(args: argparse.Namespace) -> list[tuple[str, Case]]:
    """(measurement kind, case) in the order they run."""
    common = dict(profile=args.profile, batch=args.batch, overrides=args.overrides, category=args.category,
                  iterations=args.iterations, warmup=args.warmup)
    training = dict(common, strategy=args.strategy)
    cases = [("training", Case("iteration", **training))]
    if args.reference:
        cases.append(("training", Case("reference iteration", design="reference", **training)))
    cases += [("training", Case(f"iteration {name}", optional=True, **training, **VARIANTS[name]))
              for name in args.variants]
    cases.append(("loader", Case("loader", **common)))
    cases.append(("inference", Case("inference", **common)))
    if "compile" in args.variants:
        cases.append(("inference", Case("inference compile", optional=True, compiled=True, **common)))
    if not args.no_predict:
        cases.append(("deployment", Case("predict", compiled="compile" in args.variants, **common)))
    return cases


def measure_in_fresh_process(kind: str, case: Case) -> list[dict]:
    task = (run_deployment_case, case) if kind == "deployment" else (run_case, kind, case)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(*task).result()


def measure_all(cases: list[tuple[str, Case]], time_limit: float | None) -> list[dict]:
    """Every case's records in order; a case that would start after ``time_limit`` minutes is listed as skipped."""
    records = []
    started = time.perf_counter()
    for kind, case in cases:
        if time_limit is not None and time.perf_counter() - started >= 60 * time_limit:
            records.append(skipped_record(case, f"past the {time_limit:g}-minute time limit"))
            continue
        print(f"measuring {case.name} ({case.profile}, batch {case.batch}) ...", flush=True)
        case_started = time.perf_counter()
        records += measure_in_fresh_process(kind, case)
        print(f"measured {case.name} in {time.perf_counter() - case_started:.0f} s", flush=True)
    return records


def pass_table(record: dict) -> str:
    lines = [f"Passes of one '{record['name']}' ({record['flops_per_iteration'] / 1e9:,.1f} GFLOP):",
             "| pass [images] | GFLOP | share |", "|---|---:|---:|"]
    lines += [f"| {p['pass']} | {p['flops'] / 1e9:,.2f} | {100 * p['share']:.1f}% |" for p in record["passes"]]
    return "\n".join(lines)


def summary(records: list[dict]) -> dict:
    """The issue's targets, computed from this run's records."""
    by_name = {r["name"]: r for r in records if not r["skipped"]}
    result = {}
    iteration, reference = by_name["iteration"], by_name.get("reference iteration")
    if reference:
        result["speedup_vs_reference"] = reference["median_ms"] / iteration["median_ms"]
        result["flops_ratio_reference_over_optimized"] = (reference["flops_per_iteration"]
                                                          / iteration["flops_per_iteration"])
    if "loader" in by_name:
        result["loader_over_training_consumption"] = by_name["loader"]["images_per_s"] / iteration["images_per_s"]
    result["training_peak_memory_mib"] = iteration["peak_memory_mib"]
    return result


def report(records: list[dict], results: dict) -> str:
    lines = [table(records), ""]
    # Variants make the same passes as the iteration they vary.
    lines += [pass_table(r) + "\n" for r in records if r["name"] in DESIGNS and r.get("passes")]
    if "speedup_vs_reference" in results:
        lines.append(f"Speed-up over the release's design: {results['speedup_vs_reference']:.2f}x "
                     f"(FLOPs per iteration {results['flops_ratio_reference_over_optimized']:.2f}x fewer)")
    ratio = results.get("loader_over_training_consumption")
    if ratio is not None:
        lines.append(f"Loader delivers {ratio:.1f}x the images a training iteration consumes "
                     f"({'meets' if ratio >= LOADER_TARGET else 'misses'} the {LOADER_TARGET:.0f}x target)")
    lines.append(f"Peak memory of a training iteration: {results['training_peak_memory_mib']:,.0f} MiB")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    args.profile = args.profile or default_profile()
    config = load_config(experiment_path(args.category), args.overrides, profile=args.profile)
    args.batch = args.batch or config.data.batch_size
    out = args.out or Path("runs") / "bench" / f"speed-{args.profile}-b{args.batch}"
    records = measure_all(planned_cases(args), args.time_limit)
    results = summary(records)
    print(report(records, results))
    out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "command": " ".join(sys.argv), "results": results, "records": records}
    (out / "bench.json").write_text(json.dumps(payload, indent=2))
    print(f"wrote {out / 'bench.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
