"""Values that a config key may take and that the networks check again when built.

Kept free of torch, so that reading a config imports no torch, and in one place, so that the config's check and
the networks' agree.
"""

VOLUME_SIZES = (8, 16)  # 16: the release
ROTATION_SAMPLING_MODES = ("nearest", "bilinear")
# How a trained V's angle takes its sign from the quadrant logits (ssv.viewpoint.quadrant_signs).
SIGN_READOUTS = ("argmax", "expected")
# Augmentations of the images V sees in training (ssv.augmentation), for ``data.shared_augmentations``.
SHARED_AUGMENTATIONS = ("color", "translation", "cutout", "illumination")
