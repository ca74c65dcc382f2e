"""SSV: self-supervised viewpoint learning from image collections (Mustikovela et al., CVPR 2020)."""

import os

# albumentations checks for updates over the network on import unless told not to.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
