import pytest
import torch

from ssv.networks import ViewpointNetwork, ViewpointOutput
from ssv.viewpoint import decode


@pytest.mark.parametrize(("image_size", "blocks"), [(64, [32, 16, 8]), (128, [64, 32, 16, 8])])
def test_viewpoint_output_shapes_and_blocks(image_size, blocks):
    network = ViewpointNetwork(image_size=image_size, code_size=16, width=0.125)
    images = torch.rand(2, 3, image_size, image_size) * 2 - 1
    output = network(images)
    assert isinstance(output, ViewpointOutput)
    assert output.score.shape == (2,)
    assert output.style.shape == (2, 32)
    assert output.magnitude_logits.shape == (2, 3, 2)
    assert output.sign_logits.shape == (2, 3, 4)
    assert network.trunk(images).shape == (2, 64)
    block_names = [name for name in network.encoder._modules if name.startswith("block")]
    assert block_names == [f"block{resolution}" for resolution in blocks]


def test_encoder_starts_from_a_256_channel_1x1_conv_at_half_resolution():
    network = ViewpointNetwork(image_size=128, width=1.0)
    assert network.encoder.from_rgb.weight.shape == (256, 3, 1, 1)
    assert network.encoder.block64[0].weight.shape[:2] == (512, 256)
    assert network.trunk(torch.zeros(2, 3, 128, 128)).shape == (2, 512)


def test_full_resolution_runs_the_first_block_on_every_pixel():
    network = ViewpointNetwork(image_size=32, width=1.0, full_resolution=True)
    stages = list(network.encoder._modules)
    assert stages[:4] == ["from_rgb", "block32", "block16", "block8"] and "downsample" not in stages
    assert network.encoder.from_rgb.weight.shape == (128, 3, 1, 1)
    assert network.encoder.block32[0].weight.shape[:2] == (256, 128)
    assert network.encoder.block16[0].weight.shape[:2] == (512, 256)
    # Detail that averages out over each 2x2 pixel block is invisible to the release's encoder, not to this one.
    blank, checkered = torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32)
    checkered[..., 8:12, 8:12] = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(2, 2)
    release = ViewpointNetwork(image_size=32, width=1.0)
    torch.testing.assert_close(release.trunk(checkered), release.trunk(blank))
    assert not torch.allclose(network.trunk(checkered), network.trunk(blank))


@pytest.mark.parametrize("image_size", [16, 48, 100])
def test_viewpoint_network_rejects_unsupported_sizes(image_size):
    with pytest.raises(ValueError, match="power-of-two"):
        ViewpointNetwork(image_size=image_size)


@pytest.mark.parametrize(("image_size", "full_resolution"), [(64, False), (128, False), (32, True)])
def test_every_viewpoint_parameter_gets_a_gradient(image_size, full_resolution):
    network = ViewpointNetwork(image_size=image_size, code_size=16, width=0.125,
                               full_resolution=full_resolution).train()
    output = network(torch.rand(2, 3, image_size, image_size) * 2 - 1)
    loss = sum((tensor * torch.randn_like(tensor)).sum() for tensor in output)
    loss.backward()
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_eval_mode_is_deterministic():
    network = ViewpointNetwork(image_size=64, code_size=16, width=0.125).eval()
    images = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(network(images).sign_logits, network(images).sign_logits)


def test_one_pass_over_concatenated_batches_splits_into_their_own_outputs():
    network = ViewpointNetwork(image_size=64, code_size=16, width=0.125, head_dropout=0.0)
    batches = torch.rand(3, 4, 3, 64, 64).unbind()
    merged = network(torch.cat(batches), sources=3).split(3)
    for batch, output in zip(batches, merged):
        for merged_field, own_field in zip(output, network(batch)):
            torch.testing.assert_close(merged_field, own_field)


@pytest.mark.parametrize("stddev_group", [None, 2])
def test_a_per_image_prediction_is_the_same_alone_and_inside_any_batch(stddev_group):
    network = ViewpointNetwork(image_size=64, code_size=16, width=0.125, stddev_group=stddev_group).eval()
    images = torch.rand(8, 3, 64, 64) * 2 - 1
    alone = torch.cat([network.per_image(image[None]).sign_logits for image in images])
    for size in (2, 3, 8):
        batched = torch.cat([network.per_image(chunk).sign_logits for chunk in images.split(size)])
        torch.testing.assert_close(batched, alone)
    among_others = network.per_image(torch.cat([images[:1], torch.rand(5, 3, 64, 64)])).sign_logits[0]
    torch.testing.assert_close(among_others, alone[0])
    # The training rule (one stddev channel over the batch) does depend on the batch mates.
    assert not torch.allclose(network(images).sign_logits[0], alone[0])


def test_the_last_block_normalises_after_its_3x3_conv_as_the_release_does():
    network = ViewpointNetwork(image_size=128, width=1.0)
    final = [type(layer).__name__ for layer in network.encoder.final]
    assert final == ["EqualConv2d", "InstanceNorm2d", "LeakyReLU", "EqualConv2d", "LeakyReLU", "Flatten"]
    assert network.encoder.final[0].weight.shape == (512, 513, 3, 3)
    assert network.encoder.final[3].weight.shape == (512, 512, 4, 4)


def test_read_views_decodes_the_per_image_outputs_to_radians():
    network = ViewpointNetwork(image_size=64, code_size=16, width=0.125).eval()
    images = torch.rand(4, 3, 64, 64) * 2 - 1
    views = network.read_views(images)
    assert views.shape == (4, 3)
    alone = torch.cat([network.read_views(image[None]) for image in images])
    torch.testing.assert_close(views, alone)
    assert views.abs().max() <= torch.pi


def test_read_views_takes_signs_with_the_network_s_readout():
    network = ViewpointNetwork(image_size=32, code_size=16, width=0.125, sign_readout="expected").eval()
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    output = network.per_image(images)
    torch.testing.assert_close(network.read_views(images),
                               decode(output.magnitude_logits, output.sign_logits, readout="expected"))
    with pytest.raises(ValueError, match="sign_readout"):
        ViewpointNetwork(image_size=32, sign_readout="mean")
