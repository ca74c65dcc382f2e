"""Does a trained SSV model render viewpoints, and does V read them back? Label-free checks of a checkpoint.

A run whose viewpoint errors stay at the constant predictor's level fails in one of two places: the generator S
does not turn its output with the viewpoint it is given, or V does not learn to read the viewpoint that S renders.
Per generator (the trained S, which V is trained against, and its EMA copy, which samples and evaluation use):

- ``view_loss`` against ``view_blind_loss``: V's L_v on S's images, and the least L_v any predictor that ignores
  the image can reach (the entropy of the viewpoint prior's targets). Equal values mean V reads nothing from fakes.
- ``fake_r2``: per angle, R^2 of the protocol's linear fit from V's prediction to the viewpoint S was given.
- ``consistency``: per angle, the mean cosine similarity between different styles' difference images
  ``S(z, +v) - S(z, -v)``. One shared 3D rotation moves every style's parts alike (well above 0); near 0, turning
  the viewpoint changes each style's image in its own way, so no image cue tells V the angle.
- ``light_shift``: per angle, the mean change in degrees of V's reading of S's images when light falls on them
  from one side instead of the other (left against right for azimuth and tilt, top against bottom for
  elevation). A photograph's light does not turn with the object, but S may paint its light onto the object
  (a generator that renders one image for a viewpoint and its mirror cannot light a frontal face from the
  side), and a V that reads the view from where the light falls is misled on real images. Near 0: V ignores
  the light.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

from ssv.console import run_command
from ssv.evaluation.checkpoints import CheckpointError, load_ssv_model
from ssv.evaluation.protocol import fit_angle
from ssv.losses import view_loss
from ssv.module import SSVModule
from ssv.networks import ViewpointNetwork
from ssv.viewpoint import ANGLES, encode, sample_views

DIAGNOSTICS_FILE = "diagnostics.json"
# The difference images compare +-80% of each angle's range: wide turns, inside what training samples.
CONSISTENCY_FRACTION = 0.8
PRIOR_SAMPLES = 200_000
DIAGNOSTICS_BATCH = 64  # for speed only: V reads each image on its own
READING_MARGIN = 0.9
LIGHT_GAIN = 0.4  # the light ramp's rise across the image, in the images' [-1, 1] units
# The edge each angle's light comes from, against the opposite edge: left for azimuth and tilt, top for elevation.
LIGHT_EDGES = {"azimuth": "left", "elevation": "top", "tilt": "left"}
OPPOSITE_EDGES = {"left": "right", "top": "bottom"}


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """Entropy in nats along the last dimension; zero probabilities contribute nothing."""
    return -torch.special.xlogy(probabilities, probabilities).sum(dim=-1)


def view_blind_loss(view_ranges: torch.Tensor, count: int = PRIOR_SAMPLES, seed: int = 0) -> float:
    """The least L_v over predictors that ignore the image, for viewpoints uniform in the ranges.

    A constant prediction's soft cross-entropy is least when it predicts the mean target, where it equals that
    mean's entropy: the mean (cos^2, sin^2) for the magnitude head, the quadrant frequencies for the sign head.
    """
    views = sample_views(count, view_ranges.cpu(), generator=torch.Generator().manual_seed(seed)).double()
    target = encode(views)
    quadrant_frequencies = nn.functional.one_hot(target.quadrant, 4).double().mean(dim=0)
    return float(entropy(target.magnitude.mean(dim=0)).sum() + entropy(quadrant_frequencies).sum())


def reads_viewpoints(view_loss: float, floor: float) -> bool:
    """Whether V's L_v on fakes shows that V reads viewpoints from the images.

    Every predictor that ignores the image stays at or above the view-blind floor, and a V that has not yet
    learned to read fakes sits near it (sampled losses scatter a little around it). A loss clearly below the
    floor, under ``READING_MARGIN`` of it, takes information from the image.
    """
    return view_loss < READING_MARGIN * floor


def reading_verdict(view_loss: float, floor: float) -> str:
    if reads_viewpoints(view_loss, floor):
        return f"V reads viewpoints from fakes ({1 - view_loss / floor:.0%} below the view-blind floor)"
    return "V reads no viewpoint from fakes yet (at the view-blind floor: S does not turn, or V does not read it)"


@torch.no_grad()
def render_fakes(generator: nn.Module, codes: torch.Tensor, views: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The images ``generator`` renders from (codes, views), in batches."""
    return torch.cat([generator(batch_codes, batch_views)
                      for batch_codes, batch_views in zip(codes.split(batch_size), views.split(batch_size))])


@torch.no_grad()
def fake_view_fit(network: ViewpointNetwork, fakes: torch.Tensor, views: torch.Tensor, batch_size: int) -> dict:
    """V's L_v and per-angle R^2 on fakes rendered at ``views``."""
    losses, predictions = [], []
    for batch_fakes, batch_views in zip(fakes.split(batch_size), views.split(batch_size)):
        output = network.per_image(batch_fakes)
        losses.append(view_loss(output, batch_views))
        predictions.append(network.read_out(output))
    predicted = torch.cat(predictions)
    return {
        "view_loss": float(torch.stack(losses).mean()),
        "fake_r2": {name: fit_angle(predicted[:, i], views[:, i]).r2 for i, name in enumerate(ANGLES)},
    }


@torch.no_grad()
def view_consistency(generator: nn.Module, codes: torch.Tensor, view_ranges: torch.Tensor) -> dict[str, float]:
    """Per angle, the mean cosine similarity between distinct styles' ``S(z, +v) - S(z, -v)`` images."""
    consistency = {}
    count = codes.shape[0]
    distinct_pairs = ~torch.eye(count, dtype=torch.bool)
    for index, name in enumerate(ANGLES):
        turn = torch.zeros(count, 3)
        turn[:, index] = CONSISTENCY_FRACTION * float(view_ranges[index])
        difference = (generator(codes, turn) - generator(codes, -turn)).flatten(1).double()
        direction = nn.functional.normalize(difference, dim=1)
        consistency[name] = float((direction @ direction.T)[distinct_pairs].mean())
    return consistency


def lit_from(images: torch.Tensor, edge: str, gain: float = LIGHT_GAIN) -> torch.Tensor:
    """``images`` brightened by a ramp from ``gain`` at ``edge`` (left, right, top, bottom) to 0 at the other side."""
    axis = -1 if edge in ("left", "right") else -2
    size = images.shape[axis]
    ramp = torch.linspace(gain, 0.0, size) if edge in ("left", "top") else torch.linspace(0.0, gain, size)
    return (images + ramp.view((size, 1) if axis == -2 else (size,)).to(images)).clamp(-1.0, 1.0)


@torch.no_grad()
def light_shift(network: ViewpointNetwork, images: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Per angle, V's mean reading of the images lit from that angle's edge minus lit from the opposite edge,
    in degrees."""
    def reading(edge: str) -> torch.Tensor:
        lit = lit_from(images, edge).split(batch_size)
        return torch.cat([network.read_out(network.per_image(batch)) for batch in lit])

    # One pass of V per lit side, shared by the angles that side's light tests.
    shifts = {edge: torch.rad2deg(reading(edge) - reading(opposite)).mean(dim=0)
              for edge, opposite in OPPOSITE_EDGES.items()}
    return {name: float(shifts[LIGHT_EDGES[name]][index]) for index, name in enumerate(ANGLES)}


def diagnose(model: SSVModule, samples: int = 512, seed: int = 0, consistency_styles: int = 64) -> dict:
    """All checks for the trained S and the EMA S, on seeded styles and viewpoints."""
    rng = torch.Generator().manual_seed(seed)
    codes = model.draw_codes(samples, rng)
    views = sample_views(samples, model.view_ranges.cpu(), generator=rng)
    if samples < 2:
        raise ValueError(f"samples={samples}: R^2 needs at least 2 samples")
    model.eval()
    report = {"view_blind_loss": view_blind_loss(model.view_ranges), "samples": samples, "seed": seed}
    for label, generator in (("generator", model.generator), ("ema_generator", model.ema_generator)):
        fakes = render_fakes(generator, codes, views, DIAGNOSTICS_BATCH)
        report[label] = {
            **fake_view_fit(model.viewpoint_net, fakes, views, DIAGNOSTICS_BATCH),
            "consistency": view_consistency(generator, codes[:consistency_styles], model.view_ranges),
            "light_shift": light_shift(model.viewpoint_net, fakes, DIAGNOSTICS_BATCH),
        }
    return report


def format_report(report: dict, title: str) -> str:
    header = f"{'':<34}" + "".join(f"{name:>11}" for name in ANGLES)
    floor = report["view_blind_loss"]
    lines = [title, f"V's L_v on fakes vs the view-blind floor {floor:.3f}:"]
    for label in ("generator", "ema_generator"):
        view_loss = report[label]["view_loss"]
        lines.append(f"  {label:<16} L_v {view_loss:.3f}: {reading_verdict(view_loss, floor)}")
    lines.append(header)
    for label in ("generator", "ema_generator"):
        entry = report[label]
        lines.append(f"{label + ' R^2 (V on fakes)':<34}" + "".join(f"{entry['fake_r2'][n]:>11.3f}" for n in ANGLES))
        lines.append(f"{label + ' consistency':<34}" + "".join(f"{entry['consistency'][n]:>11.3f}" for n in ANGLES))
        shifts = "".join(f"{entry['light_shift'][n]:>11.2f}" for n in ANGLES)
        lines.append(f"{label + ' light shift (deg)':<34}" + shifts)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="Lightning checkpoint of an SSV model")
    parser.add_argument("--samples", type=int, default=512,
                        help="sampled (style, viewpoint) pairs (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples (default %(default)s)")
    parser.add_argument("--out", type=Path, help=f"folder for {DIAGNOSTICS_FILE} (default: beside the checkpoint)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    model = load_ssv_model(args.ckpt, "diagnose")
    report = diagnose(model, samples=args.samples, seed=args.seed)
    out = args.out or args.ckpt.parent / f"diagnostics-{args.ckpt.stem}"
    out.mkdir(parents=True, exist_ok=True)
    (out / DIAGNOSTICS_FILE).write_text(json.dumps({"checkpoint": str(args.ckpt), **report}, indent=2))
    print(format_report(report, f"Viewpoint diagnostics of {args.ckpt}"))
    print(f"Wrote {out / DIAGNOSTICS_FILE}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (CheckpointError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
