"""The SSV loss terms (docs/method.md), as plain functions of network outputs.

Each term has one name: ``<name>_loss`` here, the weight ``loss.<name>`` in the config schema
(``ssv.config.LossConfig``) and the log keys ``v/<name>`` and ``s/<name>`` of the steps that use it. Adding a
term takes a function here, a weight in the schema and a line in the step that computes it.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ssv.networks import ViewpointOutput
from ssv.viewpoint import encode, mirror_target, viewpoint_loss


def adversarial_loss(fake_score: torch.Tensor, real_score: torch.Tensor | None = None) -> torch.Tensor:
    """The WGAN game, one term under one weight for both players.

    With ``real_score`` it is the critic's side (V's step), -mean(D(x)) + mean(D(x_s)); without, the
    generator's side (S's step), -mean(D(x_s)).
    """
    if real_score is None:
        return -fake_score.mean()
    return fake_score.mean() - real_score.mean()


def drift_loss(real_score: torch.Tensor) -> torch.Tensor:
    """ProGAN's drift term mean(D(x)^2), keeping the critic's scores near zero."""
    return real_score.square().mean()


def gradient_penalty_loss(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, blend: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: mean((||grad critic(x_hat)|| - 1)^2) at blends x_hat = lerp(x, x_s, blend), blend ``[B,1,1,1]``."""
    # Under mixed precision the fakes come out in the autocast dtype.
    mixed = torch.lerp(real.detach(), fake.detach().to(real.dtype), blend.to(real.dtype)).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1.0).square().mean()


def style_loss(style: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """L_z: ||z - z-hat||^2 as a mean squared error between the codes S was given and V's reading of them."""
    return F.mse_loss(style, codes)


def view_loss(output: ViewpointOutput, views: torch.Tensor) -> torch.Tensor:
    """L_v: V's reading of the viewpoints ``[B, 3]`` (radians) S was given."""
    return viewpoint_loss(output.magnitude_logits, output.sign_logits, encode(views))


def sym_loss(real: ViewpointOutput, mirror: ViewpointOutput) -> torch.Tensor:
    """L_sym: V on the mirrored image against the mirrored (detached) reading of the original."""
    target = mirror_target(real.magnitude_logits, real.sign_logits)
    return viewpoint_loss(mirror.magnitude_logits, mirror.sign_logits, target)


def sym_style_loss(real: ViewpointOutput, mirror: ViewpointOutput) -> torch.Tensor:
    """The paper's ||z-hat(x) - z-hat(x_f)||^2: an image and its mirror have one style."""
    return F.mse_loss(mirror.style, real.style)


def imc_loss(features_real: torch.Tensor, features_reconstructed: torch.Tensor) -> torch.Tensor:
    """L_imc: 1 - cos(Phi(x), Phi(x_rec)), averaged over the batch."""
    return (1.0 - F.cosine_similarity(features_real.flatten(1), features_reconstructed.flatten(1), dim=1)).mean()


def gen_flip_loss(mirrored_view_image: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """S(z, (-a, e, -t)) against the (detached) horizontal flip of S(z, (a, e, t)), smooth L1."""
    return F.smooth_l1_loss(mirrored_view_image, image.detach().flip(-1))
