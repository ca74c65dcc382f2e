"""The one registry of datasets: what lists datasets derives from it, and listing it loads no torch."""

import os
import subprocess
import sys

import pytest

from datamodules.datasets.registry import DATASETS, dataset_spec
from datamodules.labeled import DATASET_SOURCES


def test_every_labeled_dataset_and_only_those_is_a_labeled_source():
    assert set(DATASET_SOURCES) == {name for name, spec in DATASETS.items() if spec.labeled}
    assert {"biwi", "aflw2000", "pascal3d-car"} <= set(DATASET_SOURCES) and "compcars" not in DATASET_SOURCES


def test_categories_name_the_ssv_category_and_faces_are_cropped_as_faces():
    assert {name: spec.category for name, spec in DATASETS.items() if name.startswith("pascal3d-")} == {
        "pascal3d-car": "cars", "pascal3d-bus": "buses", "pascal3d-train": "trains"}
    assert dataset_spec("biwi").faces and not dataset_spec("compcars").faces
    assert dataset_spec("objects").category is None


def test_an_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'celeba'; known: 300w-lp, aflw2000"):
        dataset_spec("celeba")


def test_the_listing_for_make_help_names_every_dataset_without_loading_torch():
    listing = "import runpy, sys; runpy.run_module('datamodules.datasets.registry', run_name='__main__'); " \
              "print('torch' in sys.modules)"
    lines = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.splitlines()
    assert lines == [" ".join(DATASETS), "False"]
