import warnings

import pytest
from pytorch_lightning.loggers import CSVLogger, WandbLogger

from ssv import tracking
from ssv.config import experiment_path, load_config


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))


def test_without_an_api_key_wandb_runs_offline(no_credentials):
    offline, reason = tracking.wandb_should_run_offline()
    assert offline and "API key" in reason


def test_with_a_key_but_no_network_wandb_runs_offline(no_credentials, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    offline, reason = tracking.wandb_should_run_offline()
    assert offline and "not reachable" in reason


def test_wandb_mode_offline_is_respected(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert tracking.wandb_should_run_offline() == (True, "WANDB_MODE=offline")


def test_the_default_logger_is_an_offline_wandb_run_in_the_run_directory(no_credentials, tmp_path, caplog):
    config = load_config(experiment_path("faces"), profile="small")
    assert config.trainer.logger == "wandb"
    logger = tracking.build_logger(config, tmp_path / "run")
    try:
        assert isinstance(logger, WandbLogger)
        assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
        assert "wandb sync" in caplog.text
    finally:
        logger.experiment.finish()


def test_csv_logger_writes_into_the_run_directory_without_warning_about_its_files(tmp_path):
    config = load_config(experiment_path("faces"), ["trainer.logger=csv"], profile="small")
    (tmp_path / "config.yaml").write_text("written before the logger starts\n")
    logger = tracking.build_logger(config, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger.log_metrics({"v/total": 1.0}, step=0)
        logger.save()
    assert isinstance(logger, CSVLogger) and (tmp_path / tracking.CSV_LOG_DIR / "metrics.csv").is_file()


def test_tensorboard_logs_get_their_own_folder_in_the_run_directory(tmp_path, monkeypatch):
    made = {}
    monkeypatch.setattr(tracking, "TensorBoardLogger", lambda **kwargs: made.update(kwargs) or "logger")
    config = load_config(experiment_path("faces"), ["trainer.logger=tensorboard"], profile="small")
    assert tracking.build_logger(config, tmp_path) == "logger"
    assert made["save_dir"] == tmp_path and made["name"] == tracking.TENSORBOARD_LOG_DIR != tracking.CSV_LOG_DIR
