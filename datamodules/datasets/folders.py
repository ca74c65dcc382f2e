"""Any folder of images (faces to detect, or object crops), unlabeled."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.records import Sample, Scan

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


def list_images(root: str | Path) -> list[Path]:
    """All image files under ``root`` (recursive, extension case-insensitive), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder {root} does not exist or is not a directory")
    files = sorted(path for path in root.rglob("*") if _is_image_file(path))
    if not files:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return files


def _is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def scan(root: str | Path) -> Scan:
    """Every image under ``root`` (recursive), to be cropped by the face detector or kept whole."""
    root = Path(root)
    return Scan(samples=[Sample(path, path.relative_to(root).with_suffix("").as_posix()) for path in list_images(root)])
