"""Face detection with the Haar cascades bundled in opencv-python (no model download at run time)."""

from __future__ import annotations

import cv2
import numpy as np

from datamodules.datasets.records import Box

FRONTAL_CASCADE = "haarcascade_frontalface_default.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
MIN_FACE_FRACTION = 0.1
"""Smallest face searched for, as a fraction of the image's shorter side."""
SAME_FACE_OVERLAP = 0.5
"""Above this share of the smaller box inside the larger, two candidate boxes are taken for one face."""


class FaceDetector:
    """Frontal and profile cascades (the profile one also on the mirrored image); the largest face found wins."""

    def __init__(self, min_face_fraction: float = MIN_FACE_FRACTION):
        self.min_face_fraction = min_face_fraction
        self.frontal = _load_cascade(FRONTAL_CASCADE)
        self.profile = _load_cascade(PROFILE_CASCADE)

    def detect(self, rgb: np.ndarray) -> Box | None:
        """The largest face box in an RGB image, or None."""
        return max(self.candidates(rgb), key=_width, default=None)

    def faces(self, rgb: np.ndarray) -> list[Box]:
        """Every face in an RGB image, largest first: a candidate overlapping a larger one is the same face."""
        kept: list[Box] = []
        for box in sorted(self.candidates(rgb), key=_width, reverse=True):
            if all(_overlap(box, larger) <= SAME_FACE_OVERLAP for larger in kept):
                kept.append(box)
        return kept

    def candidates(self, rgb: np.ndarray) -> list[Box]:
        """The boxes of all three cascade passes; one face is often found by more than one."""
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        width = gray.shape[1]
        boxes = self._boxes(self.frontal, gray) + self._boxes(self.profile, gray)
        boxes += [(width - x2, y1, width - x1, y2) for x1, y1, x2, y2 in self._boxes(self.profile, gray[:, ::-1])]
        return boxes

    def _boxes(self, cascade: cv2.CascadeClassifier, gray: np.ndarray) -> list[Box]:
        smallest = max(1, int(self.min_face_fraction * min(gray.shape)))
        found = cascade.detectMultiScale(
            np.ascontiguousarray(gray), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
        )
        return [(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in found]


def _width(box: Box) -> float:
    return box[2] - box[0]


def _overlap(box: Box, other: Box) -> float:
    """Intersection area over the smaller box's area."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    smaller = min((b[2] - b[0]) * (b[3] - b[1]) for b in (box, other))
    return max(width, 0.0) * max(height, 0.0) / smaller


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's bundled cascade {name} could not be loaded from {cv2.data.haarcascades}")
    return cascade
