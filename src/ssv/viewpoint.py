"""Viewpoint math: rotations, the spherical-regression encoding, mirror targets and sampling.

A viewpoint is a tensor ``[..., 3]`` holding (azimuth, elevation, tilt) in radians.
Coordinates follow ``torch.nn.functional.affine_grid``: x to the image's right, y down the image,
z along the viewing direction (depth).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ssv.choices import SIGN_READOUTS

ANGLES = ("azimuth", "elevation", "tilt")


def _axis_rotation(angle: torch.Tensor, rows: tuple[tuple, tuple, tuple]) -> torch.Tensor:
    """Builds ``[..., 3, 3]`` from a template whose entries are 0, 1, 'c', 's' or '-s'."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    lookup = {0: zero, 1: one, "c": cos, "s": sin, "-s": -sin}
    return torch.stack([torch.stack([lookup[entry] for entry in row], dim=-1) for row in rows], dim=-2)


def azimuth_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Ra: rotation about the vertical (y) axis."""
    return _axis_rotation(angle, (("c", 0, "s"), (0, 1, 0), ("-s", 0, "c")))


def elevation_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Re: rotation about the horizontal (x) axis."""
    return _axis_rotation(angle, ((1, 0, 0), (0, "c", "-s"), (0, "s", "c")))


def tilt_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Rt: rotation about the viewing (z) axis, an in-image rotation."""
    return _axis_rotation(angle, (("c", "-s", 0), ("s", "c", 0), (0, 0, 1)))


def rotation_matrix(view: torch.Tensor) -> torch.Tensor:
    """R(v) = Ra(a) @ Re(e) @ Rt(t) for a batch of viewpoints ``[..., 3]`` -> ``[..., 3, 3]``.

    Used as the ``theta`` of an affine sampling grid, output coordinate p samples the input at R p,
    so an object point q is seen at R^T q: tilt acts last, as a pure rotation of the image.
    """
    azimuth, elevation, tilt = view.unbind(-1)
    return azimuth_matrix(azimuth) @ elevation_matrix(elevation) @ tilt_matrix(tilt)


def mirror_view(view: torch.Tensor) -> torch.Tensor:
    """The viewpoint of the horizontally flipped image: (a, e, t) -> (-a, e, -t)."""
    return view * view.new_tensor([-1.0, 1.0, -1.0])


def sample_views(
    count: int,
    ranges: torch.Tensor | tuple[float, float, float],
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Uniform viewpoints in [-range, range] per angle, ``[count, 3]``."""
    ranges = torch.as_tensor(ranges, dtype=torch.float32, device=device)
    unit = torch.rand(count, 3, generator=generator, device=ranges.device)
    return (2.0 * unit - 1.0) * ranges


class SphericalTarget(NamedTuple):
    """Spherical-regression target per angle: magnitudes ``[B, 3, 2]`` = (cos^2, sin^2), quadrant ``[B, 3]``."""

    magnitude: torch.Tensor
    quadrant: torch.Tensor


def quadrant_of(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """0: cos>=0, sin>=0; 1: cos>=0, sin<0; 2: cos<0, sin>=0; 3: cos<0, sin<0."""
    return 2 * (cos < 0).long() + (sin < 0).long()


def encode(view: torch.Tensor) -> SphericalTarget:
    """Encodes viewpoints ``[B, 3]`` (radians) as spherical-regression targets."""
    cos, sin = torch.cos(view), torch.sin(view)
    magnitude = torch.stack([cos.square(), sin.square()], dim=-1)
    return SphericalTarget(magnitude=magnitude, quadrant=quadrant_of(cos, sin))


_QUADRANT_SIGNS = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])


def quadrant_signs(sign_logits: torch.Tensor, readout: str = "argmax") -> torch.Tensor:
    """Signs of (cos, sin) ``[..., 2]`` from quadrant logits ``[..., 4]``: the likeliest quadrant's, +-1 ("argmax", the
    release), or their mean under the quadrant probabilities, within [-1, 1] ("expected"), so that an unsure sign
    pulls the angle towards the axis it is unsure about instead of flipping it to one side."""
    table = _QUADRANT_SIGNS.to(sign_logits.device)
    if readout == "argmax":
        return table[sign_logits.argmax(dim=-1)]
    if readout == "expected":
        return F.softmax(sign_logits.float(), dim=-1) @ table
    raise ValueError(f"sign readout must be one of {SIGN_READOUTS}, got {readout!r}")


def decode(magnitude_logits: torch.Tensor, sign_logits: torch.Tensor, readout: str = "argmax") -> torch.Tensor:
    """Angles ``[B, 3]`` from magnitude logits ``[B, 3, 2]`` and quadrant logits ``[B, 3, 4]``."""
    # The clamp keeps the gradient of sqrt finite where a probability underflows to zero.
    abs_cos_sin = F.softmax(magnitude_logits.float(), dim=-1).clamp_min(1e-12).sqrt()
    cos, sin = (abs_cos_sin * quadrant_signs(sign_logits, readout)).unbind(-1)
    return torch.atan2(sin, cos)


def viewpoint_loss(
    magnitude_logits: torch.Tensor, sign_logits: torch.Tensor, target: SphericalTarget
) -> torch.Tensor:
    """L_v: soft cross-entropy on magnitudes plus quadrant cross-entropy, summed over angles, batch mean."""
    log_magnitude = F.log_softmax(magnitude_logits, dim=-1)
    magnitude_term = -(target.magnitude * log_magnitude).sum(dim=-1).sum(dim=-1)
    sign_term = F.cross_entropy(
        sign_logits.flatten(0, -2), target.quadrant.flatten(), reduction="none"
    ).view(target.quadrant.shape).sum(dim=-1)
    return (magnitude_term + sign_term).mean()


# Mirroring negates sin for azimuth and tilt: quadrant 0 <-> 1 and 2 <-> 3; elevation is unchanged.
_MIRROR_QUADRANT = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
_MIRRORED_ANGLES = torch.tensor([1, 0, 1])


def mirror_target(magnitude_logits: torch.Tensor, sign_logits: torch.Tensor) -> SphericalTarget:
    """Pseudo-target for the mirror image from (detached) predictions on the original image."""
    magnitude = F.softmax(magnitude_logits.detach(), dim=-1)
    quadrant = sign_logits.detach().argmax(dim=-1)
    table = _MIRROR_QUADRANT.to(quadrant.device)[_MIRRORED_ANGLES.to(quadrant.device)]  # [3, 4]
    mirrored = torch.gather(table.expand(quadrant.shape[0], 3, 4), 2, quadrant.unsqueeze(-1)).squeeze(-1)
    return SphericalTarget(magnitude=magnitude, quadrant=mirrored)
