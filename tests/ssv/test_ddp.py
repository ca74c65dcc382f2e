"""Two-process DDP on CPU (gloo) against a single process on the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`

SCRIPT = Path(__file__).with_name("ddp_run.py")
ITERATIONS = 3


def run(mode: str, out_dir: Path) -> None:
    environment = dict(os.environ, PYTHONPATH=str(SCRIPT.parent), MASTER_PORT="29517", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(SCRIPT), mode, str(out_dir), str(ITERATIONS)],
                            capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("ddp")
    run("ddp", out_dir)
    run("single", out_dir)
    return {path.stem: torch.load(path, weights_only=True) for path in out_dir.glob("*.pt")}


def test_both_ranks_hold_identical_weights(states):
    assert set(states) == {"ddp_rank0", "ddp_rank1", "single_rank0"}
    for network in ("V", "S", "EMA"):
        for name, value in states["ddp_rank0"][network].items():
            assert torch.equal(value, states["ddp_rank1"][network][name]), f"{network}.{name}"


def test_ddp_matches_one_process_on_the_same_global_batch(states):
    for network in ("V", "S", "EMA"):
        for name, value in states["single_rank0"][network].items():
            assert torch.allclose(states["ddp_rank0"][network][name], value, atol=1e-9), f"{network}.{name}"


def test_logged_losses_are_averaged_over_the_ranks(states):
    rank0, rank1 = states["ddp_rank0"]["logged"], states["ddp_rank1"]["logged"]
    assert "v/adversarial" in rank0 and set(rank0) == set(rank1)
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        assert torch.allclose(value.double(), states["single_rank0"]["logged"][key].double(), atol=1e-6, rtol=1e-6), key
