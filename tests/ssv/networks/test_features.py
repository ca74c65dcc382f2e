import email.message
import io
import logging
import urllib.error

import pytest
import torch

from ssv.networks import ALEXNET_IMAGENET_URL, build_consistency_features, load_alexnet_weights


def _info_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "ssv.features" and record.levelno == logging.INFO]


def _alexnet(weights: str | None = None) -> torch.nn.Module:
    features = build_consistency_features("alexnet")
    load_alexnet_weights(features, weights)
    return features


def _torchvision_style_state(seed: int) -> dict[str, torch.Tensor]:
    """A full-AlexNet-like state dict: our conv weights plus keys this module does not have."""
    torch.manual_seed(seed)
    state = dict(build_consistency_features("alexnet").state_dict())
    state["features.6.weight"] = torch.randn(384, 192, 3, 3)
    state["classifier.1.weight"] = torch.randn(4, 4)
    return state


def test_alexnet_features_shape_and_frozen(caplog):
    caplog.set_level(logging.INFO, logger="ssv.features")
    features = _alexnet()
    assert _info_lines(caplog) == ["Image-consistency features: AlexNet conv2 with random initialisation "
                                   "(no pretrained weights requested)"]
    assert sorted(features.state_dict()) == ["features.0.bias", "features.0.weight",
                                             "features.3.bias", "features.3.weight"]
    assert not any(parameter.requires_grad for parameter in features.parameters())
    features.train()
    assert not features.training
    images = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_()
    output = features(images)
    assert output.shape == (2, 192 * 27 * 27)
    output.sum().backward()
    assert images.grad.abs().sum() > 0


def test_building_alexnet_features_fetches_nothing(monkeypatch, caplog):
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *args, **kwargs: pytest.fail("fetched"))
    caplog.set_level(logging.INFO, logger="ssv.features")
    build_consistency_features("alexnet")
    assert _info_lines(caplog) == []


def test_alexnet_loads_a_torchvision_style_state_dict_file(tmp_path, caplog):
    state = _torchvision_style_state(seed=1)
    path = tmp_path / "alexnet.pth"
    torch.save(state, path)
    caplog.set_level(logging.INFO, logger="ssv.features")
    features = _alexnet(str(path))
    for key, value in features.state_dict().items():
        torch.testing.assert_close(value, state[key])
    (line,) = _info_lines(caplog)
    assert str(path) in line


def test_alexnet_missing_weights_file_names_it(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        _alexnet(str(missing))


def test_alexnet_imagenet_weights_from_the_hub(monkeypatch, caplog):
    state = _torchvision_style_state(seed=2)
    requested = []

    def fake_download(url, **kwargs):
        requested.append(url)
        return state

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    caplog.set_level(logging.INFO, logger="ssv.features")
    features = _alexnet("imagenet")
    assert requested == [ALEXNET_IMAGENET_URL]
    torch.testing.assert_close(features.features[3].weight, state["features.3.weight"])
    (line,) = _info_lines(caplog)
    assert "ImageNet" in line and ALEXNET_IMAGENET_URL in line


def test_alexnet_imagenet_falls_back_to_random_without_network(monkeypatch, caplog):
    def offline(url, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    caplog.set_level(logging.INFO, logger="ssv.features")
    features = _alexnet("imagenet")
    assert features(torch.zeros(1, 3, 32, 32)).shape == (1, 192 * 27 * 27)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "random" in warnings[0].getMessage()
    (line,) = _info_lines(caplog)
    assert "random initialisation" in line and "download failed" in line


def test_pixel_features_downsample_to_64_and_flatten(caplog):
    caplog.set_level(logging.INFO, logger="ssv.features")
    features = build_consistency_features("pixels")
    assert len(_info_lines(caplog)) == 1
    assert list(features.parameters()) == []
    large = torch.rand(2, 3, 128, 128)
    assert features(large).shape == (2, 3 * 64 * 64)
    small = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(features(small), small.flatten(1))
    full = build_consistency_features("pixels", pixel_size=None)
    torch.testing.assert_close(full(large), large.flatten(1))


@pytest.mark.parametrize("kind", ["encoder", "vgg"])
def test_unknown_feature_kind_lists_the_valid_ones(kind):
    with pytest.raises(ValueError, match="alexnet, pixels"):
        build_consistency_features(kind)


def test_alexnet_reads_the_images_in_minus_one_to_one_without_imagenet_normalisation():
    features = build_consistency_features("alexnet")
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    resized = torch.nn.functional.interpolate(images, size=224, mode="bilinear", align_corners=False)
    torch.testing.assert_close(features(images), features.features(resized).flatten(1))


def test_a_crafted_file_in_the_hub_cache_runs_no_code(tmp_path, monkeypatch, caplog, code_running_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / ALEXNET_IMAGENET_URL.rsplit("/", 1)[1]
    cached.parent.mkdir(parents=True)
    marker = code_running_file(cached)
    _alexnet("imagenet")
    assert not marker.exists()
    assert "Weights only load failed" in caplog.text and "falling back to random" in caplog.text


def test_a_download_whose_hash_does_not_match_is_refused(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    payload = tmp_path / "other.pth"
    torch.save(_torchvision_style_state(seed=3), payload)
    monkeypatch.setattr(torch.hub, "urlopen", lambda request: _FakeResponse(payload.read_bytes()))
    features = _alexnet("imagenet")
    assert "invalid hash value" in caplog.text
    assert not torch.equal(features.features[0].weight, torch.load(payload, weights_only=True)["features.0.weight"])


class _FakeResponse(io.BytesIO):
    """What ``urlopen`` returns, for ``torch.hub.download_url_to_file``."""

    def info(self):
        headers = email.message.Message()
        headers["Content-Length"] = str(len(self.getvalue()))
        return headers

    def __exit__(self, *exc_info):
        self.close()
