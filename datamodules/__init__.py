"""The data layer of SSV: image collections, their LightningDataModules, and the readers and preparation of the
paper's datasets. It imports nothing from ``ssv``: the method depends on it, never the reverse.

Import from the submodules (``datamodules.images``, ``datamodules.labeled``, ...): this package imports none of
them, so that ``datamodules.datasets.registry`` is listed without loading torch.
"""

import os

# Before any submodule imports albumentations, which would otherwise look for a newer version online.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
