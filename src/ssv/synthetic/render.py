"""Random styles and batched rendering of synthetic objects at exact viewpoints."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ssv.synthetic import buses, cars, faces
from ssv.synthetic.background import mirror_background, paint_background, sample_background
from ssv.synthetic.common import Category, Sampler, Shape
from ssv.synthetic.raycast import cast
from ssv.viewpoint import rotation_matrix

CATEGORIES: dict[str, Category] = {
    category.name: category for category in (faces.CATEGORY, cars.CATEGORY, buses.CATEGORY)
}

# Rays x solids handled per chunk: intermediate tensors of about a million floats run fastest on CPU.
_CHUNK_ELEMENTS = 2**20
_SHININESS = 40.0
_VIEW_DIRECTION = (0.0, 0.0, -1.0)  # from the surface toward the camera, camera space


def get_category(name: str) -> Category:
    if name not in CATEGORIES:
        raise ValueError(f"unknown category {name!r}; known categories: {', '.join(sorted(CATEGORIES))}")
    return CATEGORIES[name]


@dataclass(frozen=True)
class Style:
    """Everything but the viewpoint that decides a rendered image, for a batch of samples.

    ``light`` ``[B, 3]`` is the unit direction toward the light in camera space, ``ambient`` ``[B]``.
    """

    shape: Shape
    light: torch.Tensor
    ambient: torch.Tensor
    background: Shape

    def __len__(self) -> int:
        return len(self.ambient)

    def __getitem__(self, index: slice | torch.Tensor) -> Style:
        return Style(
            shape={name: value[index] for name, value in self.shape.items()},
            light=self.light[index],
            ambient=self.ambient[index],
            background={name: value[index] for name, value in self.background.items()},
        )

    def mirrored(self) -> Style:
        """The style of the horizontally flipped image; the objects themselves are mirror symmetric."""
        return replace(self, light=self.light * self.light.new_tensor([-1.0, 1.0, 1.0]),
                       background=mirror_background(self.background))


class Rendering(NamedTuple):
    """``images`` uint8 ``[B, H, W, 3]`` and object ``masks`` bool ``[B, H, W]``."""

    images: torch.Tensor
    masks: torch.Tensor


def _sample_light(draw: Sampler) -> torch.Tensor:
    """Mostly frontal light from above, left or right."""
    side = draw.uniform(-0.9, 0.9)
    height = draw.uniform(-1.0, 0.2)  # y points down: negative is above
    return F.normalize(torch.stack([side, height, -torch.ones_like(side)], dim=-1), dim=-1)


def sample_styles(category: str, count: int, generator: torch.Generator) -> Style:
    """``count`` random styles of ``category``, drawn from ``generator`` only."""
    spec = get_category(category)
    draw = Sampler(count, generator)
    shape = spec.sample_shape(draw)
    return Style(shape=shape, light=_sample_light(draw), ambient=draw.uniform(0.3, 0.5),
                 background=sample_background(draw))


def _object_space_planes(rotation: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Camera-space directions d ``[B, 3]`` in object space, R d, as ``[3, B, 1]`` like the normals."""
    return (rotation @ direction.unsqueeze(-1)).squeeze(-1).T.unsqueeze(-1)


def _shade(category: Category, style: Style, rotation: torch.Tensor, image_size: int) -> tuple:
    """Colour planes ``[3, B, P]`` in [0, 1] and masks ``[B, P]``: Lambert, ambient and a little specular."""
    hits = cast(category.build(style.shape), rotation, image_size)
    surface = category.paint(style.shape, hits)
    # (R^T n) . l = n . (R l): the lights move into object space rather than every normal out of it.
    halfway = F.normalize(style.light + style.light.new_tensor(_VIEW_DIRECTION), dim=-1)
    light, halfway = (_object_space_planes(rotation, direction) for direction in (style.light, halfway))
    diffuse = (hits.normal * light).sum(0).clamp_min_(0.0)
    specular = (hits.normal * halfway).sum(0).clamp_min_(0.0).pow_(_SHININESS).mul_(surface.gloss)
    ambient = style.ambient.unsqueeze(1)
    colour = surface.albedo * (ambient + (1.0 - ambient) * diffuse) + specular
    background = paint_background(style.background, image_size)
    return torch.where(hits.mask, colour, background).clamp_(0.0, 1.0), hits.mask


@torch.no_grad()
def render_batch(category: str, views: torch.Tensor, styles: Style, image_size: int) -> Rendering:
    """Renders ``styles`` of ``category`` at ``views`` ``[B, 3]`` (radians) as square images."""
    spec = get_category(category)
    if len(views) != len(styles):
        raise ValueError(f"got {len(views)} viewpoints for {len(styles)} styles")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    rotation = rotation_matrix(views.float())
    solids = spec.build(styles[:1].shape).centre.shape[1]
    chunk = max(1, _CHUNK_ELEMENTS // (solids * image_size**2))
    pieces = [_shade(spec, styles[start:start + chunk], rotation[start:start + chunk], image_size)
              for start in range(0, len(views), chunk)]
    colours, masks = (torch.cat(parts, dim=dim) for parts, dim in zip(zip(*pieces), (1, 0)))
    images = colours.permute(1, 2, 0).mul(255.0).round_().to(torch.uint8)
    square = (len(views), image_size, image_size)
    return Rendering(images.view(*square, 3), masks.view(square))
