"""FaceDetector.faces: one box per face, however many cascade passes find it."""

from datamodules.datasets.face_detector import FaceDetector


def test_overlapping_candidates_are_one_face_and_separate_ones_are_two(monkeypatch):
    detector = FaceDetector()
    candidates = [(10.0, 10.0, 50.0, 50.0), (12.0, 8.0, 56.0, 52.0), (200.0, 20.0, 230.0, 50.0)]
    monkeypatch.setattr(detector, "candidates", lambda rgb: candidates)
    assert detector.faces(None) == [(12.0, 8.0, 56.0, 52.0), (200.0, 20.0, 230.0, 50.0)]
    assert detector.detect(None) == (12.0, 8.0, 56.0, 52.0)
