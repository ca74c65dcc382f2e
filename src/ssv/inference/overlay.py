"""Overlays: the object's three axes at a predicted viewpoint, drawn on the image with OpenCV.

An object axis e_k is seen at R(v)^T e_k (see ssv.viewpoint), drawn orthographically from the centre of the face
box, or of the image: x red, y green, z blue, as in the evaluation's figures.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ssv.viewpoint import rotation_matrix

AXIS_COLOURS = ((230, 40, 40), (40, 200, 40), (40, 90, 240))  # RGB of object x, y, z
BOX_COLOUR = (255, 210, 0)
AXIS_LENGTH = 0.4  # of the box's (or image's) shorter side
Box = tuple[float, float, float, float]


def axis_tips(degrees: np.ndarray, centre: np.ndarray, length: float) -> np.ndarray:
    """``[3, 2]`` image points where the object's x, y and z axes end."""
    rotation = rotation_matrix(torch.deg2rad(torch.as_tensor(degrees, dtype=torch.float64))).numpy()
    return centre + length * rotation[:, :2]  # row k of R is R^T e_k


def draw_viewpoint(image: np.ndarray, degrees: np.ndarray, box: Box | None = None) -> None:
    """Draws the axes (and the box, with the angles above it) on the RGB ``image`` in place."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box if box is not None else (0.0, 0.0, float(width), float(height))
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    length = AXIS_LENGTH * min(x2 - x1, y2 - y1)
    thickness = max(1, round(min(height, width) / 160))
    if box is not None:
        cv2.rectangle(image, (round(x1), round(y1)), (round(x2), round(y2)), BOX_COLOUR, thickness)
    start = tuple(int(v) for v in centre.round())
    for tip, colour in zip(axis_tips(degrees, centre, length), AXIS_COLOURS):
        cv2.line(image, start, tuple(int(v) for v in tip.round()), colour, thickness + 1, cv2.LINE_AA)
    label = "az {:+.0f} el {:+.0f} tilt {:+.0f}".format(*degrees)
    scale = max(0.35, min(height, width) / 640)
    origin = (round(x1) + 2, max(round(y1) - 4, int(14 * scale)))
    cv2.putText(image, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness + 1, cv2.LINE_AA)
    cv2.putText(image, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), max(1, thickness - 1),
                cv2.LINE_AA)
