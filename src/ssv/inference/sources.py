"""The inputs of ``predict``: an image, a folder of images, a video file or a camera, as a stream of frames."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ssv.inference.images import IMAGE_EXTENSIONS, read_rgb

DEFAULT_FPS = 25.0


class InputError(ValueError):
    """The input as a whole cannot be read: missing, an empty folder, or a video or camera that does not open."""


@dataclass(frozen=True)
class Frame:
    """One image of the input: its key (a path relative to the input, or a frame number) and its RGB pixels, or
    None when it cannot be read."""

    key: str
    rgb: np.ndarray | None


class ImageFiles:
    """An image file, or every image under a folder (recursive, sorted)."""

    is_video = False

    def __init__(self, path: Path):
        self.root = path if path.is_dir() else path.parent
        self.paths = sorted(p for p in path.rglob("*") if _is_image(p)) if path.is_dir() else [path]
        if not self.paths:
            raise InputError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        for path in self.paths:
            yield Frame(path.relative_to(self.root).as_posix(), read_rgb(path))


class VideoFrames:
    """The frames of a video file or a camera, numbered from 0; ``max_frames`` stops early."""

    is_video = True

    def __init__(self, capture: cv2.VideoCapture, max_frames: int | None = None):
        self.capture = capture
        self.max_frames = max_frames
        self.fps = capture.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
        counted = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # 0 or less for a camera
        known = counted if counted > 0 else None
        self.total = known if max_frames is None else min(known or max_frames, max_frames)

    def __len__(self) -> int:
        return self.total or 0

    def __iter__(self) -> Iterator[Frame]:
        try:
            for number in itertools.islice(itertools.count(), self.max_frames):
                ok, bgr = self.capture.read()
                if not ok:
                    return
                yield Frame(str(number), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            self.capture.release()


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def open_video(source: str | int, description: str, max_frames: int | None) -> VideoFrames:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        raise InputError(f"cannot open {description}")
    return VideoFrames(capture, max_frames)


def open_input(path: Path | None, camera: int | None, max_frames: int | None = None) -> ImageFiles | VideoFrames:
    """The frames of ``path`` (an image, a folder or a video file) or of camera number ``camera``."""
    if camera is not None:
        return open_video(camera, f"camera {camera}", max_frames)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageFiles(path)
    return open_video(str(path), f"video {path} (not a video OpenCV can read)", max_frames)
