import json

import pytest
import torch

from ssv.config import to_container
from ssv.evaluation import transfer
from ssv.evaluation.transfer import TRANSFER_FILE, main, train_on_fakes, verdict
from ssv.viewpoint import ANGLES

N_CALIBRATION = 10


class SlidingSquare(torch.nn.Module):
    """32 px images of a bright square whose column follows the azimuth and whose row follows the elevation."""

    def __init__(self, view_ranges: torch.Tensor):
        super().__init__()
        self.view_ranges = view_ranges

    def forward(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        position = (views[:, :2] / self.view_ranges[:2] + 1.0) / 2.0 * 24.0  # 0..24: the square's corner
        grid = torch.arange(32.0)
        columns = ((grid - position[:, :1]).abs() < 4.0).float()  # [B, 32]
        rows = ((grid - position[:, 1:]).abs() < 4.0).float()
        square = rows[:, :, None] * columns[:, None, :]
        return (square * 2.0 - 1.0)[:, None].expand(-1, 3, -1, -1)


def reading_of_fakes(model, network) -> dict:
    codes = model.draw_codes(256, torch.Generator().manual_seed(5))
    views = transfer.sample_views(256, model.view_ranges, generator=torch.Generator().manual_seed(6))
    fakes = transfer.render_fakes(model.ema_generator, codes, views, 64)
    return transfer.fake_view_fit(network, fakes, views, 64)["fake_r2"]


@pytest.mark.integration
def test_a_fresh_v_learns_the_viewpoints_the_frozen_generator_renders(tiny):
    from ssv.module import SSVModule

    model = SSVModule(to_container(tiny())).eval()
    model.ema_generator = SlidingSquare(model.view_ranges)
    trained_v = {name: value.clone() for name, value in model.viewpoint_net.state_dict().items()}
    caller_rng = torch.get_rng_state()
    network = train_on_fakes(model, steps=150, batch_size=32, seed=0, progress=False)
    assert torch.equal(torch.get_rng_state(), caller_rng)
    learned = reading_of_fakes(model, network)
    assert learned["azimuth"] > 0.8 and learned["elevation"] > 0.8
    assert learned["tilt"] < 0.5  # the square never turns in the image plane
    untrained = reading_of_fakes(model, transfer.viewpoint_network_from(model.config.model).eval())
    assert untrained["azimuth"] < 0.5
    # The checkpoint's own V is left as it was.
    assert all(torch.equal(value, trained_v[name]) for name, value in model.viewpoint_net.state_dict().items())


@pytest.mark.parametrize("fresh_mae, says", [(17.0, "its real-image terms"), (16.2, "what S renders")])
def test_the_verdict_credits_real_image_terms_only_beyond_the_margin(fresh_mae, says):
    assert says in verdict({"mae_mean": 16.0}, {"mae_mean": fresh_mae})


def test_cli_writes_both_readings(ssv_checkpoint, rendered_faces, tmp_path, capsys):
    code = main(["--ckpt", str(ssv_checkpoint), "--data", str(rendered_faces / "test" / "labels.csv"),
                 "--steps", "3", "--batch-size", "4", "--n-calibration", str(N_CALIBRATION), "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / TRANSFER_FILE).read_text())
    assert report["steps"] == 3 and report["checkpoint"] == str(ssv_checkpoint)
    for label in ("trained_v", "fresh_v"):
        assert set(report[label]["mae"]) == set(report[label]["r2"]) == set(report[label]["fake_r2"]) == set(ANGLES)
        assert report[label]["mae_mean"] >= 0
    stdout = capsys.readouterr().out
    assert "fresh V, 3 steps on fakes" in stdout and "Reading:" in stdout


def test_cli_refuses_another_category_before_training(ssv_checkpoint, monkeypatch, capsys):
    monkeypatch.setattr(transfer, "train_on_fakes", lambda *args, **kwargs: pytest.fail("trained before checking"))
    assert main(["--ckpt", str(ssv_checkpoint), "--data", "synthetic:cars"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "holds cars" in error


def test_cli_refuses_a_supervised_checkpoint(supervised_checkpoint, rendered_faces, capsys):
    assert main(["--ckpt", str(supervised_checkpoint), "--data", str(rendered_faces / "test" / "labels.csv")]) == 2
    assert "no generator" in capsys.readouterr().err
