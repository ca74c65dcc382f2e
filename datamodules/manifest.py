"""The ``labels.csv`` manifest of a labeled image collection: one ``path,azimuth,elevation,tilt`` row per image,
angles in degrees, paths relative to the CSV."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "labels.csv"
MANIFEST_COLUMNS = ("path", "azimuth", "elevation", "tilt")
ANGLE_COLUMNS = MANIFEST_COLUMNS[1:]


class ManifestError(ValueError):
    """A labeled source is missing or malformed; the message names the file, column or row at fault."""


@dataclass(frozen=True)
class LabeledImage:
    """An image file and its true viewpoint, in degrees."""

    path: Path
    azimuth: float
    elevation: float
    tilt: float

    @property
    def angles(self) -> tuple[float, float, float]:
        return self.azimuth, self.elevation, self.tilt


def read_manifest(csv_path: str | Path) -> list[LabeledImage]:
    """Reads ``path,azimuth,elevation,tilt`` rows (degrees; paths relative to the CSV), checking every image exists."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"{csv_path}: manifest not found")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        _check_columns(csv_path, reader.fieldnames or [])
        # Line 1 is the header.
        items = [_parse_row(csv_path, line, row) for line, row in enumerate(reader, start=2)]
    if not items:
        raise ManifestError(f"{csv_path}: no rows after the header")
    return items


def write_manifest(csv_path: Path, rows: list[tuple[str, float, float, float]], decimals: int = 4) -> None:
    """Writes ``(relative path, azimuth, elevation, tilt)`` rows, angles in degrees rounded to ``decimals``."""
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        # Adding 0.0 turns a rounded -0.0 into 0.0, so that no label reads "-0.0000".
        writer.writerows((name, *(f"{round(angle, decimals) + 0.0:.{decimals}f}" for angle in view))
                         for name, *view in rows)


def _check_columns(csv_path: Path, header: list[str]) -> None:
    missing = [column for column in MANIFEST_COLUMNS if column not in header]
    if missing:
        raise ManifestError(
            f"{csv_path}: missing column(s) {', '.join(missing)} (header is '{','.join(header)}'; "
            f"expected {','.join(MANIFEST_COLUMNS)})"
        )


def _parse_row(csv_path: Path, line: int, row: dict[str, str | None]) -> LabeledImage:
    angles = [_parse_angle(csv_path, line, column, row[column]) for column in ANGLE_COLUMNS]
    if not row["path"]:
        raise ManifestError(f"{csv_path} line {line}: empty 'path'")
    path = csv_path.parent / row["path"]
    if not path.is_file():
        raise ManifestError(f"{csv_path} line {line}: image not found: {path}")
    return LabeledImage(path, *angles)


def _parse_angle(csv_path: Path, line: int, column: str, text: str | None) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ManifestError(f"{csv_path} line {line}: column '{column}' is not a finite number: {text!r}")
    return value
