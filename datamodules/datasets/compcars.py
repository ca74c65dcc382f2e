"""CompCars, web-nature part: ``image/<make>/<model>/<year>/<name>.jpg`` and ``label/<make>/<model>/<year>/<name>.txt``.

A label file holds the viewpoint class (-1 unknown, 1 front, 2 rear, 3 side, 4 front-side, 5 rear-side), the number
of boxes (1) and the box ``x1 y1 x2 y2`` in pixels. SSV trains on the crops without labels, so the coarse viewpoint
class is not used.
"""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.records import BadItem, Box, Sample, Scan


def scan(root: str | Path) -> Scan:
    """Every image under ``root/image`` with the box of its label file under ``root/label``."""
    root = Path(root)
    images = root / "image"
    if not images.is_dir():
        raise FileNotFoundError(f"{images} is not a folder (give the CompCars 'data' folder holding image/ and label/)")
    result = Scan()
    for image in sorted(path for path in images.rglob("*") if path.suffix.lower() == ".jpg"):
        relative = image.relative_to(images).with_suffix("")
        try:
            box = read_box(root / "label" / relative.with_suffix(".txt"))
        except BadItem as error:
            result.skip(image, error)
            continue
        result.samples.append(Sample(image, relative.as_posix(), box))
    return result


def read_box(label: Path) -> Box:
    try:
        lines = [line.split() for line in label.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise BadItem("missing label", label.name) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadItem("unreadable label", str(error)) from None
    if len(lines) < 3 or len(lines[2]) != 4:
        raise BadItem("malformed label", f"{label.name}: expected viewpoint, box count, 'x1 y1 x2 y2'")
    try:
        x1, y1, x2, y2 = (float(value) for value in lines[2])
    except ValueError as error:
        raise BadItem("malformed label", f"{label.name}: {error}") from None
    if x2 <= x1 or y2 <= y1:
        raise BadItem("malformed label", f"{label.name}: empty box {x1:g} {y1:g} {x2:g} {y2:g}")
    return x1, y1, x2, y2
