"""What a dataset reader returns: the samples it found and the items it skipped, each with a reason."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in pixels."""

View = tuple[float, float, float]
"""(azimuth, elevation, tilt) in degrees; (yaw, pitch, roll) for faces."""


class BadItem(ValueError):
    """An item a reader cannot use; ``reason`` is short enough to count by, ``detail`` says what was found."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Sample:
    """One object to crop out of one image.

    ``name`` is the crop's path below the prepared folder, without extension, unique within a scan. ``box`` is None
    where the object must be found (faces: by the detector; objects: the whole image); ``view`` is None for
    unlabeled samples.
    """

    image: Path
    name: str
    box: Box | None = None
    view: View | None = None


@dataclass(frozen=True)
class Skipped:
    item: str
    reason: str
    detail: str = ""


@dataclass
class Scan:
    """The samples a reader found and the items it skipped."""

    samples: list[Sample] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, item: str | Path, error: BadItem) -> None:
        """Records and logs (one line) an item that cannot be used."""
        logger.warning("Skipping %s: %s", item, error)
        self.skipped.append(Skipped(str(item), error.reason, error.detail))

    def skipped_by_reason(self) -> Counter:
        return Counter(item.reason for item in self.skipped)
