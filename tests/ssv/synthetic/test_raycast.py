import math

import pytest
import torch

from ssv.synthetic.raycast import Primitives, cast, cylinder, ellipsoid, pixel_coordinates, rounded_box

SIZE = 16
FRONT = torch.eye(3).unsqueeze(0)
# Camera x looks along object z: a quarter turn about the vertical axis.
QUARTER_TURN = torch.tensor([[[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])


def triple(x: float, y: float, z: float) -> torch.Tensor:
    return torch.tensor([[x, y, z]])


def silhouette(solids, rotation=FRONT) -> torch.Tensor:
    return cast(Primitives.stack(solids), rotation, SIZE).mask.view(SIZE, SIZE)


def test_pixel_centres_are_symmetric_about_zero():
    assert pixel_coordinates(4).tolist() == [-0.75, -0.25, 0.25, 0.75]


def test_a_sphere_hits_the_pixels_inside_its_disc_on_its_near_side_with_radial_normals():
    hits = cast(Primitives.stack([ellipsoid(triple(0, 0, 0), triple(0.5, 0.5, 0.5))]), FRONT, SIZE)
    coordinates = pixel_coordinates(SIZE)
    inside = (coordinates.view(-1, 1).square() + coordinates.square() < 0.25).flatten()
    assert torch.equal(hits.mask[0], inside)
    centre = SIZE // 2 * SIZE + SIZE // 2
    assert hits.point[2, 0, centre].item() == pytest.approx(-math.sqrt(0.25 - 2 / SIZE**2), abs=1e-5)
    torch.testing.assert_close(hits.normal[:, 0, inside], hits.point[:, 0, inside] / 0.5, atol=1e-4, rtol=0)


def test_a_box_with_far_rounding_is_a_square_and_misses_outside():
    mask = silhouette([rounded_box(triple(0, 0, 0), triple(0.5, 0.5, 0.5), triple(9.0, 9.0, 9.0))])
    assert mask.sum() == (SIZE // 2) ** 2 and mask[SIZE // 4:3 * SIZE // 4, SIZE // 4:3 * SIZE // 4].all()


def test_the_silhouette_turns_with_the_view():
    long_box = rounded_box(triple(0, 0, 0), triple(0.25, 0.25, 0.75), triple(9.0, 9.0, 9.0))
    assert silhouette([long_box]).any(0).sum() == SIZE // 4
    assert silhouette([long_box], QUARTER_TURN).any(0).sum() == 3 * SIZE // 4


def test_a_cylinder_is_bounded_by_its_half_size_along_its_axis():
    wheel = cylinder(triple(0, 0, 0), triple(0.5, 0.5, 0.5), triple(0.75, 0.75, 0.75), axis=0)
    mask = silhouette([wheel])
    assert mask.any(0).sum() == 3 * SIZE // 4 and mask.any(1).sum() == SIZE // 2


def test_the_nearest_of_two_solids_is_the_part_seen():
    near = ellipsoid(triple(0, 0, -0.5), triple(0.2, 0.2, 0.2))
    far = ellipsoid(triple(0, 0, 0.3), triple(0.6, 0.6, 0.6))
    hits = cast(Primitives.stack([far, near]), FRONT, SIZE)
    centre, edge = SIZE // 2 * SIZE + SIZE // 2, SIZE // 2 * SIZE + 3
    assert hits.part[0, centre] == 1 and hits.part[0, edge] == 0
