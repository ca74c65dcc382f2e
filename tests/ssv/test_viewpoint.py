import math

import pytest
import torch
import torch.nn.functional as F

from ssv import viewpoint as vp


def one_hot_logits(target: vp.SphericalTarget) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits whose softmax/argmax reproduce a target exactly."""
    magnitude_logits = target.magnitude.clamp_min(1e-30).log()
    sign_logits = F.one_hot(target.quadrant, 4).float() * 10.0
    return magnitude_logits, sign_logits


def angles_in_every_quadrant(count: int = 4000) -> torch.Tensor:
    return (torch.rand(count, 3) * 2.0 - 1.0) * (math.pi - 1e-3)


def test_encode_then_decode_returns_the_angle():
    angles = angles_in_every_quadrant()
    target = vp.encode(angles)
    assert set(target.quadrant.unique().tolist()) == {0, 1, 2, 3}
    decoded = vp.decode(*one_hot_logits(target))
    assert torch.allclose(decoded, angles, atol=1e-5)


def test_the_expected_sign_readout_agrees_with_argmax_where_the_quadrant_is_certain():
    angles = angles_in_every_quadrant()
    decoded = vp.decode(*one_hot_logits(vp.encode(angles)), readout="expected")
    assert torch.allclose(decoded, angles, atol=1e-3)


def test_an_unsure_sign_reads_near_zero_with_the_expected_readout_and_far_out_with_argmax():
    magnitude_logits = vp.encode(torch.full((1, 3), 0.5)).magnitude.log()  # |angle| = 0.5 rad on every angle
    sign_logits = torch.tensor([[[2.0, 2.0, -9.0, -9.0]] * 3])  # quadrants 0 and 1 (+sin, -sin) alike
    sign_logits[0, 0, 1] -= 0.2  # the argmax picks +sin, the expectation barely leans that way
    argmax = vp.decode(magnitude_logits, sign_logits, readout="argmax")
    expected = vp.decode(magnitude_logits, sign_logits, readout="expected")
    assert torch.allclose(argmax, torch.full((1, 3), 0.5), atol=1e-3)
    assert 0.0 < expected[0, 0] < 0.1 and expected[0, 1:].abs().max() < 1e-4


def test_an_unknown_sign_readout_is_refused():
    with pytest.raises(ValueError, match="sign readout"):
        vp.decode(torch.zeros(1, 3, 2), torch.zeros(1, 3, 4), readout="mean")


def test_encoding_magnitudes_are_probabilities_and_quadrants_follow_the_spec():
    target = vp.encode(torch.tensor([[0.3, -0.3, 2.0], [-2.0, 0.0, 1.2]]))
    assert torch.allclose(target.magnitude.sum(-1), torch.ones(2, 3))
    assert target.quadrant.tolist() == [[0, 1, 2], [3, 0, 0]]


def test_mirror_target_equals_encoding_of_the_mirrored_view():
    angles = angles_in_every_quadrant()
    mirrored = vp.mirror_target(*one_hot_logits(vp.encode(angles)))
    expected = vp.encode(vp.mirror_view(angles))
    assert torch.equal(mirrored.quadrant, expected.quadrant)
    assert torch.allclose(mirrored.magnitude, expected.magnitude, atol=1e-6)


def test_mirror_target_is_detached():
    magnitude_logits = torch.randn(5, 3, 2, requires_grad=True)
    sign_logits = torch.randn(5, 3, 4, requires_grad=True)
    target = vp.mirror_target(magnitude_logits, sign_logits)
    assert not target.magnitude.requires_grad


def test_rotation_is_azimuth_then_elevation_then_tilt():
    a, e, t = 0.4, -0.7, 1.1
    ca, sa, ce, se, ct, st = math.cos(a), math.sin(a), math.cos(e), math.sin(e), math.cos(t), math.sin(t)
    ra = torch.tensor([[ca, 0, sa], [0, 1, 0], [-sa, 0, ca]])
    re = torch.tensor([[1, 0, 0], [0, ce, -se], [0, se, ce]])
    rt = torch.tensor([[ct, -st, 0], [st, ct, 0], [0, 0, 1]])
    rotation = vp.rotation_matrix(torch.tensor([[a, e, t]]))[0]
    assert torch.allclose(rotation, ra @ re @ rt, atol=1e-6)
    assert not torch.allclose(rotation, rt @ re @ ra, atol=1e-3)


def test_rotations_are_proper_and_batched():
    rotations = vp.rotation_matrix(angles_in_every_quadrant(64).view(8, 8, 3))
    assert rotations.shape == (8, 8, 3, 3)
    identity = torch.eye(3).expand(8, 8, 3, 3)
    assert torch.allclose(rotations @ rotations.transpose(-1, -2), identity, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotations), torch.ones(8, 8), atol=1e-5)


def test_horizontal_mirror_conjugates_the_rotation_to_the_mirrored_view():
    angles = angles_in_every_quadrant(100)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    assert torch.allclose(
        mirror @ vp.rotation_matrix(angles) @ mirror, vp.rotation_matrix(vp.mirror_view(angles)), atol=1e-6
    )


def test_tilt_composes_as_an_in_image_rotation_applied_last():
    view = torch.tensor([[0.5, 0.3, 0.0]])
    tilted = view + torch.tensor([[0.0, 0.0, 0.25]])
    # An object point q is seen at R^T q: extra tilt rotates the seen point about the viewing axis.
    seen = vp.rotation_matrix(view)[0].T
    seen_tilted = vp.rotation_matrix(tilted)[0].T
    assert torch.allclose(seen_tilted, vp.tilt_matrix(torch.tensor(-0.25)) @ seen, atol=1e-6)


def test_viewpoint_loss_is_smallest_at_the_target():
    angles = angles_in_every_quadrant(32)
    target = vp.encode(angles)
    exact = vp.viewpoint_loss(*one_hot_logits(target), target)
    other = vp.viewpoint_loss(*one_hot_logits(vp.encode(angles + 0.5)), target)
    assert exact < other
    # The soft cross-entropy's floor is the target's entropy; the quadrant term nearly vanishes.
    entropy = -(target.magnitude * target.magnitude.clamp_min(1e-30).log()).sum((-1, -2)).mean()
    assert exact == pytest.approx(entropy.item(), abs=1e-3)


def test_sample_views_are_uniform_in_range_and_seeded():
    ranges = (1.4, 1.2, 0.75)
    views = vp.sample_views(20000, ranges, generator=torch.Generator().manual_seed(3))
    again = vp.sample_views(20000, ranges, generator=torch.Generator().manual_seed(3))
    assert torch.equal(views, again)
    limits = torch.tensor(ranges)
    assert (views.abs() <= limits).all()
    assert torch.allclose(views.abs().max(0).values, limits, atol=1e-3)
    assert torch.allclose(views.mean(0), torch.zeros(3), atol=0.03)
