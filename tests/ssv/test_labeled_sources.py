"""Labeled data specs of the method: the data layer's datasets and files, and the synthetic collections."""

import pytest

from datamodules.labeled import DATASET_SOURCES
from datamodules.manifest import ManifestError
from ssv.labeled_sources import LABELED_SOURCES, SYNTHETIC_SCHEME, read_labeled_source
from ssv.synthetic import collection


def test_every_dataset_source_and_the_synthetic_scheme_are_named():
    assert set(LABELED_SOURCES) == {SYNTHETIC_SCHEME, *DATASET_SOURCES}


def test_a_synthetic_spec_reads_the_test_split_at_the_model_size(rendered_faces, monkeypatch):
    requests = []
    monkeypatch.setattr(collection, "ensure_rendered", lambda **settings: requests.append(settings) or rendered_faces)
    items = read_labeled_source("synthetic:faces", 64)
    assert items and all(item.path.parent == rendered_faces / "test" / "images" for item in items)
    assert requests == [{"category": "faces", "image_size": 64}]


@pytest.mark.parametrize("spec, message", [("synthetic:", "nothing after 'synthetic:'"),
                                           ("synthetic:boats", "synthetic collection: unknown category 'boats'"),
                                           ("nowhere/labels.txt", "synthetic:<...>")])
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ManifestError, match=message):
        read_labeled_source(spec, 32)
