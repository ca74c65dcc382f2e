import math

import pytest
import torch
import torch.nn.functional as F

from ssv.networks.layers import (
    AdaptiveInstanceNorm,
    EqualConv2d,
    EqualConv3d,
    EqualLinear,
    MinibatchStdDev,
    PixelNorm,
    scaled_channels,
)


@pytest.mark.parametrize(
    ("layer", "fan_in"),
    [
        (lambda: EqualLinear(256, 128), 256),
        (lambda: EqualConv2d(64, 32, 3, padding=1), 64 * 9),
        (lambda: EqualConv3d(16, 32, 3, padding=1), 16 * 27),
    ],
)
def test_equalised_weights_are_standard_normal_and_he_scaled_at_run_time(layer, fan_in):
    module = layer()
    assert abs(module.weight.mean().item()) < 0.02
    assert module.weight.std().item() == pytest.approx(1.0, abs=0.03)
    assert torch.count_nonzero(module.bias) == 0
    torch.testing.assert_close(module.effective_weight(), module.weight * math.sqrt(2.0 / fan_in))


def test_equal_linear_uses_the_scaled_weight_and_keeps_he_variance():
    layer = EqualLinear(512, 256)
    x = torch.randn(1024, 512)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight * math.sqrt(2.0 / 512), layer.bias))
    assert layer(x).var().item() == pytest.approx(2.0, rel=0.1)


def test_equal_conv_uses_the_scaled_weight_and_padding():
    conv = EqualConv2d(8, 4, 3, padding=1)
    x = torch.randn(2, 8, 10, 10)
    expected = F.conv2d(x, conv.weight * math.sqrt(2.0 / 72), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected)


def test_pixel_norm_gives_unit_rms_per_sample():
    out = PixelNorm()(torch.randn(4, 64) * 7.0)
    torch.testing.assert_close(out.square().mean(dim=1), torch.ones(4))


@pytest.mark.parametrize("spatial", [(8, 8), (4, 4, 4)])
def test_adain_output_statistics_follow_the_style(spatial):
    adain = AdaptiveInstanceNorm(channels=6, style_size=16)
    x = torch.randn(3, 6, *spatial) * 5.0 + 2.0
    style = torch.randn(3, 16)
    scale, shift = adain.style(style).view(3, 2, 6).unbind(1)
    out = adain(x, style).flatten(2)
    torch.testing.assert_close(out.mean(dim=-1), shift, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.std(dim=-1, unbiased=False), scale.abs(), atol=1e-3, rtol=1e-3)


def test_adain_starts_from_identity_scale_and_zero_shift():
    adain = AdaptiveInstanceNorm(channels=5, style_size=8)
    torch.testing.assert_close(adain.style.bias, torch.cat([torch.ones(5), torch.zeros(5)]))


def test_minibatch_stddev_appends_the_mean_batch_std_channel():
    x = torch.randn(4, 3, 4, 4)
    out = MinibatchStdDev()(x)
    assert out.shape == (4, 4, 4, 4)
    torch.testing.assert_close(out[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    torch.testing.assert_close(out[:, 3], expected.expand(4, 4, 4), atol=1e-5, rtol=1e-5)


def test_scaled_channels_rounds_and_keeps_at_least_eight():
    assert scaled_channels(512, 0.25) == 128
    assert scaled_channels(64, 0.125) == 8
    assert scaled_channels(32, 0.125) == 8
    assert scaled_channels(100, 0.5) == 50


def test_minibatch_stddev_groups_are_consecutive_samples():
    x = torch.randn(4, 3, 4, 4)
    grouped = MinibatchStdDev(group_size=2)(x)
    halves = torch.cat([MinibatchStdDev()(x[:2]), MinibatchStdDev()(x[2:])])
    assert torch.allclose(grouped, halves)
    with pytest.raises(ValueError, match="divisible"):
        MinibatchStdDev(group_size=3)(x)


@pytest.mark.parametrize("group_size", [None, 1, 3])
def test_minibatch_stddev_never_mixes_concatenated_sources(group_size):
    x = torch.randn(12, 3, 4, 4)
    merged = MinibatchStdDev(group_size)(x, sources=2)
    separate = torch.cat([MinibatchStdDev(group_size)(half) for half in x.chunk(2)])
    torch.testing.assert_close(merged, separate)
    with pytest.raises(ValueError, match="5 equal sources"):
        MinibatchStdDev(group_size)(x, sources=5)
