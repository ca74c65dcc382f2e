"""300W-LP and AFLW2000-3D: ``NAME.jpg`` beside ``NAME.mat``, the 3DDFA fitting of the face in the image.

``Pose_Para`` holds pitch, yaw, roll in radians, then the translation (3 values) and the scale. Views are
(azimuth, elevation, tilt) = (yaw, pitch, roll) in degrees with the published signs, the convention that Hopenet and
FSA-Net share with their BIWI Euler angles (see ``biwi.py``). ``pt2d`` holds 2D landmarks (2 x N pixel coordinates;
negative ones mark invisible points) that give the crop box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from datamodules.datasets.records import BadItem, Box, Sample, Scan, View

AFLW2000_LIMIT_DEG = 99.0
"""The usual AFLW2000 protocol keeps faces whose yaw, pitch and roll are all within this many degrees."""

LANDMARK_BOX_SCALE = 1.25
"""Landmarks span brows to chin and cheek to cheek: this scale brings their box to a face detector's extent."""


def scan_300w_lp(root: str | Path) -> Scan:
    """Every ``.jpg`` with its ``.mat`` under a 300W-LP folder (the training set, used without its labels)."""
    return _scan(Path(root), limit_deg=None)


def scan_aflw2000(root: str | Path) -> Scan:
    """AFLW2000-3D as a labeled test set: faces with a view beyond +-99 degrees are skipped."""
    return _scan(Path(root), limit_deg=AFLW2000_LIMIT_DEG)


def read_annotation(mat_path: Path) -> tuple[View, Box | None]:
    """The view in degrees and the landmark box (None without visible landmarks) of one ``.mat`` file."""
    if not mat_path.is_file():
        raise BadItem("missing .mat", mat_path.name)
    try:
        fields = scipy.io.loadmat(mat_path)
    except Exception as error:  # scipy raises several types for a damaged or non-MATLAB file
        raise BadItem("unreadable .mat", f"{type(error).__name__}: {error}") from None
    return _view(fields), _landmark_box(fields)


def _scan(root: Path, limit_deg: float | None) -> Scan:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    scan = Scan()
    for image in sorted(path for path in root.rglob("*") if path.suffix.lower() == ".jpg"):
        try:
            view, box = read_annotation(image.with_suffix(".mat"))
            _check_limit(view, limit_deg)
        except BadItem as error:
            scan.skip(image, error)
            continue
        name = image.relative_to(root).with_suffix("").as_posix()
        scan.samples.append(Sample(image, name, box, view))
    return scan


def _view(fields: dict) -> View:
    if "Pose_Para" not in fields:
        raise BadItem("wrong field", "no Pose_Para")
    pose = np.asarray(fields["Pose_Para"], dtype=np.float64).ravel()
    if pose.size < 3 or not np.all(np.isfinite(pose[:3])):
        raise BadItem("wrong field", f"Pose_Para starts with {pose[:3].tolist()}, expected pitch, yaw, roll")
    pitch, yaw, roll = np.degrees(pose[:3])
    return float(yaw), float(pitch), float(roll)


def _landmark_box(fields: dict) -> Box | None:
    if "pt2d" not in fields:
        return None
    points = np.asarray(fields["pt2d"], dtype=np.float64)
    if points.ndim != 2 or 2 not in points.shape:
        raise BadItem("wrong field", f"pt2d has shape {points.shape}, expected 2 x N")
    if points.shape[0] != 2:
        points = points.T
    visible = points[:, np.all(points >= 0, axis=0) & np.all(np.isfinite(points), axis=0)]
    if visible.shape[1] < 2:
        return None
    (x1, y1), (x2, y2) = visible.min(axis=1).tolist(), visible.max(axis=1).tolist()
    half = LANDMARK_BOX_SCALE * max(x2 - x1, y2 - y1) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return cx - half, cy - half, cx + half, cy + half


def _check_limit(view: View, limit_deg: float | None) -> None:
    if limit_deg is not None and max(abs(angle) for angle in view) > limit_deg:
        angles = ", ".join(f"{name} {angle:.1f}" for name, angle in zip(("yaw", "pitch", "roll"), view))
        raise BadItem(f"view beyond +-{limit_deg:g} deg", angles)
