"""W&B sweeps over SSV configs: ``python -m ssv.sweep --sweep loss-weights [--count N]``.

Sweep files live in ``experiments/sweeps/<name>.yaml`` or ``$SSV_EXPERIMENTS/sweeps/<name>.yaml``, in W&B's sweep
format. The agent runs the file's ``command`` with each sampled parameter passed as ``--key=value``, which
``ssv.train`` reads as a config override.
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
from pathlib import Path

import yaml

from ssv.config import ConfigError, experiment_file
from ssv.console import run_command


def sweep_path(name: str) -> Path:
    """``experiments/sweeps/<name>.yaml``, or the user's own from ``$SSV_EXPERIMENTS/sweeps``."""
    return experiment_file(name, "sweeps", "sweep")


def load_sweep(path: Path) -> dict:
    sweep = yaml.safe_load(path.read_text())
    for key in ("method", "parameters", "command"):
        if key not in sweep:
            raise ConfigError(f"{path}: sweep has no '{key}'")
    if "${args}" not in sweep["command"]:
        raise ConfigError(f"{path}: the sweep command must pass the parameters with ${{args}}")
    return sweep


def sample_value(spec: dict, rng: random.Random):
    """One draw from a W&B parameter spec (the distributions the sweep files use)."""
    if "value" in spec:
        return spec["value"]
    if "values" in spec:
        return rng.choice(spec["values"])
    distribution = spec.get("distribution", "uniform")
    low, high = spec["min"], spec["max"]
    if distribution == "uniform":
        return rng.uniform(low, high)
    if distribution == "int_uniform":
        return rng.randint(low, high)
    if distribution == "log_uniform_values":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    raise ConfigError(f"sweep distribution '{distribution}' is not supported here")


def sample_parameters(sweep: dict, rng: random.Random) -> dict:
    return {key: sample_value(spec, rng) for key, spec in sweep["parameters"].items()}


def agent_command(sweep: dict, parameters: dict) -> list[str]:
    """The command line a W&B agent runs for one parameter set."""
    command = []
    for part in sweep["command"]:
        if part == "${env}":
            continue
        if part == "${interpreter}":
            command.append(sys.executable)
        elif part == "${args}":
            command.extend(f"--{key}={value}" for key, value in parameters.items())
        else:
            command.append(part)
    return command


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", required=True,
                        help="name of experiments/sweeps/<name>.yaml or $SSV_EXPERIMENTS/sweeps/<name>.yaml")
    parser.add_argument("--project", default="ssv")
    parser.add_argument("--count", type=int, help="runs for this agent (default: until the sweep ends)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Creates the sweep on W&B and starts one agent on this machine."""
    sweep = load_sweep(sweep_path(args.sweep))
    import wandb

    sweep_id = wandb.sweep(sweep, project=args.project)
    agent = [sys.executable, "-m", "wandb", "agent", "--project", args.project, sweep_id]
    if args.count:
        agent[-1:-1] = ["--count", str(args.count)]
    print(f"sweep {sweep_id} created; starting an agent: {' '.join(agent)}", flush=True)
    return subprocess.call(agent)


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
