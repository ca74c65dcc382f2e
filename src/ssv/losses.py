"""The SSV loss terms (docs/method.md), as plain functions of network outputs."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def critic_loss(real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss: -mean(D(x)) + mean(D(x_s))."""
    return fake_score.mean() - real_score.mean()


def drift_loss(real_score: torch.Tensor) -> torch.Tensor:
    """ProGAN's drift term mean(D(x)^2), keeping the critic's scores near zero."""
    return real_score.square().mean()


def generator_adversarial_loss(fake_score: torch.Tensor) -> torch.Tensor:
    return -fake_score.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, blend: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: mean((||grad critic(x_hat)|| - 1)^2) at blends x_hat = lerp(x, x_s, blend), blend ``[B,1,1,1]``."""
    # Under mixed precision the fakes come out in the autocast dtype.
    mixed = torch.lerp(real.detach(), fake.detach().to(real.dtype), blend.to(real.dtype)).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1.0).square().mean()


def style_reconstruction_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||z - z-hat||^2 as a mean squared error."""
    return F.mse_loss(predicted, target)


def image_consistency_loss(features_real: torch.Tensor, features_reconstructed: torch.Tensor) -> torch.Tensor:
    """1 - cos(Phi(x), Phi(x_rec)), averaged over the batch."""
    return (1.0 - F.cosine_similarity(features_real.flatten(1), features_reconstructed.flatten(1), dim=1)).mean()


def generator_flip_loss(mirrored_view_image: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """S(z, (-a, e, -t)) against the (detached) horizontal flip of S(z, (a, e, t)), smooth L1."""
    return F.smooth_l1_loss(mirrored_view_image, image.detach().flip(-1))
