import os
import re
import signal

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from ssv import train
from ssv.module import SSVModule
from ssv.train import PREEMPTED_EXIT_CODE, main, parse_args, training_precision

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`


def test_sweep_style_flags_become_overrides():
    args = parse_args(["--category", "cars", "loss.sym=0.2", "--loss.imc=0.3", "--data.batch_size=4"])
    assert args.category == "cars"
    assert args.overrides == ["loss.sym=0.2", "loss.imc=0.3", "data.batch_size=4"]
    with pytest.raises(SystemExit):
        parse_args(["--not-a-flag"])


@pytest.mark.parametrize(
    "precision, accelerator, cuda, native_bf16, expected",
    [
        ("auto", "auto", False, True, "bf16-mixed"),
        ("auto", "cpu", True, True, "bf16-mixed"),
        ("auto", "auto", False, False, "32-true"),
        ("auto", "auto", True, True, "32-true"),
        ("32-true", "cpu", False, True, "32-true"),
        ("bf16-mixed", "auto", False, False, "bf16-mixed"),
    ],
)
def test_automatic_precision_is_bf16_only_on_a_cpu_that_computes_it_natively(
        monkeypatch, precision, accelerator, cuda, native_bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(train, "cpu_computes_bf16_natively", lambda: native_bf16)
    settings = OmegaConf.create({"precision": precision, "accelerator": accelerator})
    assert training_precision(settings) == expected


def test_a_run_in_automatic_precision_trains_the_cpu_profiles_networks_in_bf16(tiny_args, tmp_path, monkeypatch,
                                                                               caplog):
    monkeypatch.setattr(train, "cpu_computes_bf16_natively", lambda: True)
    caplog.set_level("INFO", logger="ssv.train")
    assert main(tiny_args(tmp_path, "trainer.fast_dev_run=true", "trainer.precision=auto", "trainer.accelerator=cpu",
                          "model.viewpoint_full_resolution=true", "model.rotation_sampling=bilinear")) == 0
    assert "trainer.precision=auto: training in bf16-mixed" in caplog.text


def test_fast_dev_run_of_the_entry_point_trains_on_synthetic_faces(tiny_args, tmp_path, capsys):
    assert main(tiny_args(tmp_path, "trainer.fast_dev_run=true")) == 0
    out = capsys.readouterr().out
    run_dir = next((tmp_path / "runs" / "faces").iterdir())
    assert f"SSV run directory: {run_dir}" in out and "SSV run finished" in out
    assert (run_dir / "config.yaml").is_file()
    assert sorted(p.name.split("_0")[0] for p in (run_dir / "samples").glob("*.png")) == ["samples", "viewpoint_sweep"]
    assert len(list((run_dir / "samples").glob("viewpoint_sweep_*.gif"))) == 1
    collection = next((tmp_path / "synthetic").iterdir())
    assert (collection / "train" / "labels.csv").is_file()


def test_a_bad_key_fails_before_anything_is_written(tiny_args, tmp_path, capsys):
    assert main(tiny_args(tmp_path, "loss.symmetry=0.4")) == 2
    assert "loss.symmetry" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "synthetic").exists()


def test_resume_of_a_missing_checkpoint_fails_clearly(tiny_args, tmp_path, capsys):
    assert main(tiny_args(tmp_path, "--resume", str(tmp_path / "nope.ckpt"))) == 2
    assert "nope.ckpt" in capsys.readouterr().err


def test_training_writes_periodic_and_last_checkpoints_that_reload_and_the_last_samples(tiny_args, tmp_path,
                                                                                        capsys):
    assert main(tiny_args(tmp_path, "trainer.max_steps=4", "trainer.checkpoint_every_n_steps=2",
                          "trainer.sample_every_n_steps=1000", "run_name=ckpt")) == 0
    run_dir = tmp_path / "runs" / "faces" / "ckpt"
    checkpoints = run_dir / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iter0000002.ckpt", "iter0000004.ckpt", "last.ckpt"]
    written = sorted(p.name for p in (run_dir / "samples").iterdir())
    assert written == ["samples_0000004.png", "viewpoint_sweep_0000004.gif", "viewpoint_sweep_0000004.png"]
    assert "Iterations (epoch 0): 100%|██████████| 4/4" in capsys.readouterr().out, "the bar counts iterations"
    model = SSVModule.load_from_checkpoint(checkpoints / "last.ckpt")
    assert model.config.run_name == "ckpt" and model.config.model.width == 0.125


class SendSigterm(pl.Callback):
    def __init__(self, at_iteration: int):
        self.at_iteration = at_iteration

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.at_iteration:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_a_resumable_checkpoint(tiny_args, tmp_path, monkeypatch):
    from ssv import train as train_module

    original = train_module.build_trainer

    def with_sigterm(config, run_dir):
        trainer = original(config, run_dir)
        trainer.callbacks.append(SendSigterm(at_iteration=2))
        return trainer

    monkeypatch.setattr(train_module, "build_trainer", with_sigterm)
    assert main(tiny_args(tmp_path, "trainer.max_steps=50", "run_name=preempted")) == PREEMPTED_EXIT_CODE != 0
    last = tmp_path / "runs" / "faces" / "preempted" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 4
    monkeypatch.setattr(train_module, "build_trainer", original)
    assert main(tiny_args(tmp_path, "trainer.max_steps=3", "--resume", "auto")) == 0
    assert torch.load(last, weights_only=True)["global_step"] == 6


def final_weights(run_dir):
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return checkpoint["state_dict"], checkpoint["global_step"]


def test_resuming_gives_the_same_weights_as_an_uninterrupted_run(tiny_args, tmp_path):
    runs = tmp_path / "runs" / "faces"
    # 12 images in batches of 2: the interruption falls mid-epoch, the continuation crosses into the next epoch.
    assert main(tiny_args(tmp_path, "trainer.max_steps=8", "run_name=straight")) == 0
    assert main(tiny_args(tmp_path, "trainer.max_steps=3", "run_name=interrupted")) == 0
    interrupted = runs / "interrupted" / "checkpoints" / "last.ckpt"
    assert main(tiny_args(tmp_path, "trainer.max_steps=8", "--resume", str(interrupted))) == 0
    straight, straight_step = final_weights(runs / "straight")
    resumed, resumed_step = final_weights(runs / "interrupted")
    assert straight_step == resumed_step == 16
    for name, value in straight.items():
        assert torch.equal(value, resumed[name]), name


def test_training_ends_with_the_evaluation_table(tiny_args, tmp_path, capsys):
    assert main(tiny_args(tmp_path, "trainer.max_steps=1", "run_name=evaluated", "evaluation.after_training=true",
                          "evaluation.n_calibration=4", "data.synthetic.num_test=10")) == 0
    out = capsys.readouterr().out
    assert "MAE calibrated" in out and "after 1 iterations" in out
    eval_dir = tmp_path / "runs" / "faces" / "evaluated" / "eval" / "last-synthetic-faces"
    assert (eval_dir / "metrics.json").is_file() and (eval_dir / "scatter.png").is_file()
    logged = (tmp_path / "runs" / "faces" / "evaluated").rglob("metrics.csv")
    assert any("eval/mae_mean" in path.read_text() for path in logged)


def test_a_wall_clock_budget_ends_with_a_checkpoint_and_the_evaluation(tiny_args, tmp_path, capsys):
    assert main(tiny_args(tmp_path, "trainer.max_steps=100000", "trainer.max_time=00:00:00:02", "run_name=budget",
                          "evaluation.after_training=true", "evaluation.n_calibration=4",
                          "data.synthetic.num_test=10")) == 0
    out = capsys.readouterr().out
    iterations = int(re.search(r"after (\d+) iterations", out).group(1))
    assert "MAE calibrated" in out and 0 < iterations < 100000
    checkpoint = torch.load(tmp_path / "runs" / "faces" / "budget" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 * iterations


def no_run_folder_and_one_line(tmp_path, capsys, *expected):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for text in expected:
        assert text in err
    assert not (tmp_path / "runs" / "faces").exists()


def test_input_errors_stop_before_the_model_is_built_and_leave_no_run_folder(tiny_args, tmp_path, capsys,
                                                                             monkeypatch):
    from ssv import module

    monkeypatch.setattr(module.SSVModule, "__init__", lambda *args, **kwargs: pytest.fail("model built"))
    empty = tmp_path / "empty"
    empty.mkdir()
    few = tmp_path / "few"
    few.mkdir()
    for index in range(3):
        (few / f"{index}.png").write_bytes(b"")
    cases = {
        "data.root=/no/such/folder": ("data.root", "/no/such/folder"),
        f"data.root={empty}": ("data.root", str(empty)),
        f"data.root={few}": ("data.batch_size", "3 training images", str(few)),
        "data.synthetic.num_train=1": ("data.batch_size", "1 training images"),
        "loss.sym=nan": ("loss.sym", "finite"),
    }
    for override, expected in cases.items():
        assert main(tiny_args(tmp_path, override, "data.batch_size=4")) == 2, override
        no_run_folder_and_one_line(tmp_path, capsys, *expected)


def test_an_unwritable_runs_folder_fails_in_one_line(tiny_args, tmp_path, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    assert main(tiny_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "runs_dir" in err and str(blocker) in err
    assert blocker.is_file()


def test_a_crafted_resume_checkpoint_is_refused_without_running_its_code(tiny_args, tmp_path, capsys,
                                                                         code_running_file):
    crafted = tmp_path / "crafted.ckpt"
    marker = code_running_file(crafted)
    assert main(tiny_args(tmp_path, "--resume", str(crafted))) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "crafted.ckpt" in err and "cannot be loaded safely" in err
    assert not marker.exists()


def test_only_the_launching_process_locks_and_records_the_run(monkeypatch):
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    from ssv.train import is_launching_process

    assert is_launching_process()
    monkeypatch.setattr(rank_zero_only, "rank", 1)  # a DDP rank Lightning's launcher started again
    assert not is_launching_process()
    monkeypatch.setattr(rank_zero_only, "rank", 0)
    monkeypatch.setenv("NODE_RANK", "1")
    assert not is_launching_process()
