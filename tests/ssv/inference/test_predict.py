"""make predict: images, folders, videos and cameras; CSV and overlays; one line per problem."""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from ssv.inference import ViewpointEstimator
from ssv.inference.predict import main

BIWI = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "biwi"


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def one_error_line(capsys, expected: str) -> None:
    error = capsys.readouterr().err
    assert error.startswith("error: ") and expected in error and error.count("\n") == 1, error


def test_a_folder_gives_a_row_and_an_overlay_per_image_and_skips_the_unreadable(
        ssv_checkpoint, image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(image_folder), "--out", str(out)]) == 0
    rows = read_rows(out / "predictions.csv")
    assert [row["path"] for row in rows] == ["a.png", "b.png", "sub/c.png"]
    expected = ViewpointEstimator.from_checkpoint(ssv_checkpoint).predict(
        [image_folder / row["path"] for row in rows])
    np.testing.assert_allclose([[float(row[k]) for k in ("azimuth", "elevation", "tilt")] for row in rows],
                               expected, atol=1e-3)
    assert read_rows(out / "skipped.csv") == [{"path": "broken.jpg", "reason": "not a readable image"}]
    assert "skipped broken.jpg: not a readable image" in capsys.readouterr().err
    overlay = cv2.imread(str(out / "overlays" / "sub" / "c.png"))
    assert overlay.shape == (48, 40, 3)
    assert not np.array_equal(overlay, cv2.imread(str(image_folder / "sub" / "c.png")))  # the axes are drawn


def test_a_single_image(ssv_checkpoint, image_folder, tmp_path):
    out = tmp_path / "out"
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(image_folder / "b.png"), "--out", str(out)]) == 0
    assert [row["path"] for row in read_rows(out / "predictions.csv")] == ["b.png"]
    assert (out / "overlays" / "b.png").is_file()


def test_a_video_gives_a_row_per_frame_and_an_overlay_video(ssv_checkpoint, rgb_image, tmp_path):
    frames = [rgb_image(seed, 64, 80) for seed in range(6)]
    video = write_video(tmp_path / "clip.mp4", frames)
    out = tmp_path / "out"
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(video), "--out", str(out)]) == 0
    rows = read_rows(out / "predictions.csv")
    assert [row["frame"] for row in rows] == [str(number) for number in range(6)]
    overlay = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(overlay.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    assert (int(overlay.get(cv2.CAP_PROP_FRAME_WIDTH)), int(overlay.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (80, 64)
    overlay.release()
    assert len(list((out / "overlays").glob("frame_*.jpg"))) == 6
    out_short = tmp_path / "short"
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(video), "--out", str(out_short),
                 "--max-frames", "2"]) == 0
    assert len(read_rows(out_short / "predictions.csv")) == 2


def test_predicting_from_the_onnx_file_never_imports_lightning(
        onnx_model, ssv_checkpoint, image_folder, tmp_path, run_python):
    out = tmp_path / "out"
    result = run_python(f"""
import sys
from ssv.inference.predict import main
status = main(["--ckpt", {str(onnx_model)!r}, "--input", {str(image_folder)!r}, "--out", {str(out)!r}])
print(status, sorted(name for name in ("pytorch_lightning", "lightning", "wandb") if name in sys.modules))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    onnx_rows = read_rows(out / "predictions.csv")
    expected = ViewpointEstimator.from_checkpoint(ssv_checkpoint).predict([image_folder / "a.png"])[0]
    np.testing.assert_allclose([float(onnx_rows[0][k]) for k in ("azimuth", "elevation", "tilt")], expected,
                               atol=1e-2)


@pytest.mark.skipif(not BIWI.is_dir(), reason="the BIWI photographs are not in ../shared/fixtures/biwi")
def test_faces_are_found_in_photographs_and_a_photo_without_one_is_skipped(ssv_checkpoint, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in sorted(BIWI.glob("*_rgb.png")):
        (photos / source.name).symlink_to(source.resolve())
    cv2.imwrite(str(photos / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    out = tmp_path / "out"
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(photos), "--out", str(out), "--detect", "faces"]) == 0
    rows = read_rows(out / "predictions.csv")
    assert sorted({row["path"] for row in rows}) == sorted(path.name for path in BIWI.glob("*_rgb.png"))
    for row in rows:
        x1, y1, x2, y2 = (float(row[k]) for k in ("x1", "y1", "x2", "y2"))
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 480 and 50 < x2 - x1 < 250  # a head at BIWI's distance
    assert read_rows(out / "skipped.csv") == [{"path": "wall.png", "reason": "no face found"}]


def test_a_video_that_cannot_be_opened_stops_with_one_line(ssv_checkpoint, tmp_path, capsys):
    (tmp_path / "clip.mp4").write_bytes(b"not a video")
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(tmp_path / "clip.mp4"), "--out",
                 str(tmp_path / "out")]) == 2
    one_error_line(capsys, "cannot open video")


def test_a_camera_that_cannot_be_opened_stops_with_one_line(ssv_checkpoint, tmp_path, capsys):
    assert main(["--ckpt", str(ssv_checkpoint), "--camera", "97", "--out", str(tmp_path / "out")]) == 2
    one_error_line(capsys, "cannot open camera 97")


def test_a_file_that_is_not_a_checkpoint_stops_with_one_line(image_folder, tmp_path, capsys):
    assert main(["--ckpt", str(image_folder / "a.png"), "--input", str(image_folder), "--out",
                 str(tmp_path / "out")]) == 2
    one_error_line(capsys, "a.png: not a readable checkpoint")


def test_missing_input_and_empty_folder_stop_with_one_line(ssv_checkpoint, tmp_path, capsys):
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    one_error_line(capsys, "input not found")
    (tmp_path / "empty").mkdir()
    assert main(["--ckpt", str(ssv_checkpoint), "--input", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    one_error_line(capsys, "no images")
