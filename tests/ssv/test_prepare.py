import csv
import os
import shlex
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from datamodules.shards import ShardIndex
from ssv.prepare import main

REPO = Path(__file__).resolve().parents[2]
CALIBRATION = "517.679 0 320\n0 517.679 240.5\n0 0 1\n\n0 0 0 0\n\n1 0 0\n0 1 0\n0 0 1\n\n0 0 0\n\n640 480\n"


def write_png(path: Path, height: int = 48, width: int = 64, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.fixture
def biwi_sequence(tmp_path: Path) -> Path:
    """A BIWI sequence: a frontal frame and a frame whose pose file is missing."""
    sequence = tmp_path / "hpdb" / "01"
    sequence.mkdir(parents=True)
    (sequence / "rgb.cal").write_text(CALIBRATION)
    write_png(sequence / "frame_00001_rgb.png", 480, 640)
    (sequence / "frame_00001_pose.txt").write_text("1 0 0\n0 1 0\n0 0 1\n\n0 0 1000\n")
    write_png(sequence / "frame_00002_rgb.png", 480, 640)
    return tmp_path / "hpdb"


def test_dataset_command_prepares_crops_labels_and_a_summary(biwi_sequence, tmp_path, capsys):
    destination = tmp_path / "biwi"
    assert main(["dataset", "biwi", str(biwi_sequence), str(destination), "--size", "24"]) == 0
    assert f"Prepared {destination}: kept 1, skipped 1 (1 missing pose file)" in capsys.readouterr().out
    assert cv2.imread(str(destination / "images" / "01" / "frame_00001.jpg")).shape == (24, 24, 3)
    with (destination / "labels.csv").open() as handle:
        assert list(csv.reader(handle)) == [["path", "azimuth", "elevation", "tilt"],
                                            ["images/01/frame_00001.jpg", "0.0000", "0.0000", "0.0000"]]


def test_dataset_command_errors_exit_2_with_one_line(biwi_sequence, tmp_path, capsys):
    destination = tmp_path / "out"
    (destination / "old").mkdir(parents=True)
    assert main(["dataset", "biwi", str(biwi_sequence), str(destination)]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["dataset", "pascal3d-bus", str(tmp_path), str(tmp_path / "new")]) == 2
    assert "bus_val.txt not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dataset", "celeba", str(tmp_path), str(tmp_path / "new")])


def test_shards_command_writes_an_index(tmp_path, capsys):
    for number in range(5):
        write_png(tmp_path / "images" / f"{number}.png", seed=number)
    (tmp_path / "images" / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    assert main(["shards", str(tmp_path / "images"), str(tmp_path / "shards"), "--per-shard", "2"]) == 0
    out = capsys.readouterr().out
    assert "Wrote 5 images into 3 shards" in out and "Skipped 1 unreadable images" in out
    assert ShardIndex.load(tmp_path / "shards").counts == (2, 2, 1)


def make_command(*argv: str) -> list[str]:
    """The last command ``make -n`` prints, split the way the shell will split it."""
    # Under `make test` the parent make's flags would make this one print "Leaving directory" last.
    environment = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    printed = subprocess.run(["make", "--no-print-directory", "-n", "-W", "setup.cfg", *argv], cwd=REPO,
                             capture_output=True, text=True, check=True, env=environment).stdout
    return shlex.split(printed.strip().splitlines()[-1])


def test_make_prepare_runs_the_dataset_command():
    command = make_command("prepare", "DATASET=biwi", "SRC=raw", "DST=out")
    assert command[command.index("ssv.prepare") - 1:] == ["-m", "ssv.prepare", "dataset", "biwi", "raw", "out",
                                                          "--size", "128"]


@pytest.mark.parametrize("target, variables, expected", [
    ("eval", ["CKPT=runs/my run/last.ckpt", "DATA=my data/labels.csv"],
     ["--ckpt", "runs/my run/last.ckpt", "--data", "my data/labels.csv"]),
    ("prepare", ["DATASET=biwi", "SRC=raw data", "DST=out dir"], ["biwi", "raw data", "out dir"]),
    ("shards", ["SRC=raw data", "DST=out dir"], ["shards", "raw data", "out dir"]),
    ("train", ["RESUME=runs/my run/last.ckpt"], ["--resume", "runs/my run/last.ckpt"]),
])
def test_make_passes_paths_with_spaces_as_one_argument(target, variables, expected):
    command = make_command(target, *variables)
    start = command.index(expected[0])
    assert command[start:start + len(expected)] == expected


def test_an_empty_or_mistyped_source_exits_2_with_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for source in (empty, tmp_path / "mistyped"):
        assert main(["dataset", "biwi", str(source), str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(source) in err
    assert not (tmp_path / "out").exists()


def test_a_source_of_which_nothing_can_be_prepared_exits_2(biwi_sequence, tmp_path, capsys):
    for pose in biwi_sequence.rglob("*_pose.txt"):
        pose.unlink()
    assert main(["dataset", "biwi", str(biwi_sequence), str(tmp_path / "out")]) == 2
    assert "no biwi images found (2 skipped" in capsys.readouterr().err
    walls = tmp_path / "walls"
    walls.mkdir()
    cv2.imwrite(str(walls / "wall.png"), np.full((80, 80, 3), 128, np.uint8))
    assert main(["dataset", "faces", str(walls), str(tmp_path / "faces")]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert last_line.startswith("error: ") and "kept 0, skipped 1 (1 no face found)" in last_line
