"""The renderer honours the viewpoint convention of ssv.viewpoint: mirror, tilt, determinism."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from ssv.synthetic import CATEGORIES, get_category, render_batch, sample_styles
from ssv.viewpoint import mirror_view, sample_views, tilt_matrix

SIZE = 64


def _styles_and_views(category: str, count: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    styles = sample_styles(category, count, generator)
    return styles, sample_views(count, get_category(category).ranges, generator)


def _with_tilt(views: torch.Tensor, tilt: float) -> torch.Tensor:
    return views + torch.tensor([0.0, 0.0, tilt])


def _light_turned_with_image(styles, tilt: float):
    """The light sits in camera space: turning the image by a tilt must turn the light with it (Rt^T l)."""
    return dataclasses.replace(styles, light=styles.light @ tilt_matrix(torch.tensor(tilt)))


def _eroded(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    inverted = (~mask).float().unsqueeze(1)
    return F.max_pool2d(inverted, 2 * pixels + 1, stride=1, padding=pixels).squeeze(1) == 0


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_mirrored_viewpoint_renders_the_flipped_image(category):
    styles, views = _styles_and_views(category)
    original = render_batch(category, views, styles, SIZE)
    mirrored = render_batch(category, mirror_view(views), styles.mirrored(), SIZE)
    difference = (mirrored.images.int() - original.images.flip(2).int()).abs()
    assert (difference > 1).float().mean() < 1e-3  # exact in practice: the pixel grid is symmetric
    assert (mirrored.masks != original.masks.flip(2)).float().mean() < 1e-3


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_quarter_tilt_turns_the_image_counterclockwise(category):
    # R(a, e, t + q) = R(a, e, t) Rt(q): pixel p of the new image shows what pixel Rt(q) p showed before.
    # For q = pi/2, Rt(q) (x, y) = (-y, x), so new[row, col] = old[col, W-1-row]: torch.rot90 with k=1.
    # With y pointing down the image, a larger tilt turns the image counter-clockwise on screen.
    # The pixel grid is symmetric, so a quarter turn maps pixel centres onto pixel centres: exact.
    styles, views = _styles_and_views(category)
    quarter = math.pi / 2
    original = render_batch(category, views, styles, SIZE)
    turned_light = _light_turned_with_image(styles, quarter)
    tilted = render_batch(category, _with_tilt(views, quarter), turned_light, SIZE)
    inside = _eroded(tilted.masks, 1)
    expected = torch.rot90(original.images, k=1, dims=(1, 2))
    difference = (tilted.images.int() - expected.int()).abs().amax(-1)
    assert (difference[inside] > 1).float().mean() < 1e-3
    assert (tilted.masks != torch.rot90(original.masks, k=1, dims=(1, 2))).float().mean() < 2e-3


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_any_tilt_rotates_the_image_about_its_centre(category):
    styles, views = _styles_and_views(category)
    tilt = 0.5
    original = render_batch(category, views, styles, SIZE)
    tilted = render_batch(category, _with_tilt(views, tilt), _light_turned_with_image(styles, tilt), SIZE)
    inside = _eroded(tilted.masks, 2).unsqueeze(-1).expand_as(tilted.images)
    source = original.images.permute(0, 3, 1, 2).float()

    def errors_when_turned_by(angle: float) -> torch.Tensor:
        # affine_grid: output pixel p samples the input at theta p, here Rt(angle) p.
        theta = tilt_matrix(torch.tensor(angle))[:2].expand(len(views), 2, 3).clone()
        theta[:, :, 2] = 0.0
        grid = F.affine_grid(theta, list(source.shape), align_corners=False)
        turned = F.grid_sample(source, grid, align_corners=False).permute(0, 2, 3, 1)
        return (turned - tilted.images.float()).abs()[inside]

    # Resampling blurs marking edges, so most pixels match exactly and a few edge pixels do not.
    right, wrong = errors_when_turned_by(tilt), errors_when_turned_by(-tilt)
    assert right.median() < 1.0 and wrong.median() > 10.0
    assert right.mean() < wrong.mean() / 5


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_same_seed_same_images_and_views_change_images(category):
    styles, views = _styles_and_views(category, seed=3)
    again_styles, again_views = _styles_and_views(category, seed=3)
    first = render_batch(category, views, styles, 32)
    assert torch.equal(first.images, render_batch(category, again_views, again_styles, 32).images)
    moved = render_batch(category, views + torch.tensor([0.3, 0.1, 0.05]), styles, 32)
    per_image_change = (moved.images.int() - first.images.int()).abs().float().mean(dim=(1, 2, 3))
    assert (per_image_change > 1.0).all()


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_object_is_centred_and_inside_the_frame(category):
    styles, views = _styles_and_views(category, count=8)
    masks = render_batch(category, views, styles, SIZE).masks.float()
    coverage = masks.mean(dim=(1, 2))
    assert ((coverage > 0.05) & (coverage < 0.8)).all()
    coords = torch.arange(SIZE).float() - (SIZE - 1) / 2
    centre_x = (masks * coords).sum(dim=(1, 2)) / masks.sum(dim=(1, 2))
    centre_y = (masks * coords[:, None]).sum(dim=(1, 2)) / masks.sum(dim=(1, 2))
    assert (centre_x.abs() < SIZE / 5).all() and (centre_y.abs() < SIZE / 5).all()


def test_render_batch_shapes_and_types():
    styles, views = _styles_and_views("cars", count=3)
    rendering = render_batch("cars", views, styles, 24)
    assert rendering.images.shape == (3, 24, 24, 3) and rendering.images.dtype == torch.uint8
    assert rendering.masks.shape == (3, 24, 24) and rendering.masks.dtype == torch.bool


def test_unknown_category_lists_the_known_ones():
    with pytest.raises(ValueError, match="buses, cars, faces"):
        sample_styles("trains", 2, torch.Generator())
