"""Does what V learns from S's fakes carry over to real images? A transfer probe of an SSV checkpoint.

A fresh V (the checkpoint's architecture, new weights) learns style and viewpoint from the frozen EMA generator's
fakes alone, with the generative-consistency losses of training (L_z and L_v at their configured weights), and is
then measured on labeled images with the evaluation protocol, beside the checkpoint's own V:

- The fresh V about as good as the trained one: V reads real images as well as the fakes teach. What limits the
  error is what S renders, not V or its real-image losses.
- The trained V clearly better: the terms that see real images (critic, L_sym, L_imc) carry part of its reading.

``python -m ssv.evaluation.transfer --ckpt PATH --data SPEC [--steps N] [--batch-size B] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm import tqdm

from ssv.console import run_command
from ssv.evaluation.checkpoints import load_ssv_model
from ssv.evaluation.cli import INPUT_ERRORS, add_data_arguments, checked_items, positive_int
from ssv.evaluation.diagnostics import DIAGNOSTICS_BATCH, fake_view_fit, render_fakes
from ssv.evaluation.evaluator import evaluate_model
from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION
from ssv.inference.export import ViewpointGraph
from ssv.module import SSVModule
from ssv.networks import ViewpointNetwork, viewpoint_network_from
from ssv.progress import refresh_rate
from ssv.viewpoint import ANGLES, sample_views

TRANSFER_FILE = "transfer.json"
# Held-out fakes on which both Vs' readings of S's viewpoints are fitted.
FAKE_SAMPLES = 512
# The trained V must beat the fresh one by more than this (mean MAE, degrees) to credit its real-image terms.
MARGIN_DEGREES = 0.5


def train_on_fakes(model: SSVModule, steps: int, batch_size: int, seed: int, progress: bool = True) -> ViewpointNetwork:
    """A fresh V trained ``steps`` Adam steps (the recipe's optimiser) on the frozen EMA generator's fakes.

    The seed sets the fresh V's weights and dropout; the caller's global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _fit_on_fakes(model, steps, batch_size, torch.Generator().manual_seed(seed), progress)


def _fit_on_fakes(model: SSVModule, steps: int, batch_size: int, latents: torch.Generator,
                  progress: bool) -> ViewpointNetwork:
    network = viewpoint_network_from(model.config.model).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=model.config.optim.lr, betas=tuple(model.config.optim.betas))
    view_ranges = model.view_ranges.cpu()
    bar = tqdm(range(steps), desc="V on fakes", unit="step", file=sys.stderr, disable=not progress,
               miniters=refresh_rate())
    for _ in bar:
        codes = model.draw_codes(batch_size, latents)
        views = sample_views(batch_size, view_ranges, generator=latents)
        with torch.no_grad():
            fakes = model.ema_generator(codes, views)
        loss = model.weighted_total(model.reconstruction_terms(network(fakes), codes, views))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return network.eval()


class HeldOutFakes(NamedTuple):
    """Fakes of the EMA S and the viewpoints they were rendered at."""

    images: torch.Tensor
    views: torch.Tensor


def held_out_fakes(model: SSVModule, seed: int) -> HeldOutFakes:
    """``FAKE_SAMPLES`` fakes drawn apart from the fresh V's training draws, rendered once for both readings."""
    rng = torch.Generator().manual_seed(seed + 1)
    codes = model.draw_codes(FAKE_SAMPLES, rng)
    views = sample_views(FAKE_SAMPLES, model.view_ranges.cpu(), generator=rng)
    return HeldOutFakes(render_fakes(model.ema_generator, codes, views, DIAGNOSTICS_BATCH), views)


def reading(model: SSVModule, network: ViewpointNetwork, items: list, fakes: HeldOutFakes, n_calibration: int,
            seed: int) -> dict:
    """A V's calibrated errors and fits on the labeled images, and its R^2 on the held-out fakes."""
    result = evaluate_model(ViewpointGraph(network), items, image_size=model.config.model.image_size,
                            batch_size=DIAGNOSTICS_BATCH, n_calibration=n_calibration, seed=seed, accelerator="cpu")
    fit = fake_view_fit(network, fakes.images, fakes.views, DIAGNOSTICS_BATCH)
    metrics = result.metrics
    return {
        "mae": {name: metrics[f"mae_{name}"] for name in ANGLES},
        "mae_mean": metrics["mae_mean"],
        "r2": {name: metrics[f"r2_{name}"] for name in ANGLES},
        "fake_r2": fit["fake_r2"],
    }


def verdict(trained: dict, fresh: dict) -> str:
    gain = fresh["mae_mean"] - trained["mae_mean"]
    if gain > MARGIN_DEGREES:
        return (f"the trained V is {gain:.1f} degrees better than the fakes alone teach: its real-image terms "
                "(critic, L_sym, L_imc) carry part of its reading")
    return ("the fakes alone teach a fresh V as much as training taught V: what limits the error is what S "
            "renders")


def format_report(report: dict, title: str) -> str:
    header = f"{'':<30}{'MAE ' + ' / '.join(a[:4] for a in ANGLES):>24}{'mean':>7}   {'R^2 real images':<21}R^2 fakes"
    lines = [title, header]
    for label in ("trained_v", "fresh_v"):
        entry = report[label]
        name = "checkpoint's V" if label == "trained_v" else f"fresh V, {report['steps']} steps on fakes"
        mae = " / ".join(f"{entry['mae'][a]:.1f}" for a in ANGLES)
        real = " / ".join(f"{entry['r2'][a]:.2f}" for a in ANGLES)
        fake = " / ".join(f"{entry['fake_r2'][a]:.2f}" for a in ANGLES)
        lines.append(f"{name:<30}{mae:>24}{entry['mae_mean']:>7.1f}   {real:<21}{fake}")
    lines.append(f"Reading: {report['verdict']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="Lightning checkpoint of an SSV model")
    add_data_arguments(parser)
    parser.add_argument("--steps", type=positive_int, default=1200,
                        help="training steps of the fresh V (default %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="fakes per step (default %(default)s)")
    parser.add_argument("--n-calibration", type=positive_int, default=DEFAULT_N_CALIBRATION,
                        help="images used for the per-angle linear calibration (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the fresh V, its fakes and the calibration subset (default %(default)s)")
    parser.add_argument("--out", type=Path, help=f"folder for {TRANSFER_FILE} (default: beside the checkpoint)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    model = load_ssv_model(args.ckpt, "learn from")
    items = checked_items(args, model.config)
    fresh = train_on_fakes(model, args.steps, args.batch_size, args.seed)
    fakes = held_out_fakes(model, args.seed)
    trained_reading = reading(model, model.viewpoint_net, items, fakes, args.n_calibration, args.seed)
    fresh_reading = reading(model, fresh, items, fakes, args.n_calibration, args.seed)
    report = {"checkpoint": str(args.ckpt), "data": args.data, "steps": args.steps, "batch_size": args.batch_size,
              "seed": args.seed, "trained_v": trained_reading, "fresh_v": fresh_reading,
              "verdict": verdict(trained_reading, fresh_reading)}
    out = args.out or args.ckpt.parent / f"transfer-{args.ckpt.stem}"
    out.mkdir(parents=True, exist_ok=True)
    (out / TRANSFER_FILE).write_text(json.dumps(report, indent=2))
    print(format_report(report, f"Transfer from fakes to {args.data} of {args.ckpt}"))
    print(f"Wrote {out / TRANSFER_FILE}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    return run_command(run, parse_args(argv), INPUT_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
