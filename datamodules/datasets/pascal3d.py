"""PASCAL3D+ (release 1.1) as labeled test sets: ``Annotations/<class>_<source>/<id>.mat`` beside
``Images/<class>_<source>/<record.filename>``, source ``pascal`` or ``imagenet``.

Each ``record.objects`` entry has ``class``, ``bbox`` [x1 y1 x2 y2] in pixels, the ``truncated`` / ``occluded`` /
``difficult`` flags and ``viewpoint`` with ``azimuth``, ``elevation``, ``theta`` in degrees (``azimuth_coarse`` /
``elevation_coarse`` where the fine ones are missing). Views are (azimuth, elevation, tilt) = (azimuth wrapped to
[-180, 180), elevation, theta) in degrees.

The usual test protocol, ``split="val"``: the ``pascal`` images of the PASCAL VOC 2012 val list of the class
(``PASCAL/VOCdevkit/VOC2012/ImageSets/Main/<class>_val.txt`` in the release), objects neither truncated, occluded
nor difficult.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.io

from datamodules.datasets.records import BadItem, Box, Sample, Scan, View

CATEGORIES = ("car", "bus", "train")
SOURCES = ("pascal", "imagenet")
HARD_FLAGS = ("truncated", "occluded", "difficult")


def voc_val_list(root: Path, category: str) -> Path:
    return root / "PASCAL" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Main" / f"{category}_val.txt"


def scan(root: str | Path, category: str, split: str = "val", keep_hard: bool = False) -> Scan:
    """Objects of ``category`` with their views.

    ``split``: ``val`` (the test protocol above), ``all`` (every annotation, both sources) or the path of a list of
    image ids (first word per line; VOC lists mark absent classes with -1 in the second). ``keep_hard`` keeps
    truncated, occluded and difficult objects.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    sources = ("pascal",) if split == "val" else SOURCES
    ids = None if split == "all" else read_id_list(voc_val_list(root, category) if split == "val" else Path(split))
    result = Scan()
    for source in sources:
        for annotation in sorted((root / "Annotations" / f"{category}_{source}").glob("*.mat")):
            if ids is None or annotation.stem in ids:
                _scan_annotation(root, annotation, category, keep_hard, result)
    return result


def read_id_list(path: Path) -> set[str]:
    if not path.is_file():
        raise FileNotFoundError(f"image id list {path} not found (give split='all' or the path of a list)")
    rows = (line.split() for line in path.read_text().splitlines())
    return {row[0] for row in rows if row and row[1:2] != ["-1"]}


def read_record(annotation: Path):
    try:
        return scipy.io.loadmat(annotation, squeeze_me=True, struct_as_record=False)["record"]
    except KeyError:
        raise BadItem("wrong field", "no record") from None
    except Exception as error:  # scipy raises several types for a damaged or non-MATLAB file
        raise BadItem("unreadable .mat", f"{type(error).__name__}: {error}") from None


def _scan_annotation(root: Path, annotation: Path, category: str, keep_hard: bool, result: Scan) -> None:
    try:
        record = read_record(annotation)
        image = root / "Images" / annotation.parent.name / _field(record, "filename")
        objects = list(np.atleast_1d(_field(record, "objects")))
    except BadItem as error:
        result.skip(annotation, error)
        return
    if not image.is_file():
        result.skip(annotation, BadItem("missing image", str(image)))
        return
    for number, obj in enumerate(objects, start=1):
        if getattr(obj, "class", None) != category:
            continue
        item = f"{annotation}#{number}"
        try:
            _check_easy(obj, keep_hard)
            box, view = _box(obj), _view(obj)
        except BadItem as error:
            result.skip(item, error)
            continue
        name = f"{annotation.parent.name}/{annotation.stem}_{number}"
        result.samples.append(Sample(image, name, box, view))


def _field(struct, name: str):
    value = getattr(struct, name, None)
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        raise BadItem("wrong field", f"no {name}")
    return value


def _check_easy(obj, keep_hard: bool) -> None:
    if keep_hard:
        return
    for flag in HARD_FLAGS:
        if _is_set(getattr(obj, flag, 0)):
            raise BadItem(flag)


def _is_set(value) -> bool:
    return bool(np.size(value)) and bool(np.asarray(value).ravel()[0])


def _box(obj) -> Box:
    box = np.asarray(_field(obj, "bbox"), dtype=np.float64).ravel()
    if box.size != 4 or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise BadItem("wrong field", f"bbox {box.tolist()}, expected x1 y1 x2 y2")
    x1, y1, x2, y2 = box.tolist()
    return x1, y1, x2, y2


def _view(obj) -> View:
    viewpoint = _field(obj, "viewpoint")
    azimuth = _angle(viewpoint, "azimuth", "azimuth_coarse")
    elevation = _angle(viewpoint, "elevation", "elevation_coarse")
    theta = _angle(viewpoint, "theta")
    return (azimuth + 180.0) % 360.0 - 180.0, elevation, theta


def _angle(viewpoint, *names: str) -> float:
    for name in names:
        value = np.asarray(getattr(viewpoint, name, []), dtype=np.float64).ravel()
        if value.size == 1 and math.isfinite(value[0]):
            return float(value[0])
    raise BadItem("wrong field", f"viewpoint has no {' or '.join(names)}")
