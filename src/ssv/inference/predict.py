"""Predict viewpoints on an image, a folder, a video or a camera; write predictions.csv and overlays.

``python -m ssv.inference.predict --ckpt MODEL (--input PATH | --camera N) --out DIR [--detect faces]
[--calibration [FILE]] [--max-frames N] [--device cpu|cuda]``

MODEL is a checkpoint (SSV or the supervised baseline) or an ONNX file from ``make export``; with an ONNX file
Lightning is never imported. OUT receives ``predictions.csv`` (the path or frame, with ``--detect faces`` the face
number and box, then azimuth, elevation and tilt in degrees), ``overlays/`` (each image with the axes drawn; each
frame of a video), ``overlay.mp4`` for a video or camera, and ``skipped.csv`` (what could not be predicted, why).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from tqdm import tqdm

from datamodules.datasets.crops import FACE_MARGIN, crop_square, square_around
from datamodules.datasets.face_detector import FaceDetector
from ssv.inference.calibration import CalibrationFileError
from ssv.inference.checkpoint import CheckpointError
from ssv.console import run_command
from ssv.inference.estimator import ViewpointEstimator
from ssv.inference.overlay import Box, draw_viewpoint
from ssv.inference.sources import Frame, ImageFiles, InputError, VideoFrames, open_input
from ssv.viewpoint import ANGLES

PREDICTIONS_FILE = "predictions.csv"
SKIPPED_FILE = "skipped.csv"
OVERLAY_DIR = "overlays"
OVERLAY_VIDEO = "overlay.mp4"
VIDEO_CODEC = "mp4v"
BESIDE_MODEL = "beside-model"
INPUT_ERRORS = (CheckpointError, CalibrationFileError, InputError)

Region = tuple[Box | None, np.ndarray]
"""A box in the frame (None: the whole frame) and the RGB pixels V reads for it."""
RegionFinder = Callable[[np.ndarray], list[Region]]


def whole_image(rgb: np.ndarray) -> list[Region]:
    return [(None, rgb)]


def face_finder(image_size: int) -> RegionFinder:
    """Each face OpenCV's cascades find, cropped as ``make prepare`` crops faces for training."""
    detector = FaceDetector()

    def faces(rgb: np.ndarray) -> list[Region]:
        return [(box, crop_square(rgb, square_around(box, FACE_MARGIN), image_size)) for box in detector.faces(rgb)]

    return faces


class PredictionWriter:
    """Writes the CSV rows, the skipped items and the overlays (images, or frames and a video) into ``out``."""

    def __init__(self, out: Path, frames: ImageFiles | VideoFrames, with_boxes: bool):
        self.out = out
        self.frames = frames
        self.overlays = out / OVERLAY_DIR
        self.overlays.mkdir(parents=True, exist_ok=True)
        key = "frame" if frames.is_video else "path"
        self.with_boxes = with_boxes
        self.files = []
        self.rows = self._csv(PREDICTIONS_FILE, [key, *(["face", "x1", "y1", "x2", "y2"] if with_boxes else []),
                                                 *ANGLES])
        self.skipped = self._csv(SKIPPED_FILE, [key, "reason"])
        self.video: cv2.VideoWriter | None = None
        self.counts = {"predicted": 0, "skipped": 0, "frames": 0}

    def _csv(self, name: str, header: list[str]):
        self.files.append((self.out / name).open("w", newline=""))
        writer = csv.writer(self.files[-1])
        writer.writerow(header)
        return writer

    def predicted(self, frame: Frame, boxes: list[Box | None], angles: np.ndarray) -> None:
        overlay = frame.rgb.copy()
        for number, (box, degrees) in enumerate(zip(boxes, angles)):
            box_columns = [number, *(f"{v:.1f}" for v in box)] if self.with_boxes else []
            self.rows.writerow([frame.key, *box_columns, *(f"{v:.4f}" for v in degrees)])
            draw_viewpoint(overlay, degrees, box)
        self.counts["predicted"] += len(boxes)
        self.counts["frames"] += 1
        self._write_overlay(frame, overlay)

    def skip(self, frame: Frame, reason: str) -> None:
        tqdm.write(f"skipped {frame.key}: {reason}", file=sys.stderr)
        self.skipped.writerow([frame.key, reason])
        self.counts["skipped"] += 1
        self.counts["frames"] += 1
        if frame.rgb is not None:
            self._write_overlay(frame, frame.rgb)

    def _write_overlay(self, frame: Frame, overlay: np.ndarray) -> None:
        bgr = cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR)
        if not self.frames.is_video:
            path = self.overlays / frame.key
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), bgr)
            return
        cv2.imwrite(str(self.overlays / f"frame_{int(frame.key):06d}.jpg"), bgr)
        if self.video is None:
            height, width = bgr.shape[:2]
            self.video = cv2.VideoWriter(str(self.out / OVERLAY_VIDEO), cv2.VideoWriter_fourcc(*VIDEO_CODEC),
                                         self.frames.fps, (width, height))
        self.video.write(bgr)

    def close(self) -> None:
        for handle in self.files:
            handle.close()
        if self.video is not None:
            self.video.release()


def predict_frames(estimator: ViewpointEstimator, frames: ImageFiles | VideoFrames, find_regions: RegionFinder,
                   writer: PredictionWriter) -> None:
    unit = "frame" if frames.is_video else "image"
    for frame in tqdm(frames, total=len(frames) or None, unit=unit, file=sys.stderr):
        if frame.rgb is None:
            writer.skip(frame, "not a readable image")
            continue
        regions = find_regions(frame.rgb)
        if not regions:
            writer.skip(frame, "no face found")
            continue
        boxes, crops = zip(*regions)
        writer.predicted(frame, list(boxes), estimator.predict(list(crops)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True,
                        help="a checkpoint of SSV or of the supervised baseline, or an exported .onnx file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="an image, a folder of images (recursive) or a video file")
    source.add_argument("--camera", type=int, metavar="N", help="read camera number N (stop with Ctrl-C)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--detect", choices=["faces"],
                        help="find faces in uncropped photos (OpenCV's cascades) and predict each; "
                             "without it each image is taken whole (a crop of one object)")
    parser.add_argument("--calibration", nargs="?", const=BESIDE_MODEL, metavar="FILE",
                        help="give angles in a labeled frame with this calibration (make eval or make calibrate "
                             "writes it; without FILE: <model stem>.calibration.json beside the model)")
    parser.add_argument("--max-frames", type=int, help="stop a video or camera after this many frames")
    parser.add_argument("--device", default="cpu", help="torch device of a checkpoint model (default %(default)s)")
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be at least 1, got {args.max_frames}")
    return args


def run(args: argparse.Namespace) -> int:
    estimator = ViewpointEstimator.load(args.ckpt, device=args.device)
    frame_of_reference = "the model's own frame (uncalibrated)"
    if args.calibration:
        calibration = estimator.use_calibration(None if args.calibration == BESIDE_MODEL else args.calibration)
        frame_of_reference = f"the frame of {calibration.labeled_set} (calibrated on {calibration.n_images} images)"
    frames = open_input(args.input, args.camera, args.max_frames)
    find_regions = face_finder(estimator.image_size) if args.detect == "faces" else whole_image
    writer = PredictionWriter(args.out, frames, with_boxes=args.detect is not None)
    try:
        predict_frames(estimator, frames, find_regions, writer)
    except KeyboardInterrupt:  # how a camera run ends
        print("stopped; writing what was predicted", file=sys.stderr)
    finally:
        writer.close()
    counts = writer.counts
    print(f"{counts['predicted']} predictions on {counts['frames']} {'frames' if frames.is_video else 'images'}, "
          f"{counts['skipped']} skipped (listed in {args.out / SKIPPED_FILE}); angles in degrees, in "
          f"{frame_of_reference}")
    print(f"Wrote {args.out / PREDICTIONS_FILE} and overlays in {args.out / OVERLAY_DIR}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), INPUT_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
