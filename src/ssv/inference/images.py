"""What ``predict`` accepts, turned into V's input: RGB resized and centre-cropped as for evaluation, in [-1, 1].

Accepted, singly or as a batch (a list, an ``[N, H, W, 3]`` array or an ``[N, 3, H, W]`` tensor): image file
paths, PIL images, numpy ``[H, W, 3]`` uint8 RGB arrays and torch ``[3, H, W]`` RGB tensors, uint8 in [0, 255] or
float in [0, 1] (torchvision's convention).
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

import albumentations as A
import cv2
import numpy as np
import torch
from albumentations.pytorch import ToTensorV2
from PIL import Image

ImageInput = Union[str, Path, Image.Image, np.ndarray, torch.Tensor]
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class ImageInputError(ValueError):
    """An input image cannot be read or is not an RGB image of a supported type."""


def preprocessing(image_size: int) -> A.Compose:
    """The evaluation transform (datamodules.images.build_transform without jitter), without importing the
    training data stack: shorter side to ``image_size``, centre crop, [-1, 1], CHW tensor."""
    return A.Compose([
        A.SmallestMaxSize(max_size=image_size, area_for_downscale="image"),
        A.CenterCrop(height=image_size, width=image_size),
        A.Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), max_pixel_value=255.0),
        ToTensorV2(),
    ])


def as_image_list(images) -> tuple[list, bool]:
    """The single images in ``images`` and whether it was a batch."""
    if isinstance(images, (list, tuple)):
        return list(images), True
    if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4:
        return list(images), True
    return [images], False


def read_rgb(path: Path) -> np.ndarray | None:
    """An image file as uint8 RGB, or None when it is missing, truncated or not an image."""
    try:
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)  # from memory, so a truncated JPEG is refused
    except (OSError, cv2.error):
        return None
    return None if decoded is None else cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def to_rgb_array(image: ImageInput) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB."""
    if isinstance(image, (str, Path)):
        rgb = read_rgb(Path(image))
        if rgb is None:
            raise ImageInputError(f"{image}: not a readable image")
        return rgb
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        return _checked_array(image)
    if isinstance(image, torch.Tensor):
        return _tensor_to_array(image)
    raise ImageInputError(f"unsupported image type {type(image).__name__}: pass a path, a PIL image, "
                          "a numpy HWC uint8 array or a torch CHW tensor")


def _checked_array(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageInputError(f"numpy images must be [H, W, 3] uint8 RGB, got {list(array.shape)} {array.dtype}")
    return array


def _tensor_to_array(tensor: torch.Tensor) -> np.ndarray:
    if tensor.ndim != 3 or tensor.shape[0] != 3:
        raise ImageInputError(f"torch images must be [3, H, W] RGB, got {list(tensor.shape)}")
    hwc = tensor.detach().cpu().permute(1, 2, 0)
    if tensor.dtype == torch.uint8:
        return hwc.numpy()
    if not tensor.is_floating_point():
        raise ImageInputError(f"torch images must be uint8 or float, got {tensor.dtype}")
    low, high = float(tensor.min()), float(tensor.max())
    if low < 0.0 or high > 1.0:
        raise ImageInputError(f"float torch images must be in [0, 1], got values in [{low:.3g}, {high:.3g}]")
    # V trains on 8-bit images; rounding float input to 8 bits keeps one preprocessing path for every input.
    return (hwc.float() * 255.0).round().to(torch.uint8).numpy()


def to_model_input(images: list[ImageInput], transform: A.Compose) -> torch.Tensor:
    """``[N, 3, S, S]`` in [-1, 1]."""
    return torch.stack([transform(image=to_rgb_array(image))["image"] for image in images])
