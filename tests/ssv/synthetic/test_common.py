import pytest
import torch

from ssv.synthetic import CATEGORIES
from ssv.synthetic.common import EDGE, Sampler, band, ellipse, fade, overlay, rectangle, solid_colour, vector
from ssv.synthetic.raycast import cast
from ssv.viewpoint import rotation_matrix, sample_views


def sampler(seed: int = 0, count: int = 5) -> Sampler:
    return Sampler(count, torch.Generator().manual_seed(seed))


def test_sampler_draws_count_values_in_range_from_its_generator_alone():
    values = sampler().uniform(2.0, 3.0)
    assert values.shape == (5,) and ((values >= 2.0) & (values < 3.0)).all()
    assert torch.equal(values, sampler().uniform(2.0, 3.0))
    assert not torch.equal(values, sampler(seed=1).uniform(2.0, 3.0))
    assert set(sampler(count=50).chance(0.5).tolist()) == {0.0, 1.0}


def test_sampler_colours_are_palette_entries_within_the_jitter():
    palette = [(0.2, 0.2, 0.2), (0.9, 0.1, 0.5)]
    colours = sampler(count=20).colour(palette, jitter=0.05)
    distance = (colours[:, None] - torch.tensor(palette)).abs().amax(-1).amin(-1)
    assert colours.shape == (20, 3) and (distance <= 0.05 + 1e-6).all()


def test_vector_broadcasts_floats_against_a_batch():
    assert torch.equal(vector(1.0, torch.tensor([2.0, 3.0]), 0.0), torch.tensor([[1.0, 2.0, 0.0], [1.0, 3.0, 0.0]]))
    assert vector(1.0, 2.0, 3.0, like=torch.zeros(4)).shape == (4, 3)


def test_markings_cover_their_inside_and_fade_over_an_edge():
    assert fade(torch.tensor([-EDGE, 0.0, EDGE])).tolist() == [1.0, 0.5, 0.0]
    u, v = torch.tensor([0.0, 0.25, 0.5]), torch.zeros(3)
    assert rectangle(u, v, 0.25, 0.1).tolist() == [1.0, 0.5, 0.0]
    assert ellipse(u, v, 0.25, 0.1).tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert band(u, 0.1, 0.3).tolist() == [0.0, 1.0, 0.0]


def test_overlay_and_solid_colour_paint_per_pixel():
    base = torch.zeros(3, 1, 2)
    painted = overlay(base, (1.0, 0.5, 0.0), torch.tensor([[1.0, 0.0]]))
    assert painted[:, 0].T.tolist() == [[1.0, 0.5, 0.0], [0.0, 0.0, 0.0]]
    red, blue = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 1.0]])
    assert solid_colour(torch.tensor([[1, 0]]), [red, blue])[:, 0].T.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_every_category_paints_its_hits_in_colours_within_the_unit_range(name):
    category = CATEGORIES[name]
    shape = category.sample_shape(sampler(count=3))
    assert all(len(value) == 3 for value in shape.values())
    views = sample_views(3, category.ranges, torch.Generator().manual_seed(0))
    hits = cast(category.build(shape), rotation_matrix(views), 24)
    surface = category.paint(shape, hits)
    assert surface.albedo.shape == (3, 3, 24 * 24) and surface.gloss.shape == (3, 24 * 24)
    assert hits.mask.any(-1).all()
    assert ((surface.albedo >= 0) & (surface.albedo <= 1)).all() and (surface.gloss >= 0).all()
