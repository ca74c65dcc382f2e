import logging

import pytest

from datamodules.datasets import compcars


def test_reads_boxes_and_skips_bad_labels_one_line_each(compcars_root, caplog):
    with caplog.at_level(logging.WARNING):
        scan = compcars.scan(compcars_root)
    samples = {sample.name: sample for sample in scan.samples}
    assert set(samples) == {"78/1/2014/a1", "78/1/2014/a2", "78/1/2014/truncated"}
    assert samples["78/1/2014/a1"].box == (10.0, 5.0, 70.0, 50.0)
    assert samples["78/1/2014/a1"].view is None
    reasons = {item.item.rsplit("/", 1)[-1]: item.reason for item in scan.skipped}
    assert reasons == {"no_label.jpg": "missing label", "short_label.jpg": "malformed label",
                       "empty_box.jpg": "malformed label"}
    assert len(caplog.records) == 3


def test_root_without_image_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="image/ and label/"):
        compcars.scan(tmp_path)
