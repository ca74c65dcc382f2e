import pytest
import torch
import torch.nn.functional as F

from ssv.losses import (
    adversarial_loss,
    drift_loss,
    gen_flip_loss,
    gradient_penalty_loss,
    imc_loss,
    style_loss,
    sym_loss,
    sym_style_loss,
    view_loss,
)
from ssv.networks import ViewpointOutput
from ssv.viewpoint import encode, mirror_view

VIEWS = torch.tensor([[0.7, -0.2, 0.3], [-1.1, 0.4, -0.5]])


def reading(views: torch.Tensor, style: torch.Tensor | None = None) -> ViewpointOutput:
    """What a confident V outputs for images at ``views``."""
    target = encode(views)
    return ViewpointOutput(score=torch.zeros(len(views)),
                           style=torch.zeros(len(views), 4) if style is None else style,
                           magnitude_logits=target.magnitude.clamp_min(1e-6).log(),
                           sign_logits=20.0 * F.one_hot(target.quadrant, 4).float())


def test_adversarial_loss_is_the_critics_margin_or_the_generators_score():
    fake, real = torch.tensor([1.0, 3.0]), torch.tensor([5.0, 7.0])
    assert adversarial_loss(fake, real).item() == -4.0
    assert adversarial_loss(fake).item() == -2.0
    assert drift_loss(real).item() == 37.0


@pytest.mark.parametrize("slope, penalty", [(1.0, 0.0), (3.0, 4.0)])
def test_gradient_penalty_is_the_squared_distance_of_the_gradient_norm_from_one(slope, penalty):
    direction = F.normalize(torch.randn(3, 4, 4), dim=None)

    def critic(images):
        return slope * (images * direction).flatten(1).sum(1)

    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert gradient_penalty_loss(critic, real, fake, torch.rand(2, 1, 1, 1)).item() == pytest.approx(penalty, abs=1e-5)


def test_view_loss_is_lower_for_the_viewpoints_v_read():
    assert view_loss(reading(VIEWS), VIEWS) + 1.0 < view_loss(reading(VIEWS), VIEWS.flip(0))


def test_sym_loss_wants_the_mirror_read_as_the_mirrored_viewpoint():
    real = reading(VIEWS)
    assert sym_loss(real, reading(mirror_view(VIEWS))) + 1.0 < sym_loss(real, real)


def test_style_terms_are_mean_squared_differences():
    codes = torch.randn(2, 4)
    assert style_loss(reading(VIEWS, codes).style, codes).item() == 0.0
    assert style_loss(reading(VIEWS, codes).style, codes + 2.0).item() == 4.0
    assert sym_style_loss(reading(VIEWS, codes), reading(VIEWS, codes - 1.0)).item() == 1.0


def test_imc_loss_is_one_minus_the_cosine_of_the_features():
    features = torch.randn(2, 8, 3, 3)
    assert imc_loss(features, 5.0 * features).item() == pytest.approx(0.0, abs=1e-6)
    assert imc_loss(features, -features).item() == pytest.approx(2.0)


def test_gen_flip_loss_compares_with_the_detached_flip():
    image = torch.randn(2, 3, 8, 8, requires_grad=True)
    mirrored = image.detach().flip(-1).requires_grad_(True)
    assert gen_flip_loss(mirrored, image).item() == 0.0
    gen_flip_loss(mirrored + 1.0, image).backward()
    assert image.grad is None and mirrored.grad.abs().sum() > 0
