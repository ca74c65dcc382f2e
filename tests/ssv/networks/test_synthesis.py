import math

import pytest
import torch

from ssv.networks import MappingNetwork, SynthesisNetwork, rotate_volume
from ssv.networks.layers import AdaptiveInstanceNorm
from ssv.viewpoint import mirror_view, rotation_matrix


def _codes(batch: int, code_size: int) -> torch.Tensor:
    return torch.rand(batch, 2 * code_size) * 2 - 1


@pytest.mark.parametrize(("image_size", "blocks"), [(64, 2), (128, 3)])
def test_synthesis_output_shape(image_size, blocks):
    network = SynthesisNetwork(image_size=image_size, code_size=16, width=0.125, mapping_layers=2)
    images = network(_codes(2, 16), torch.rand(2, 3))
    assert images.shape == (2, 3, image_size, image_size)
    assert len(network.image_blocks) == blocks


def test_synthesis_channel_counts_follow_the_width():
    network = SynthesisNetwork(image_size=128, width=0.25)
    assert network.constant.shape == (1, 128, 4, 4, 4)
    assert network.projection.conv.weight.shape[:2] == (128, 16 * 16)
    assert [block.second.conv.weight.shape[0] for block in network.image_blocks] == [64, 16, 8]


@pytest.mark.parametrize("kwargs", [{"image_size": 48}, {"image_size": 16}, {"rotation_sampling": "cubic"}])
def test_synthesis_rejects_unsupported_settings(kwargs):
    with pytest.raises(ValueError):
        SynthesisNetwork(**kwargs)


def test_mapping_is_one_separate_network_applied_to_both_halves():
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=3)
    assert isinstance(network.mapping, MappingNetwork)
    assert sum(isinstance(module, MappingNetwork) for module in network.modules()) == 1
    assert len(network.mapping.net) == 1 + 2 * 3
    seen = []
    network.mapping.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    z = _codes(2, 16)
    network(z, torch.zeros(2, 3))
    torch.testing.assert_close(torch.stack(seen), torch.stack([z[:, :16], z[:, 16:]]))


def test_the_pre_rotation_volume_depends_on_z1_only():
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2)
    z = _codes(2, 16)
    other_z2 = torch.cat([z[:, :16], _codes(2, 8)], dim=1)
    torch.testing.assert_close(network.styled_volume(z), network.styled_volume(other_z2))
    view = torch.rand(2, 3)
    torch.testing.assert_close(network.render(network.styled_volume(z), z, view), network(z, view))


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_every_synthesis_parameter_gets_a_gradient(mode):
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2,
                               rotation_sampling=mode)
    images = network(_codes(2, 16), torch.rand(2, 3))
    (images * torch.randn_like(images)).sum().backward()
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_view_and_both_style_halves_change_the_image():
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2)
    z, view = _codes(1, 16), torch.tensor([[0.5, 0.2, 0.1]])
    reference = network(z, view)
    other_z1, other_z2 = z.clone(), z.clone()
    other_z1[:, :16] = -other_z1[:, :16]
    other_z2[:, 16:] = -other_z2[:, 16:]
    for changed in (network(other_z1, view), network(other_z2, view), network(z, -view)):
        assert not torch.allclose(changed, reference)


def _symmetric_volume() -> torch.Tensor:
    volume = torch.randn(2, 3, 8, 8, 8)
    return volume + volume.flip(-1)


def test_mirrored_view_flips_a_symmetric_volume_bilinear():
    volume, view = _symmetric_volume(), torch.tensor([[0.7, -0.4, 0.3], [-1.2, 0.5, -0.6]])
    mirrored = rotate_volume(volume, mirror_view(view), "bilinear")
    expected = rotate_volume(volume, view, "bilinear").flip(-1)
    torch.testing.assert_close(mirrored, expected, atol=1e-5, rtol=1e-5)


def test_mirrored_view_flips_a_symmetric_volume_nearest():
    volume, view = _symmetric_volume(), torch.tensor([[0.7, -0.4, 0.3], [-1.2, 0.5, -0.6]])
    mirrored = rotate_volume(volume, mirror_view(view), "nearest")
    expected = rotate_volume(volume, view, "nearest").flip(-1)
    assert torch.isclose(mirrored, expected, atol=1e-5).float().mean() > 0.99


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_identity_view_leaves_the_volume_unchanged(mode):
    volume = torch.randn(2, 3, 6, 8, 10)
    torch.testing.assert_close(rotate_volume(volume, torch.zeros(2, 3), mode), volume)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_quarter_azimuth_moves_a_feature_from_plus_x_to_plus_z(mode):
    # Output p samples the input at Ra(pi/2) p = (p_z, p_y, -p_x): input (x0, 0, 0) appears at (0, 0, x0).
    volume = torch.zeros(1, 1, 9, 9, 9)
    centre, plus = 4, 7  # index 4 is coordinate 0 and index 7 is +2/3 with align_corners=False
    volume[0, 0, centre, centre, plus] = 1.0  # [D (z), H (y), W (x)]
    rotated = rotate_volume(volume, torch.tensor([[math.pi / 2, 0.0, 0.0]]), mode)
    assert rotated[0, 0, plus, centre, centre].item() == pytest.approx(1.0, abs=1e-4)
    assert rotated.sum().item() == pytest.approx(1.0, abs=1e-4)


def _layer_sequence(module: torch.nn.Module) -> list[str]:
    """Leaf layers in call order: a conv as "conv in->out", AdaIN as "adain", activations by name."""
    names = []
    for layer in module.modules():
        if list(layer.children()) and not isinstance(layer, AdaptiveInstanceNorm):
            continue
        if hasattr(layer, "weight") and getattr(layer, "weight") is not None and layer.weight.dim() >= 4:
            names.append(f"conv {layer.weight.shape[1]}->{layer.weight.shape[0]}")
        elif isinstance(layer, AdaptiveInstanceNorm):
            names.append("adain")
        elif isinstance(layer, torch.nn.LeakyReLU):
            names.append("lrelu")
        elif isinstance(layer, torch.nn.PReLU):
            names.append("prelu")
    return names


def test_full_width_synthesis_follows_the_release_layer_by_layer():
    network = SynthesisNetwork(image_size=128, width=1.0)
    assert network.constant.shape == (1, 512, 4, 4, 4)
    styled = ["adain", "lrelu"]
    assert _layer_sequence(network.volume_blocks) == (
        styled + ["conv 512->512"] + styled  # the constant replaces the first convolution
        + ["conv 512->256"] + styled + ["conv 256->256"] + styled
        + ["conv 256->128"] + styled + ["conv 128->128"] + styled
    )
    assert _layer_sequence(network.rotated_convs) == [
        "conv 128->64", "lrelu", "conv 64->64", "lrelu", "conv 64->64", "lrelu", "conv 64->64", "lrelu"]
    assert _layer_sequence(network.projection) == ["conv 1024->512", "prelu"]
    assert _layer_sequence(network.image_blocks) == (
        ["conv 512->256"] + styled + ["conv 256->256"] + styled
        + ["conv 256->64"] + styled + ["conv 64->64"] + styled
        + ["conv 64->32"] + styled + ["conv 32->32"] + styled
    )
    assert network.to_rgb.weight.shape[:2] == (3, 32)


def test_nearest_rotation_reads_each_voxel_at_the_rotated_voxel_centre():
    """Output voxel p reads the input voxel nearest to c + R (p - c), c the volume's centre (x, y, z order)."""
    torch.manual_seed(0)
    size = 5
    volume = torch.randn(1, 1, size, size, size)
    view = torch.tensor([[0.4, -0.3, 0.2]])
    rotated = rotate_volume(volume, view, "nearest")[0, 0]
    rotation, centre = rotation_matrix(view)[0], (size - 1) / 2
    grid = torch.stack(torch.meshgrid(*[torch.arange(size)] * 3, indexing="ij"), -1)
    xyz = grid.flip(-1).float()  # [z, y, x] indices -> (x, y, z) coordinates
    source = torch.round(centre + (xyz - centre) @ rotation.T).long()
    inside = ((source >= 0) & (source < size)).all(-1)
    x, y, z = source.clamp(0, size - 1).unbind(-1)
    expected = torch.where(inside, volume[0, 0][z, y, x], torch.zeros(()))
    torch.testing.assert_close(rotated, expected)


def test_style_init_scale_damps_only_the_adain_style_weights():
    torch.manual_seed(0)
    plain = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2)
    torch.manual_seed(0)
    damped = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2, style_init_scale=0.1)
    for (name, before), after in zip(plain.state_dict().items(), damped.state_dict().values()):
        if name.endswith("adain.style.weight"):
            torch.testing.assert_close(after, 0.1 * before)
        else:
            torch.testing.assert_close(after, before, msg=name)


def test_image_style_init_scale_sets_the_2d_blocks_apart_from_the_3d_blocks():
    torch.manual_seed(0)
    plain = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2)
    torch.manual_seed(0)
    damped_3d = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2, style_init_scale=0.1,
                                 image_style_init_scale=1.0)
    for (name, before), after in zip(plain.state_dict().items(), damped_3d.state_dict().values()):
        scale = 0.1 if name.startswith("volume_blocks.") and name.endswith("adain.style.weight") else 1.0
        torch.testing.assert_close(after, scale * before, msg=name)


def test_without_image_styles_the_2d_blocks_are_plain_and_z2_takes_no_part():
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2, image_styles=False)
    assert not any(isinstance(module, AdaptiveInstanceNorm) for module in network.image_blocks.modules())
    assert [type(layer).__name__ for layer in network.image_blocks[0].convs] == [
        "EqualConv2d", "LeakyReLU", "EqualConv2d", "LeakyReLU"]
    z, view = _codes(2, 16), torch.rand(2, 3)
    other_z2 = torch.cat([z[:, :16], _codes(2, 8)], dim=1)
    torch.testing.assert_close(network(z, view), network(other_z2, view))
    other_z1 = torch.cat([-z[:, :16], z[:, 16:]], dim=1)
    assert not torch.allclose(network(other_z1, view), network(z, view))


def test_without_image_styles_every_parameter_gets_a_gradient():
    network = SynthesisNetwork(image_size=64, code_size=16, width=0.125, mapping_layers=2, image_styles=False,
                               rotation_sampling="bilinear")
    images = network(_codes(2, 16), torch.rand(2, 3))
    (images * torch.randn_like(images)).sum().backward()
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
