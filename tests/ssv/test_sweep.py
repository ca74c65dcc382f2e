import os
import random
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from ssv.config import EXPERIMENTS_DIR, USER_EXPERIMENTS_VARIABLE, ConfigError, SSVConfig, experiment_path, load_config
from ssv.sweep import agent_command, load_sweep, sample_parameters, sweep_path

SWEEP_FILES = sorted((EXPERIMENTS_DIR / "sweeps").glob("*.yaml"))
TINY = [
    "model.width=0.125", "model.code_size=8", "model.mapping_layers=2", "imc.weights=null",
    "data.num_workers=0", "data.synthetic.num_train=40", "data.synthetic.num_test=8",
    "trainer.fast_dev_run=true",
]


def test_there_are_sweeps_over_loss_weights_and_over_learning_rate_and_batch():
    swept = [set(load_sweep(path)["parameters"]) for path in SWEEP_FILES]
    assert any({"loss.sym", "loss.imc"} <= keys for keys in swept)
    assert any({"optim.lr", "data.batch_size"} <= keys for keys in swept)


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.stem)
def test_the_sweep_command_restates_no_default(path):
    overrides = [part for part in load_sweep(path)["command"] if "=" in part and not part.startswith(("-", "$"))]
    defaults = OmegaConf.structured(SSVConfig)
    restated = [item for item in overrides if str(OmegaConf.select(defaults, item.split("=")[0])) == item.split("=")[1]]
    assert not restated, f"{path} restates the schema's defaults (src/ssv/config.py): {restated}"


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.stem)
def test_every_drawn_parameter_set_is_a_valid_config(path):
    sweep = load_sweep(path)
    rng = random.Random(0)
    for _ in range(20):
        parameters = sample_parameters(sweep, rng)
        overrides = [f"{key}={value}" for key, value in parameters.items()]
        config = load_config(experiment_path("faces"), overrides, profile="small")
        for key, value in parameters.items():
            assert config[key.split(".")[0]][key.split(".")[1]] == pytest.approx(value)


@pytest.mark.integration
@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.stem)
def test_the_agent_command_trains(path, tmp_path):
    sweep = load_sweep(path)
    parameters = sample_parameters(sweep, random.Random(1))
    parameters["data.batch_size"] = 2  # keeps the fast_dev_run small; the other draws stay as sampled
    command = agent_command(sweep, parameters)
    assert command[0] == sys.executable and "--data.batch_size=2" in command
    extra = TINY + [f"runs_dir={tmp_path / 'runs'}", f"data.synthetic.cache_dir={tmp_path / 'synthetic'}"]
    environment = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(tmp_path))
    result = subprocess.run(command + extra, capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SSV run finished" in result.stdout
    assert list((tmp_path / "runs").glob("faces/*/wandb/offline-run-*"))


def test_unknown_sweep_lists_the_known_ones():
    with pytest.raises(ConfigError, match="loss-weights"):
        sweep_path("nope")


def test_a_users_sweep_folder_is_searched_first(tmp_path, monkeypatch):
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "mine.yaml").write_text("method: grid\n")
    monkeypatch.setenv(USER_EXPERIMENTS_VARIABLE, str(tmp_path))
    assert sweep_path("mine") == tmp_path / "sweeps" / "mine.yaml"
    assert sweep_path("lr-batch") == EXPERIMENTS_DIR / "sweeps" / "lr-batch.yaml"


def test_a_sweep_without_args_is_rejected(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("method: random\nparameters: {loss.sym: {values: [0.1]}}\ncommand: [python, -m, ssv.train]\n")
    with pytest.raises(ConfigError, match="args"):
        load_sweep(path)
