"""BIWI Kinect Head Pose: sequence folders of ``frame_NNNNN_rgb.png`` + ``frame_NNNNN_pose.txt`` and one ``rgb.cal``.

``frame_NNNNN_pose.txt``: the head rotation R (3x3; the head frame is the camera frame for a frontal face), a blank
line, the head centre T in mm, both in the depth camera frame (x right, y down, z forward). ``rgb.cal``: the RGB
intrinsics K (3x3), 4 distortion coefficients, the depth-to-RGB extrinsics R_c (3x3) and T_c, and ``width height``.
In the RGB camera frame the head rotation is R_c R and the centre R_c T + T_c: on the release's demo frames that
centre projects onto the face, while the inverse transform misses it by about 15 px.

Labels (azimuth, elevation, tilt) = (yaw, pitch, roll) in degrees, two conventions:

- ``euler`` (default; the Hopenet / FSA-Net protocol): R_c R = Rx(-pitch) Ry(yaw) Rz(roll), with Rx, Ry, Rz the
  right-handed rotations about the camera axes. yaw > 0: the face turns towards the image's left (the subject's
  right); pitch > 0: it looks up; roll > 0: it tilts clockwise in the image.
- ``axis-angle`` (the SSV release): the rotation vector of R R_c (the release's product order) in degrees, its
  x, y, z components named pitch, yaw, roll. For small rotations yaw and roll match the Euler ones and pitch has the
  opposite sign. The release also dropped frames whose MTCNN face score was under 0.91; that detector's weights are
  not bundled with any package here, so that filter is not reproduced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from datamodules.datasets.records import BadItem, Box, Sample, Scan, View

LABEL_CONVENTIONS = ("euler", "axis-angle")
HEAD_BOX_MM = 180.0
"""Side of the crop box around the head centre, at the head's depth: about what a face detector's box spans."""
ROTATION_TOLERANCE = 1e-2


@dataclass(frozen=True)
class Calibration:
    intrinsics: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    size: tuple[int, int]


@dataclass(frozen=True)
class HeadPose:
    rotation: np.ndarray
    centre: np.ndarray


def scan(root: str | Path, labels: str = "euler") -> Scan:
    """Every frame of every sequence under ``root`` (a sequence folder itself, or e.g. ``hpdb/`` holding ``NN/``)."""
    if labels not in LABEL_CONVENTIONS:
        raise ValueError(f"labels must be one of {', '.join(LABEL_CONVENTIONS)}, not {labels!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    result = Scan()
    frames = sorted(root.rglob("frame_*_rgb.png"))
    for sequence in sorted({frame.parent for frame in frames}):
        _scan_sequence(root, sequence, [frame for frame in frames if frame.parent == sequence], labels, result)
    return result


def read_calibration(path: Path) -> Calibration:
    rows = _numeric_rows(path, (3, 3, 3, 4, 3, 3, 3, 3, 2))
    return Calibration(
        intrinsics=np.array(rows[0:3]),
        rotation=_rotation(path, rows[4:7]),
        translation=np.array(rows[7]),
        size=(int(rows[8][0]), int(rows[8][1])),
    )


def read_pose(path: Path) -> HeadPose:
    rows = _numeric_rows(path, (3, 3, 3, 3))
    return HeadPose(rotation=_rotation(path, rows[0:3]), centre=np.array(rows[3]))


def head_in_rgb(pose: HeadPose, calibration: Calibration) -> HeadPose:
    """The head pose in the RGB camera frame."""
    return HeadPose(
        rotation=calibration.rotation @ pose.rotation,
        centre=calibration.rotation @ pose.centre + calibration.translation,
    )


def euler_view(rotation: np.ndarray) -> View:
    """(yaw, pitch, roll) in degrees with ``rotation = Rx(-pitch) @ Ry(yaw) @ Rz(roll)``."""
    yaw = math.atan2(rotation[0, 2], math.hypot(rotation[1, 2], rotation[2, 2]))
    pitch = math.atan2(rotation[1, 2], rotation[2, 2])
    roll = math.atan2(-rotation[0, 1], rotation[0, 0])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def release_axis_angle_view(pose: HeadPose, calibration: Calibration) -> View:
    """The SSV release's label: rotation vector of ``R @ R_c`` in degrees, (x, y, z) read as (pitch, yaw, roll)."""
    vector, _ = cv2.Rodrigues(pose.rotation @ calibration.rotation)
    pitch, yaw, roll = np.degrees(vector.ravel())
    return float(yaw), float(pitch), float(roll)


def head_box(centre: np.ndarray, calibration: Calibration) -> Box:
    """A square of ``HEAD_BOX_MM`` around the projected head centre (a point in the RGB camera frame, mm)."""
    if centre[2] <= 0:
        raise BadItem("wrong field", f"head centre {centre.tolist()} is not in front of the camera")
    projected = calibration.intrinsics @ centre
    cx, cy = (float(value) for value in projected[:2] / projected[2])
    half = float(calibration.intrinsics[0, 0] * HEAD_BOX_MM / centre[2] / 2)
    return cx - half, cy - half, cx + half, cy + half


def _scan_sequence(root: Path, sequence: Path, frames: list[Path], labels: str, result: Scan) -> None:
    try:
        calibration = read_calibration(sequence / "rgb.cal")
    except BadItem as error:
        result.skip(sequence, BadItem(error.reason, f"{error.detail}; its {len(frames)} frames are skipped"))
        return
    for frame in frames:
        try:
            box, view = _label_frame(frame, calibration, labels)
        except BadItem as error:
            result.skip(frame, error)
            continue
        name = (sequence.relative_to(root) / frame.name.removesuffix("_rgb.png")).as_posix()
        result.samples.append(Sample(frame, name, box, view))


def _label_frame(frame: Path, calibration: Calibration, labels: str) -> tuple[Box, View]:
    pose = read_pose(frame.with_name(frame.name.replace("_rgb.png", "_pose.txt")))
    in_rgb = head_in_rgb(pose, calibration)
    view = euler_view(in_rgb.rotation) if labels == "euler" else release_axis_angle_view(pose, calibration)
    return head_box(in_rgb.centre, calibration), view


def _numeric_rows(path: Path, lengths: tuple[int, ...]) -> list[list[float]]:
    """The non-blank lines of a text file as numbers, checked against the expected count per line."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise BadItem(f"missing {_kind(path)}", str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadItem(f"unreadable {_kind(path)}", str(error)) from None
    found = tuple(len(line) for line in lines)
    if found != lengths:
        raise BadItem(f"malformed {_kind(path)}", f"{path.name}: numbers per line {found}, expected {lengths}")
    try:
        return [[float(value) for value in line] for line in lines]
    except ValueError as error:
        raise BadItem(f"malformed {_kind(path)}", f"{path.name}: {error}") from None


def _rotation(path: Path, rows: list[list[float]]) -> np.ndarray:
    matrix = np.array(rows)
    orthonormal = np.allclose(matrix @ matrix.T, np.eye(3), atol=ROTATION_TOLERANCE)
    if not (np.all(np.isfinite(matrix)) and orthonormal and np.linalg.det(matrix) > 0):
        raise BadItem(f"malformed {_kind(path)}", f"{path.name}: {matrix.tolist()} is not a rotation")
    return matrix


def _kind(path: Path) -> str:
    return "rgb.cal" if path.name == "rgb.cal" else "pose file"
