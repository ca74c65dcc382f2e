import logging

from datamodules.datasets.records import BadItem, Scan, Skipped


def test_a_bad_item_says_its_reason_and_what_was_found():
    assert str(BadItem("no label", "pose.mat missing")) == "no label (pose.mat missing)"
    assert str(BadItem("no label")) == "no label"


def test_a_scan_records_logs_and_counts_skipped_items_by_reason(caplog):
    scan = Scan()
    with caplog.at_level(logging.WARNING):
        scan.skip("a.jpg", BadItem("no label", "pose.mat missing"))
        scan.skip("b.jpg", BadItem("no label"))
        scan.skip("c.jpg", BadItem("unreadable"))
    assert scan.skipped[0] == Skipped("a.jpg", "no label", "pose.mat missing")
    assert scan.skipped_by_reason() == {"no label": 2, "unreadable": 1}
    assert "Skipping a.jpg: no label (pose.mat missing)" in caplog.messages
