import subprocess
import sys

import pytest
import torch

from ssv.choices import ROTATION_SAMPLING_MODES, SIGN_READOUTS, VOLUME_SIZES
from ssv.config import experiment_path, load_config
from ssv.networks import synthesis_network_from, viewpoint_network_from

TINY = ["model.image_size=32", "model.width=0.03125", "model.code_size=8"]


def tiny_model(*overrides):
    return load_config(experiment_path("faces"), [*TINY, *overrides], profile="paper").model


def test_reading_a_config_imports_no_torch():
    code = "import sys, ssv.config; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("volume_size", VOLUME_SIZES)
@pytest.mark.parametrize("rotation_sampling", ROTATION_SAMPLING_MODES)
def test_every_synthesis_choice_the_config_accepts_builds(volume_size, rotation_sampling):
    model = tiny_model(f"model.volume_size={volume_size}", f"model.rotation_sampling={rotation_sampling}")
    generator = synthesis_network_from(model)
    codes = torch.randn(1, 2 * model.code_size)  # (z1, z2)
    assert generator.styled_volume(codes).shape[-3:] == (volume_size,) * 3
    assert generator(codes, torch.zeros(1, 3)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("readout", SIGN_READOUTS)
def test_every_sign_readout_the_config_accepts_builds(readout):
    assert viewpoint_network_from(tiny_model(f"model.sign_readout={readout}")).sign_readout == readout
