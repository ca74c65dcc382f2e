import logging
from pathlib import Path

import numpy as np
import pytest

from datamodules.datasets import biwi
from datamodules.datasets.face_detector import FaceDetector
from datamodules.images import read_rgb

BIWI_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "biwi"
needs_fixtures = pytest.mark.skipif(not BIWI_FIXTURES.is_dir(), reason=f"{BIWI_FIXTURES} not present")


@pytest.mark.parametrize("view", [(0, 0, 0), (30, -10, 5), (-75, 40, -20), (10, 60, 170), (89, 0, 0)])
def test_euler_view_recovers_the_angles_a_rotation_was_built_from(view, biwi_format):
    assert biwi.euler_view(biwi_format.rotation_from_view(*view)) == pytest.approx(view, abs=1e-9)


def test_euler_signs_follow_the_documented_meaning(biwi_format):
    rotation_from_view = biwi_format.rotation_from_view

    def face_direction(view):  # where the face looks, in the camera frame (x right, y down, z forward)
        return rotation_from_view(*view) @ np.array([0.0, 0.0, -1.0])

    assert face_direction((30, 0, 0))[0] < 0  # yaw > 0: towards the image's left
    assert face_direction((0, 30, 0))[1] < 0  # pitch > 0: up
    top_of_head = rotation_from_view(0, 0, 30) @ np.array([0.0, -1.0, 0.0])
    assert top_of_head[0] > 0  # roll > 0: clockwise in the image


def test_head_pose_in_rgb_composes_the_calibration(biwi_format):
    rotation_from_view = biwi_format.rotation_from_view
    pose = biwi.HeadPose(rotation_from_view(20, 5, 0), np.array([10.0, 20.0, 900.0]))
    calibration = biwi.Calibration(np.eye(3), rotation_from_view(0, 0, 90), np.array([1.0, 2.0, 3.0]), (640, 480))
    in_rgb = biwi.head_in_rgb(pose, calibration)
    assert np.allclose(in_rgb.rotation, calibration.rotation @ pose.rotation)
    assert np.allclose(in_rgb.centre, [-20 + 1, 10 + 2, 903])


def test_scan_reads_good_frames_with_views_and_head_boxes(biwi_root, biwi_format):
    scan = biwi.scan(biwi_root)
    samples = {sample.name: sample for sample in scan.samples}
    assert set(samples) == {"01/frame_00003", "01/frame_00009", "03/frame_00002"}
    for frame, view in biwi_format.good_views.items():
        # The calibration rotation is about one degree: the labels stay close to the angles the pose was built from.
        assert samples[f"01/{frame}"].view == pytest.approx(view, abs=1.5)
        in_rgb = biwi_format.calibration_rotation @ biwi_format.rotation_from_view(*view)
        assert samples[f"01/{frame}"].view == pytest.approx(biwi.euler_view(in_rgb), abs=1e-3)
    x1, y1, x2, y2 = samples["01/frame_00003"].box
    assert x2 - x1 == pytest.approx(y2 - y1) == pytest.approx(517.679 * biwi.HEAD_BOX_MM / (950 - 0.5), rel=0.02)
    assert 320 < (x1 + x2) / 2 < 400 and 240 < (y1 + y2) / 2 < 280


def test_scan_skips_bad_frames_and_sequences_one_line_each(biwi_root, caplog):
    with caplog.at_level(logging.WARNING):
        scan = biwi.scan(biwi_root)
    reasons = {item.item.split("hpdb/")[-1]: item.reason for item in scan.skipped}
    assert reasons == {
        "01/frame_00004_rgb.png": "missing pose file",
        "01/frame_00005_rgb.png": "malformed pose file",
        "01/frame_00006_rgb.png": "malformed pose file",
        "01/frame_00007_rgb.png": "wrong field",
        "02": "missing rgb.cal",
    }
    assert len(caplog.records) == 5
    assert "its 1 frames are skipped" in caplog.text
    assert "numbers per line (3, 2, 3, 3), expected (3, 3, 3, 3)" in caplog.text
    assert "is not a rotation" in caplog.text


def test_axis_angle_labels_are_the_release_rotation_vector(biwi_root, biwi_format):
    scan = biwi.scan(biwi_root, labels="axis-angle")
    sample = next(sample for sample in scan.samples if sample.name == "01/frame_00003")
    pose = biwi_format.rotation_from_view(*biwi_format.good_views["frame_00003"])
    rotation = pose @ biwi_format.calibration_rotation
    angle = np.degrees(np.arccos((np.trace(rotation) - 1) / 2))
    yaw, pitch, roll = sample.view
    assert np.linalg.norm([pitch, yaw, roll]) == pytest.approx(angle)
    assert np.allclose(rotation @ np.array([pitch, yaw, roll]), [pitch, yaw, roll])  # the rotation axis


def test_unknown_label_convention_is_an_error(biwi_root):
    with pytest.raises(ValueError, match="euler, axis-angle"):
        biwi.scan(biwi_root, labels="quaternion")


@needs_fixtures
def test_real_frames_parse_with_the_documented_signs():
    scan = biwi.scan(BIWI_FIXTURES)
    assert not scan.skipped
    views = {sample.name: sample.view for sample in scan.samples}
    assert set(views) == {"frame_00442", "frame_00470", "frame_00499"}
    # 00442 looks towards the image's left, 00499 towards its right, 00470 nearly at the camera; all upright.
    assert views["frame_00442"][0] > 45 and views["frame_00499"][0] < -30 and 10 < views["frame_00470"][0] < 25
    assert all(abs(pitch) < 10 and abs(roll) < 10 for _, pitch, roll in views.values())
    calibration = biwi.read_calibration(BIWI_FIXTURES / "rgb.cal")
    assert calibration.size == (640, 480) and calibration.intrinsics[0, 0] == pytest.approx(517.679)


@needs_fixtures
def test_real_frames_head_box_lies_on_the_detected_face():
    detector = FaceDetector()
    for sample in biwi.scan(BIWI_FIXTURES).samples:
        x1, y1, x2, y2 = detector.detect(read_rgb(sample.image))
        cx, cy = (sample.box[0] + sample.box[2]) / 2, (sample.box[1] + sample.box[3]) / 2
        assert x1 < cx < x2 and y1 < cy < y2
        assert 0.6 < (sample.box[2] - sample.box[0]) / (x2 - x1) < 1.4
