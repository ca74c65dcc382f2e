from pathlib import Path

import pytest
from PIL import Image

from ssv.synthetic import CATEGORIES
from ssv.synthetic.cli import main, sample_grid


def test_the_grid_has_two_rows_of_eight_per_category_and_is_seeded():
    grid = sample_grid(image_size=8, seed=3)
    assert grid.shape == (len(CATEGORIES) * 2 * 8, 8 * 8, 3)
    assert (grid == sample_grid(image_size=8, seed=3)).all() and not (grid == sample_grid(image_size=8)).all()


def test_grid_writes_a_png(tmp_path, capsys):
    path = tmp_path / "docs" / "grid.png"
    assert main(["--grid", str(path), "--image-size", "8"]) == 0
    assert Image.open(path).size == (64, len(CATEGORIES) * 16)
    assert capsys.readouterr().out == f"wrote {path}\n"


def test_category_renders_the_collection_and_prints_its_folder(tmp_path, capsys):
    assert main(["--category", "cars", "--num-train", "2", "--num-test", "2", "--image-size", "8",
                 "--cache-dir", str(tmp_path), "--no-progress"]) == 0
    folder = capsys.readouterr().out.splitlines()[-1]
    assert folder.startswith(str(tmp_path)) and (Path(folder) / "test" / "labels.csv").is_file()


def test_grid_and_category_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["--grid", "g.png", "--category", "cars"])
    assert "not allowed with" in capsys.readouterr().err
