import logging

import pytest

from datamodules.datasets import pascal3d


def names(scan):
    return {sample.name: sample for sample in scan.samples}


def test_val_protocol_reads_easy_cars_of_the_voc_val_list(pascal3d_root):
    samples = names(pascal3d.scan(pascal3d_root, "car"))
    assert set(samples) == {"car_pascal/2008_000001_1", "car_pascal/2008_000002_1"}
    fine = samples["car_pascal/2008_000001_1"]
    assert fine.image == pascal3d_root / "Images" / "car_pascal" / "2008_000001.jpg"
    assert fine.box == (10.0, 20.0, 60.0, 50.0)
    assert fine.view == pytest.approx((-10.0, 12.5, -3.0))  # azimuth 350 wrapped to [-180, 180)
    assert samples["car_pascal/2008_000002_1"].view == pytest.approx((90.0, -5.0, 2.0))  # coarse fallback


def test_bad_and_hard_objects_are_skipped_one_line_each(pascal3d_root, caplog):
    with caplog.at_level(logging.WARNING):
        scan = pascal3d.scan(pascal3d_root, "car")
    reasons = {item.item.rsplit("/", 1)[-1]: item.reason for item in scan.skipped}
    assert reasons == {
        "2008_000001.mat#2": "occluded",
        "2008_000003.mat#1": "wrong field",
        "2008_000004.mat": "missing image",
        "2008_000005.mat": "unreadable .mat",
        "2008_000006.mat": "wrong field",
        "2008_000008.mat#1": "wrong field",
    }
    assert len(caplog.records) == 6
    assert "no viewpoint" in caplog.text and "no record" in caplog.text
    assert "bbox [50.0, 20.0, 10.0, 40.0]" in caplog.text


def test_keep_hard_keeps_occluded_objects(pascal3d_root):
    samples = names(pascal3d.scan(pascal3d_root, "car", keep_hard=True))
    assert "car_pascal/2008_000001_2" in samples
    assert "car_pascal/2008_000001_3" not in samples  # a person, not a car


def test_split_all_reads_both_sources(pascal3d_root):
    samples = names(pascal3d.scan(pascal3d_root, "car", split="all"))
    assert {"car_pascal/2008_000007_1", "car_imagenet/n02814533_1_2"} <= set(samples)
    assert "car_imagenet/n02814533_1_1" not in samples  # difficult


def test_split_from_a_file(pascal3d_root, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("n02814533_1\n2008_000007\n")
    assert set(names(pascal3d.scan(pascal3d_root, "car", split=str(ids)))) == {
        "car_imagenet/n02814533_1_2", "car_pascal/2008_000007_1"}


def test_missing_split_list_is_a_clear_error(pascal3d_root):
    with pytest.raises(FileNotFoundError, match="bus_val.txt"):
        pascal3d.scan(pascal3d_root, "bus")
