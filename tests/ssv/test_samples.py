from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

from ssv.samples import SampleWriter, image_grid, to_uint8, write_sweep_animation


def test_to_uint8_maps_minus_one_to_one_onto_0_to_255_channels_last():
    images = torch.tensor([-2.0, -1.0, 0.0, 1.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    converted = to_uint8(images)
    assert converted.shape == (1, 1, 4, 3) and converted.dtype == np.uint8
    assert converted[0, 0, :, 0].tolist() == [0, 0, 128, 255]


def test_image_grid_tiles_rows_with_white_gaps():
    images = np.stack([np.full((2, 3, 3), value, np.uint8) for value in (10, 20, 30)])
    grid = image_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 3)
    assert grid[1, 1, 0] == 10 and grid[1, 5, 0] == 20 and grid[4, 1, 0] == 30
    assert grid[0, 0, 0] == grid[4, 5, 0] == 255


def test_the_sweep_animation_goes_back_and_forth(tmp_path):
    sweep = np.stack([np.full((4, 4, 3), 20 * step, np.uint8) for step in range(3 * 4)])
    write_sweep_animation(sweep, steps=4, path=tmp_path / "sweep.gif")
    animation = Image.open(tmp_path / "sweep.gif")
    assert animation.n_frames == 4 + 2


class FakeModule(SimpleNamespace):
    def sample_images(self):
        return torch.zeros(8, 3, 4, 4)

    def viewpoint_sweep(self):
        return torch.zeros(3 * 5, 3, 4, 4)


def test_the_writer_saves_every_interval_and_what_training_ended_with(tmp_path):
    writer, trainer, module = SampleWriter(tmp_path, every_n_iterations=2), SimpleNamespace(
        is_global_zero=True, loggers=[], fast_dev_run=False), FakeModule(iteration=0)
    for module.iteration in (1, 2, 3):
        writer.on_train_batch_end(trainer, module, None, None, 0)
    writer.on_train_end(trainer, module)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{name}_{iteration:07d}.{suffix}" for name, suffix in
        [("samples", "png"), ("viewpoint_sweep", "gif"), ("viewpoint_sweep", "png")] for iteration in (2, 3))
    assert Image.open(tmp_path / "viewpoint_sweep_0000002.png").size == (5 * 6 + 2, 3 * 6 + 2)
