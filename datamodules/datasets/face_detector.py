"""Face detection with the Haar cascades bundled in opencv-python (no model download at run time)."""

from __future__ import annotations

import cv2
import numpy as np

from datamodules.datasets.records import Box

FRONTAL_CASCADE = "haarcascade_frontalface_default.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
MIN_FACE_FRACTION = 0.1
"""Smallest face searched for, as a fraction of the image's shorter side."""


class FaceDetector:
    """Frontal and profile cascades (the profile one also on the mirrored image); the largest face found wins."""

    def __init__(self, min_face_fraction: float = MIN_FACE_FRACTION):
        self.min_face_fraction = min_face_fraction
        self.frontal = _load_cascade(FRONTAL_CASCADE)
        self.profile = _load_cascade(PROFILE_CASCADE)

    def detect(self, rgb: np.ndarray) -> Box | None:
        """The largest face box in an RGB image, or None."""
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        width = gray.shape[1]
        boxes = self._boxes(self.frontal, gray) + self._boxes(self.profile, gray)
        boxes += [(width - x2, y1, width - x1, y2) for x1, y1, x2, y2 in self._boxes(self.profile, gray[:, ::-1])]
        return max(boxes, key=lambda box: box[2] - box[0], default=None)

    def _boxes(self, cascade: cv2.CascadeClassifier, gray: np.ndarray) -> list[Box]:
        smallest = max(1, int(self.min_face_fraction * min(gray.shape)))
        found = cascade.detectMultiScale(
            np.ascontiguousarray(gray), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
        )
        return [(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in found]


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's bundled cascade {name} could not be loaded from {cv2.data.haarcascades}")
    return cascade
