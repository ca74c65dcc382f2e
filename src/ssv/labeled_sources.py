"""What a labeled data spec (``--data``, ``DATA=``, ``evaluation.data``) can name: every labeled dataset of the data
layer (:data:`datamodules.labeled.DATASET_SOURCES`) and ``synthetic:<category>``, the test split of the collection
the method renders."""

from __future__ import annotations

from datamodules.labeled import DATASET_SOURCES, LabeledSourceReader, resolve_labeled_source
from datamodules.manifest import LabeledImage
from ssv.synthetic.collection import read_test_split

SYNTHETIC_SCHEME = "synthetic"

LABELED_SOURCES: dict[str, LabeledSourceReader] = {SYNTHETIC_SCHEME: read_test_split, **DATASET_SOURCES}


def read_labeled_source(spec: str, image_size: int) -> list[LabeledImage]:
    """The labeled images ``spec`` names: ``<scheme>:<argument>`` for a scheme of :data:`LABELED_SOURCES`, a
    ``labels.csv`` or a folder holding one."""
    return resolve_labeled_source(spec, image_size, LABELED_SOURCES)
