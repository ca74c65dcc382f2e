import csv
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from datamodules.datasets import preparation
from datamodules.datasets.preparation import prepare
from datamodules.labeled import resolve_labeled_source
from datamodules.manifest import ManifestError, read_manifest

BIWI_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "biwi"
SIZE = 32


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def crops(destination: Path) -> set[str]:
    return {path.relative_to(destination / "images").as_posix() for path in (destination / "images").rglob("*.jpg")}


def check_report(destination: Path, summary, caplog) -> None:
    """Every skipped item: one log line, one row of skipped.csv, counted in the summary."""
    skipped = rows(destination / "skipped.csv")
    assert len(skipped) == sum(summary.skipped.values())
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == len(skipped)
    for row in skipped:
        assert any(row["item"] in record.getMessage() and row["reason"] in record.getMessage() for record in warnings)


def test_300w_lp_crops_faces_from_landmarks_and_reports_the_rest(w300lp_root, tmp_path, caplog):
    destination = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        summary = prepare("300w-lp", w300lp_root, destination, image_size=SIZE)
    assert crops(destination) == {"AFW/AFW_1_0.jpg", "AFW_Flip/AFW_1_0.jpg"}
    assert cv2.imread(str(destination / "images" / "AFW" / "AFW_1_0.jpg")).shape == (SIZE, SIZE, 3)
    assert summary.kept == 2
    assert summary.skipped == {"wrong field": 2, "missing .mat": 1, "unreadable .mat": 1, "no face found": 1,
                               "unreadable image": 1}
    check_report(destination, summary, caplog)
    assert "kept 2, skipped 6 (2 wrong field, " in str(summary)
    labels = read_manifest(destination / "labels.csv")
    assert [label.path for label in labels] == [destination / "images" / "AFW" / "AFW_1_0.jpg",
                                                destination / "images" / "AFW_Flip" / "AFW_1_0.jpg"]
    assert labels[0].angles == pytest.approx((np.degrees(-0.5), np.degrees(0.1), np.degrees(0.2)), abs=1e-4)


def test_biwi_writes_head_crops_and_their_labels(biwi_root, tmp_path, caplog):
    destination = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        summary = prepare("biwi", biwi_root, destination, image_size=SIZE)
    assert crops(destination) == {"01/frame_00003.jpg", "01/frame_00009.jpg"}
    assert summary.skipped["unreadable image"] == 1 and summary.skipped["missing rgb.cal"] == 1
    check_report(destination, summary, caplog)
    labels = {label.path.name: label.angles for label in read_manifest(destination / "labels.csv")}
    assert labels["frame_00003.jpg"] == pytest.approx((30, -10, 5), abs=1.5)


def test_pascal3d_crops_objects_from_boxes(pascal3d_root, tmp_path, caplog):
    destination = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        summary = prepare("pascal3d-car", pascal3d_root, destination, image_size=SIZE)
    assert crops(destination) == {"car_pascal/2008_000001_1.jpg", "car_pascal/2008_000002_1.jpg"}
    check_report(destination, summary, caplog)
    labels = read_manifest(destination / "labels.csv")
    assert [label.angles for label in labels] == [pytest.approx((-10, 12.5, -3)), pytest.approx((90, -5, 2))]


def test_pascal3d_scan_options_reach_the_reader(pascal3d_root, tmp_path):
    summary = prepare("pascal3d-car", pascal3d_root, tmp_path / "out", image_size=SIZE, split="all", keep_hard=True)
    assert summary.kept == 6  # occluded and difficult cars, ImageNet ones and the one outside the val list


def test_compcars_is_unlabeled(compcars_root, tmp_path, caplog):
    destination = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        summary = prepare("compcars", compcars_root, destination, image_size=SIZE)
    assert crops(destination) == {"78/1/2014/a1.jpg", "78/1/2014/a2.jpg"}
    assert not (destination / "labels.csv").exists()
    check_report(destination, summary, caplog)


def test_objects_folder_is_padded_to_squares(tmp_path):
    source = tmp_path / "crops"
    source.mkdir()
    cv2.imwrite(str(source / "wide.png"), np.full((20, 60, 3), 255, np.uint8))
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    summary = prepare("objects", source, tmp_path / "out", image_size=30)
    crop = cv2.imread(str(tmp_path / "out" / "images" / "wide.jpg"))
    assert crop.shape == (30, 30, 3)
    assert crop[15, 15].min() > 240 and crop[1, 15].max() < 15  # object centred, black bars above and below
    assert summary.kept == 1 and summary.skipped == {"unreadable image": 1}


def test_faces_without_a_detection_are_listed_not_dropped(tmp_path):
    source = tmp_path / "photos"
    source.mkdir()
    cv2.imwrite(str(source / "wall.png"), np.full((80, 80, 3), 128, np.uint8))
    summary = prepare("faces", source, tmp_path / "out", image_size=SIZE)
    assert summary.kept == 0 and summary.skipped == {"no face found": 1}
    assert rows(tmp_path / "out" / "skipped.csv")[0]["item"] == str(source / "wall.png")


@pytest.mark.skipif(not BIWI_FIXTURES.is_dir(), reason=f"{BIWI_FIXTURES} not present")
def test_real_biwi_frames_by_projection_and_by_detector(tmp_path):
    summary = prepare("biwi", BIWI_FIXTURES, tmp_path / "biwi", image_size=SIZE)
    assert summary.kept == 3 and not summary.skipped
    # As a plain folder of photos: the detector finds the three faces and none in the depth masks.
    summary = prepare("faces", BIWI_FIXTURES, tmp_path / "faces", image_size=SIZE)
    assert crops(tmp_path / "faces") == {f"frame_{frame}_rgb.jpg" for frame in ("00442", "00470", "00499")}
    assert summary.skipped == {"no face found": 3}


def test_destination_must_be_empty_unless_overwritten(compcars_root, tmp_path):
    destination = tmp_path / "out"
    (destination / "images").mkdir(parents=True)
    stale = destination / "images" / "stale.jpg"
    stale.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="not empty"):
        prepare("compcars", compcars_root, destination)
    prepare("compcars", compcars_root, destination, image_size=SIZE, overwrite=True)
    assert not stale.exists() and len(crops(destination)) == 2


def test_unknown_dataset_and_face_box_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'celeba'; known: 300w-lp"):
        prepare("celeba", tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="annotation, detector"):
        prepare("biwi", tmp_path, tmp_path / "out", face_box="mtcnn")


def test_labeled_source_prepares_once_then_reads_the_cache(biwi_root, tmp_path, monkeypatch):
    read = preparation.labeled_source("biwi", cache_dir=tmp_path / "cache")
    first = read(str(biwi_root), SIZE)
    assert len(first) == 2 and all(item.path.is_file() for item in first)
    assert first[0].path.is_relative_to(preparation.prepared_folder("biwi", biwi_root, SIZE, tmp_path / "cache"))

    def fail(*args, **kwargs):
        raise AssertionError("prepared again")

    monkeypatch.setattr(preparation, "prepare", fail)
    assert read(str(biwi_root), SIZE) == first
    with pytest.raises(AssertionError, match="prepared again"):
        read(str(biwi_root), 2 * SIZE)  # another size is another preparation


def test_labeled_source_errors_are_manifest_errors(tmp_path):
    with pytest.raises(ManifestError, match="aflw2000:.*absent is not a folder"):
        preparation.labeled_source("aflw2000", cache_dir=tmp_path)(str(tmp_path / "absent"), SIZE)


def test_datasets_are_registered_as_labeled_sources(biwi_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default cache is data/prepared below the working directory
    items = resolve_labeled_source(f"biwi:{biwi_root}", SIZE)
    assert len(items) == 2
    assert items[0].path.is_relative_to(tmp_path / "data" / "prepared")
