import json
import math

import pytest
import torch

from ssv.config import to_container
from ssv.evaluation.diagnostics import (
    DIAGNOSTICS_FILE,
    diagnose,
    format_report,
    light_shift,
    lit_from,
    main,
    view_blind_loss,
    view_consistency,
)
from ssv.viewpoint import ANGLES, encode, sample_views, viewpoint_loss

RANGES = torch.tensor([1.4, 1.2, 0.75])


def test_view_blind_loss_is_zero_when_the_prior_is_one_viewpoint():
    assert view_blind_loss(torch.zeros(3)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.integration
def test_view_blind_loss_is_the_best_any_constant_prediction_reaches():
    floor = view_blind_loss(RANGES)
    views = sample_views(20_000, RANGES, generator=torch.Generator().manual_seed(1))
    target = encode(views)
    magnitude = torch.zeros(3, 2, requires_grad=True)
    sign = torch.zeros(3, 4, requires_grad=True)
    optimizer = torch.optim.Adam([magnitude, sign], lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        loss = viewpoint_loss(magnitude.expand(len(views), 3, 2), sign.expand(len(views), 3, 4), target)
        loss.backward()
        optimizer.step()
    # Every angle's quadrant is a fair coin on sin's sign, so the sign heads alone cost at least 3 ln 2.
    assert floor > 3 * math.log(2)
    assert loss.item() == pytest.approx(floor, abs=0.01)
    uniform = viewpoint_loss(torch.zeros(len(views), 3, 2), torch.zeros(len(views), 3, 4), target)
    assert uniform.item() > floor + 0.1


class TurningGenerator(torch.nn.Module):
    """Each style's own image plus a pattern times the azimuth: one pattern for all styles, or one per style."""

    def __init__(self, shared: bool):
        super().__init__()
        self.shared = shared
        self.patterns = torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        self.ramp = torch.arange(64.0).view(1, 1, 8, 8)

    def forward(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        patterns = self.patterns[:1] if self.shared else self.patterns[: codes.shape[0]]
        return codes[:, :3, None, None] * self.ramp + patterns * views[:, :1, None, None]


def test_consistency_is_one_for_a_turn_every_style_shares_and_zero_without_one():
    consistency = view_consistency(TurningGenerator(shared=True), torch.rand(16, 8), RANGES)
    assert consistency["azimuth"] == pytest.approx(1.0)
    assert consistency["elevation"] == consistency["tilt"] == 0.0  # the image does not change at all


def test_consistency_is_near_zero_when_each_style_turns_its_own_way():
    assert abs(view_consistency(TurningGenerator(shared=False), torch.rand(32, 8), RANGES)["azimuth"]) < 0.1


def test_light_falls_off_from_the_named_edge_and_keeps_images_in_range():
    grey = torch.zeros(2, 3, 4, 5)
    left, top = lit_from(grey, "left", gain=0.4), lit_from(grey, "top", gain=0.4)
    assert torch.allclose(left[0, 0, 0], torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0]))
    assert torch.allclose(top[0, 0, :, 0], torch.tensor([0.4, 4 / 15, 2 / 15, 0.0]))
    assert torch.equal(lit_from(grey, "right", gain=0.4), left.flip(-1))
    assert torch.equal(lit_from(grey, "bottom", gain=0.4), top.flip(-2))
    assert lit_from(torch.ones(1, 3, 4, 4), "left").max() == 1.0


class BrightSideReader:
    """Reads azimuth from how much brighter the left half is than the right, elevation from the top against the
    bottom, and tilt as 0."""

    def per_image(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def read_out(self, images: torch.Tensor) -> torch.Tensor:
        left, right = images.chunk(2, dim=-1)
        top, bottom = images.chunk(2, dim=-2)
        difference = lambda a, b: (a - b).mean(dim=(1, 2, 3))  # noqa: E731
        return torch.stack([difference(left, right), difference(top, bottom), torch.zeros(len(images))], dim=1)


def test_light_shift_is_what_a_reader_of_the_bright_side_reads_and_zero_for_one_that_ignores_light():
    images = torch.rand(6, 3, 8, 8) - 0.5
    shift = light_shift(BrightSideReader(), images, batch_size=4)
    # Over 8 columns the lit half's ramp averages 0.4 * 4 / 7 more than the other half's; the two lights add.
    assert shift["azimuth"] == pytest.approx(math.degrees(2 * 0.4 * 4 / 7), rel=1e-4)
    assert shift["elevation"] == pytest.approx(shift["azimuth"], rel=1e-4)
    assert shift["tilt"] == 0.0


def test_diagnose_reports_every_check_for_both_generators(tiny):
    from ssv.module import SSVModule

    model = SSVModule(to_container(tiny()))
    report = diagnose(model, samples=10, consistency_styles=4)
    assert report["samples"] == 10
    for label in ("generator", "ema_generator"):
        entry = report[label]
        assert entry["view_loss"] > 0
        assert set(entry["fake_r2"]) == set(entry["consistency"]) == set(entry["light_shift"]) == set(ANGLES)
        assert all(r2 <= 1.0 for r2 in entry["fake_r2"].values())
        assert all(-1.0 <= value <= 1.0 for value in entry["consistency"].values())


@pytest.mark.parametrize("view_loss, verdict", [(3.9, "reads no viewpoint from fakes yet"),
                                                (4.5, "reads no viewpoint from fakes yet"),
                                                (1.9, "reads viewpoints from fakes (50% below")])
def test_the_report_says_whether_v_reads_viewpoints_from_fakes(view_loss, verdict):
    entry = {"view_loss": view_loss, **{check: dict.fromkeys(ANGLES, 0.0)
                                        for check in ("fake_r2", "consistency", "light_shift")}}
    report = {"view_blind_loss": 3.8, "generator": entry, "ema_generator": entry}
    assert f"L_v {view_loss:.3f}: V {verdict}" in format_report(report, "title")


def test_cli_writes_the_report_of_an_ssv_checkpoint(ssv_checkpoint, tmp_path, capsys):
    assert main(["--ckpt", str(ssv_checkpoint), "--samples", "16", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / DIAGNOSTICS_FILE).read_text())
    assert report["checkpoint"] == str(ssv_checkpoint) and report["samples"] == 16
    assert "view-blind floor" in capsys.readouterr().out


def test_cli_refuses_a_supervised_checkpoint_in_one_line(supervised_checkpoint, capsys):
    assert main(["--ckpt", str(supervised_checkpoint)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no generator" in error


def test_cli_refuses_too_few_samples_for_a_fit(ssv_checkpoint, capsys):
    assert main(["--ckpt", str(ssv_checkpoint), "--samples", "1"]) == 2
    assert "R^2 needs at least 2 samples" in capsys.readouterr().err
