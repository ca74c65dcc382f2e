"""Square crops around a box, padded with black where they leave the image, resized to the training size."""

from __future__ import annotations

import cv2
import numpy as np

from datamodules.datasets.records import BadItem, Box

# How much larger than its box a crop is, by default: faces keep some hair and chin, objects a little background.
FACE_MARGIN = 0.3
OBJECT_MARGIN = 0.1


def square_around(box: Box, margin: float) -> Box:
    """The square centred on ``box`` whose side is its longer side enlarged by ``margin`` (0.3: 30 % larger)."""
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise BadItem("empty box", f"{box}")
    half = max(x2 - x1, y2 - y1) * (1 + margin) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return cx - half, cy - half, cx + half, cy + half


def whole_image(image: np.ndarray) -> Box:
    height, width = image.shape[:2]
    return 0.0, 0.0, float(width), float(height)


def crop_square(image: np.ndarray, square: Box, size: int) -> np.ndarray:
    """The pixels of ``square`` (black outside the image) resized to ``size`` x ``size``."""
    height, width = image.shape[:2]
    x1, y1 = round(square[0]), round(square[1])
    side = max(1, round(square[2] - square[0]))
    x2, y2 = x1 + side, y1 + side
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise BadItem("box outside the image", f"{square} in a {width}x{height} image")
    inside = image[max(y1, 0):min(y2, height), max(x1, 0):min(x2, width)]
    padded = cv2.copyMakeBorder(
        inside, max(-y1, 0), max(y2 - height, 0), max(-x1, 0), max(x2 - width, 0), cv2.BORDER_CONSTANT, value=0
    )
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(padded, (size, size), interpolation=interpolation)
