import numpy as np
import torch
from PIL import Image

from ssv.evaluation.plots import plot_axes_examples, plot_calibration, plot_error_histograms


def test_calibration_and_error_figures_are_written_as_pngs(protocol_result, tmp_path):
    for plot, name in [(plot_calibration, "scatter.png"), (plot_error_histograms, "errors.png")]:
        path = plot(protocol_result, tmp_path / name)
        assert path == tmp_path / name and Image.open(path).format == "PNG"


def test_axes_examples_are_drawn_over_the_images(tmp_path):
    images = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    views = torch.tensor([[10.0, 0.0, 0.0]]).repeat(5, 1)
    path = plot_axes_examples(images, views, views + 5.0, torch.full((5,), 5.0), tmp_path / "axes.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    # Red, green and blue object axes drawn somewhere: not only the white page and the black images.
    assert ((pixels[..., 0] - pixels[..., 2]) > 100).any() and ((pixels[..., 2] - pixels[..., 0]) > 100).any()
