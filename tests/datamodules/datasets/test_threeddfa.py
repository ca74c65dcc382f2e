import logging
import math

import pytest

from datamodules.datasets import threeddfa
from datamodules.datasets.records import BadItem


def by_name(scan):
    return {sample.name: sample for sample in scan.samples}


def test_300w_lp_reads_views_in_degrees_and_landmark_boxes(w300lp_root):
    samples = by_name(threeddfa.scan_300w_lp(w300lp_root))
    assert set(samples) == {"AFW/AFW_1_0", "AFW_Flip/AFW_1_0", "HELEN/no_landmarks", "IBUG/truncated"}
    sample = samples["AFW/AFW_1_0"]
    assert sample.image == w300lp_root / "AFW" / "AFW_1_0.jpg"
    yaw, pitch, roll = sample.view
    assert (yaw, pitch, roll) == pytest.approx((math.degrees(-0.5), math.degrees(0.1), math.degrees(0.2)))
    half = threeddfa.LANDMARK_BOX_SCALE * 60 / 2
    assert sample.box == pytest.approx((60 - half, 70 - half, 60 + half, 70 + half))
    assert samples["HELEN/no_landmarks"].box is None


def test_300w_lp_bad_items_are_skipped_one_line_each(w300lp_root, caplog):
    with caplog.at_level(logging.WARNING):
        scan = threeddfa.scan_300w_lp(w300lp_root)
    reasons = {item.item.rsplit("/", 1)[-1]: item.reason for item in scan.skipped}
    assert reasons == {"no_mat.jpg": "missing .mat", "broken_mat.jpg": "unreadable .mat",
                       "no_pose.jpg": "wrong field", "bad_landmarks.jpg": "wrong field"}
    assert len(caplog.records) == 4
    assert all(record.getMessage().startswith("Skipping ") for record in caplog.records)
    assert "bad_landmarks.jpg: wrong field (pt2d has shape (3, 5)" in caplog.text
    assert "no_pose.jpg: wrong field (no Pose_Para)" in caplog.text
    assert scan.skipped_by_reason() == {"wrong field": 2, "missing .mat": 1, "unreadable .mat": 1}


def test_aflw2000_ignores_invisible_landmarks_and_applies_the_99_degree_protocol(aflw2000_root):
    scan = threeddfa.scan_aflw2000(aflw2000_root)
    [sample] = scan.samples
    assert sample.view == pytest.approx((math.degrees(0.6), math.degrees(-0.2), math.degrees(0.1)))
    half = threeddfa.LANDMARK_BOX_SCALE * 50 / 2
    assert sample.box == pytest.approx((45 - half, 55 - half, 45 + half, 55 + half))
    skipped = {item.item.rsplit("/", 1)[-1]: (item.reason, item.detail) for item in scan.skipped}
    assert skipped["image00004.jpg"][0] == "view beyond +-99 deg"
    assert "yaw 120.0" in skipped["image00004.jpg"][1]
    assert skipped["image00006.jpg"][0] == "wrong field"


def test_300w_lp_keeps_views_beyond_99_degrees(aflw2000_root):
    assert len(threeddfa.scan_300w_lp(aflw2000_root).samples) == 2


def test_read_annotation_missing_file(tmp_path):
    with pytest.raises(BadItem, match="missing .mat"):
        threeddfa.read_annotation(tmp_path / "absent.mat")


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        threeddfa.scan_300w_lp(tmp_path / "absent")
