"""Small raw datasets written in their published formats, each with good and bad items."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import scipy.io

BIWI_INTRINSICS = [[517.679, 0, 320], [0, 517.679, 240.5], [0, 0, 1]]
BIWI_CAL_ROTATION = [[0.999947, 0.00432361, 0.00929419], [-0.00446314, 0.999877, 0.0150443],
                     [-0.009228, -0.015085, 0.999844]]
BIWI_CAL_TRANSLATION = [-24.0198, 5.8896, -13.2308]


def write_image(path: Path, height: int = 60, width: int = 80, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return path


def write_truncated(path: Path, height: int = 60, width: int = 80) -> Path:
    """An image file cut off near its end, as by an interrupted download."""
    write_image(path, height, width)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def rotation_from_view(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rx(-pitch) @ Ry(yaw) @ Rz(roll), angles in degrees: the documented BIWI Euler convention."""
    a, b, c = np.radians([-pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz


def struct_array(records: list[dict]) -> np.ndarray:
    """A 1 x N MATLAB struct array (what PASCAL3D+ stores in ``record.objects``)."""
    names = list(dict.fromkeys(name for record in records for name in record))
    array = np.zeros((1, len(records)), dtype=[(name, object) for name in names])
    for column, record in enumerate(records):
        for name in names:
            array[0, column][name] = record.get(name, np.zeros((0, 0)))
    return array


def _rows(matrix) -> str:
    return "\n".join(" ".join(f"{value:g}" for value in row) for row in np.atleast_2d(matrix)) + " \n"


def write_biwi_pose(path: Path, rotation: np.ndarray, centre) -> None:
    path.write_text(_rows(rotation) + "\n" + _rows(centre) + "\n")


def write_biwi_calibration(path: Path) -> None:
    path.write_text(
        _rows(BIWI_INTRINSICS) + "\n" + _rows([0, 0, 0, 0]) + "\n" + _rows(BIWI_CAL_ROTATION) + "\n"
        + _rows(BIWI_CAL_TRANSLATION) + "\n640 480"
    )


def write_3ddfa_mat(path: Path, pose_para=None, pt2d=None, **fields) -> Path:
    if pose_para is not None:
        fields["Pose_Para"] = np.asarray(pose_para, dtype=np.float64).reshape(1, -1)
    if pt2d is not None:
        fields["pt2d"] = np.asarray(pt2d, dtype=np.float64)
    fields.setdefault("Shape_Para", np.zeros((199, 1)))
    scipy.io.savemat(path, fields)
    return path


def landmarks(x1: float, y1: float, x2: float, y2: float, count: int = 68) -> np.ndarray:
    """2 x count points spread over a box, corners included."""
    xs = np.linspace(x1, x2, count)
    ys = np.concatenate([[y1, y2], np.linspace(y1, y2, count - 2)])
    return np.stack([xs, ys])


@pytest.fixture
def w300lp_root(tmp_path: Path) -> Path:
    """Two good faces with the same file name in two folders, one without landmarks, and five bad items."""
    root = tmp_path / "300W_LP"
    for folder in ("AFW", "AFW_Flip"):
        write_image(root / folder / "AFW_1_0.jpg", 120, 120)
        write_3ddfa_mat(root / folder / "AFW_1_0.mat", [0.1, -0.5, 0.2, 60, 60, 0, 0.001],
                        landmarks(30, 40, 90, 100))
    write_image(root / "HELEN" / "no_landmarks.jpg", 120, 120)
    write_3ddfa_mat(root / "HELEN" / "no_landmarks.mat", [0.0, 0.3, 0.0, 0, 0, 0, 1])
    write_image(root / "HELEN" / "no_mat.jpg")
    write_image(root / "HELEN" / "broken_mat.jpg")
    (root / "HELEN" / "broken_mat.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(50))
    write_image(root / "HELEN" / "no_pose.jpg")
    write_3ddfa_mat(root / "HELEN" / "no_pose.mat", pt2d=landmarks(1, 1, 9, 9))
    write_image(root / "HELEN" / "bad_landmarks.jpg")
    write_3ddfa_mat(root / "HELEN" / "bad_landmarks.mat", [0, 0, 0, 0, 0, 0, 1], np.zeros((3, 5)))
    write_truncated(root / "IBUG" / "truncated.jpg", 120, 120)
    write_3ddfa_mat(root / "IBUG" / "truncated.mat", [0, 0, 0, 0, 0, 0, 1], landmarks(30, 40, 90, 100))
    (root / "landmarks" / "AFW").mkdir(parents=True)
    scipy.io.savemat(root / "landmarks" / "AFW" / "AFW_1_0_pts.mat", {"pts_2d": np.zeros((68, 2))})
    return root


@pytest.fixture
def aflw2000_root(tmp_path: Path) -> Path:
    """AFLW2000-3D: a face with 21 AFLW landmarks (-1: invisible), one beyond +-99 degrees, one bad Pose_Para."""
    root = tmp_path / "AFLW2000"
    write_image(root / "image00002.jpg", 100, 100)
    points = landmarks(20, 30, 70, 80, count=21)
    points[:, 5] = -1
    write_3ddfa_mat(root / "image00002.mat", [-0.2, 0.6, 0.1, 50, 50, 0, 0.002], points,
                    pt3d_68=np.zeros((3, 68)))
    write_image(root / "image00004.jpg", 100, 100)
    write_3ddfa_mat(root / "image00004.mat", [0.1, math.radians(120), 0.0, 0, 0, 0, 1], points)
    write_image(root / "image00006.jpg", 100, 100)
    write_3ddfa_mat(root / "image00006.mat", [0.1, np.nan], points)
    return root


BIWI_GOOD_VIEWS = {"frame_00003": (30.0, -10.0, 5.0), "frame_00009": (-60.0, 20.0, -15.0)}


@pytest.fixture
def biwi_format() -> SimpleNamespace:
    """What the generated BIWI files are made of."""
    return SimpleNamespace(rotation_from_view=rotation_from_view, good_views=BIWI_GOOD_VIEWS,
                           calibration_rotation=np.array(BIWI_CAL_ROTATION))


@pytest.fixture
def biwi_root(tmp_path: Path) -> Path:
    """Sequence 01: two good frames and four bad ones; sequence 02 lacks rgb.cal; 03 has a truncated frame."""
    root = tmp_path / "hpdb"
    sequence = root / "01"
    sequence.mkdir(parents=True)
    write_biwi_calibration(sequence / "rgb.cal")
    for seed, (frame, view) in enumerate(BIWI_GOOD_VIEWS.items()):
        write_image(sequence / f"{frame}_rgb.png", 480, 640, seed)
        write_biwi_pose(sequence / f"{frame}_pose.txt", rotation_from_view(*view), [80.0, 20.0, 950.0])
    write_image(sequence / "frame_00004_rgb.png", 480, 640)
    write_image(sequence / "frame_00005_rgb.png", 480, 640)
    (sequence / "frame_00005_pose.txt").write_text("1 0 0\n0 1\n0 0 1\n\n0 0 900\n")
    write_image(sequence / "frame_00006_rgb.png", 480, 640)
    write_biwi_pose(sequence / "frame_00006_pose.txt", 2 * np.eye(3), [0.0, 0.0, 900.0])
    write_image(sequence / "frame_00007_rgb.png", 480, 640)
    write_biwi_pose(sequence / "frame_00007_pose.txt", np.eye(3), [0.0, 0.0, -900.0])
    write_image(root / "02" / "frame_00001_rgb.png", 480, 640)
    write_biwi_pose(root / "02" / "frame_00001_pose.txt", np.eye(3), [0.0, 0.0, 900.0])
    (root / "03").mkdir()
    write_biwi_calibration(root / "03" / "rgb.cal")
    write_truncated(root / "03" / "frame_00002_rgb.png", 480, 640)
    write_biwi_pose(root / "03" / "frame_00002_pose.txt", np.eye(3), [0.0, 0.0, 900.0])
    return root


def _pascal_object(cls="car", bbox=(10, 20, 60, 50), viewpoint=None, truncated=0, occluded=0, difficult=0):
    if viewpoint is None:
        viewpoint = {"azimuth_coarse": 345.0, "azimuth": 350.0, "elevation_coarse": 10.0, "elevation": 12.5,
                     "distance": 5.0, "focal": 1.0, "px": 40.0, "py": 30.0, "theta": -3.0, "error": 0.0}
    return {"class": cls, "view": "Frontal", "bbox": np.asarray(bbox, dtype=np.float64).reshape(1, 4),
            "truncated": truncated, "occluded": occluded, "difficult": difficult, "viewpoint": viewpoint,
            "cad_index": 1}


def write_pascal_record(root: Path, folder: str, stem: str, objects, image: bool = True) -> Path:
    annotation = root / "Annotations" / folder / f"{stem}.mat"
    annotation.parent.mkdir(parents=True, exist_ok=True)
    record = {"filename": f"{stem}.jpg", "folder": folder, "source": "PASCAL3D+", "imgsize": [80, 60, 3],
              "database": "PASCAL VOC 2012", "objects": objects}
    scipy.io.savemat(annotation, {"record": record})
    if image:
        write_image(root / "Images" / folder / f"{stem}.jpg")
    return annotation


@pytest.fixture
def pascal3d_root(tmp_path: Path) -> Path:
    """Cars: 2 usable in the VOC val list (one fine, one coarse-only view), 1 more in ImageNet; bad and hard ones."""
    root = tmp_path / "PASCAL3D+_release1.1"
    occluded, person = _pascal_object(occluded=1), _pascal_object(cls="person")
    write_pascal_record(root, "car_pascal", "2008_000001", struct_array([_pascal_object(), occluded, person]))
    coarse = {"azimuth_coarse": 90.0, "elevation_coarse": -5.0, "theta": 2.0, "azimuth": np.zeros((0, 0))}
    write_pascal_record(root, "car_pascal", "2008_000002", struct_array([_pascal_object(viewpoint=coarse)]))
    write_pascal_record(root, "car_pascal", "2008_000003",
                        struct_array([_pascal_object(viewpoint=np.zeros((0, 0)))]))
    write_pascal_record(root, "car_pascal", "2008_000004", struct_array([_pascal_object()]), image=False)
    (root / "Annotations" / "car_pascal" / "2008_000005.mat").write_bytes(b"not a mat file at all")
    scipy.io.savemat(root / "Annotations" / "car_pascal" / "2008_000006.mat", {"other": 1})
    write_pascal_record(root, "car_pascal", "2008_000007", struct_array([_pascal_object()]))
    write_pascal_record(root, "car_pascal", "2008_000008", struct_array([_pascal_object(bbox=(50, 20, 10, 40))]))
    write_pascal_record(root, "car_imagenet", "n02814533_1", struct_array([_pascal_object(difficult=1),
                                                                           _pascal_object(bbox=(5, 5, 40, 30))]))
    lists = root / "PASCAL" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Main"
    lists.mkdir(parents=True)
    ids = ["2008_000001  1", "2008_000002  0", "2008_000003  1", "2008_000004  1", "2008_000005  1",
           "2008_000006  1", "2008_000007 -1", "2008_000008  1", "2008_000099  1"]
    (lists / "car_val.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture
def compcars_root(tmp_path: Path) -> Path:
    """Two good cars, a missing label, a malformed label, an empty box and a truncated image."""
    root = tmp_path / "CompCars" / "data"

    def car(name: str, label: str | None, truncated: bool = False) -> None:
        image = root / "image" / "78" / "1" / "2014" / f"{name}.jpg"
        write_truncated(image) if truncated else write_image(image)
        if label is not None:
            path = root / "label" / "78" / "1" / "2014" / f"{name}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(label)

    car("a1", "3\n1\n10 5 70 50\n")
    car("a2", "-1\n1\n0 0 80 60\n")
    car("no_label", None)
    car("short_label", "3\n1\n")
    car("empty_box", "3\n1\n30 30 30 40\n")
    car("truncated", "4\n1\n10 5 70 50\n", truncated=True)
    return root
