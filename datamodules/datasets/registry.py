"""The datasets SSV reads, each declared once: its reader, its object category, whether it is labeled.

Everything that lists datasets derives from :data:`DATASETS`: ``make prepare``, the labeled data specs of
``make eval`` (:data:`datamodules.labeled.DATASET_SOURCES`) and ``make help``
(``python -m datamodules.datasets.registry``). It imports only the readers, so listing it is quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from datamodules.datasets import biwi, compcars, folders, pascal3d, threeddfa
from datamodules.datasets.records import Scan

FACES = "faces"
PASCAL3D_CATEGORIES = {"car": "cars", "bus": "buses", "train": "trains"}
"""The SSV category name of each PASCAL3D+ class."""


@dataclass(frozen=True)
class DatasetSpec:
    """``scan`` reads the raw dataset's folder; ``category`` is None for a folder of any objects."""

    scan: Callable[..., Scan]
    category: str | None
    labeled: bool
    description: str

    @property
    def faces(self) -> bool:
        """Faces are cropped around a face box (the annotation's or the detector's), other objects around theirs."""
        return self.category == FACES


DATASETS: dict[str, DatasetSpec] = {
    "300w-lp": DatasetSpec(threeddfa.scan_300w_lp, FACES, labeled=True,
                           description="300W-LP training faces (labels.csv written too)"),
    "aflw2000": DatasetSpec(threeddfa.scan_aflw2000, FACES, labeled=True,
                            description="AFLW2000-3D test faces, views within +-99 deg"),
    "biwi": DatasetSpec(biwi.scan, FACES, labeled=True, description="BIWI test faces, Euler yaw/pitch/roll"),
    "biwi-axis-angle": DatasetSpec(partial(biwi.scan, labels="axis-angle"), FACES, labeled=True,
                                   description="BIWI test faces, the SSV release's axis-angle labels"),
    **{
        f"pascal3d-{name}": DatasetSpec(partial(pascal3d.scan, category=name), PASCAL3D_CATEGORIES[name],
                                        labeled=True, description=f"PASCAL3D+ {name} test objects")
        for name in pascal3d.CATEGORIES
    },
    "compcars": DatasetSpec(compcars.scan, "cars", labeled=False,
                            description="CompCars training cars, cropped from their boxes"),
    "faces": DatasetSpec(folders.scan, FACES, labeled=False,
                         description="any folder of face photos, cropped by the face detector"),
    "objects": DatasetSpec(folders.scan, None, labeled=False,
                           description="any folder of object crops, padded to squares"),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The registered dataset ``name``; an unknown name raises a ValueError listing the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


if __name__ == "__main__":
    print(" ".join(DATASETS))
