"""Heads: cranium and jaw ellipsoids, nose, ears, neck and hair; painted eyes, brows and mouth.

Object space: y points down, the face looks toward -z. Everything is mirror symmetric in x.
"""

from __future__ import annotations

import torch

from ssv.synthetic.common import (
    Category, Sampler, Shape, Surface, band, ellipse, fade, overlay, per_pixel, solid_colour, vector,
)
from ssv.synthetic.raycast import UNBOUNDED, Hits, Primitives, Solid, cylinder, ellipsoid

CRANIUM, JAW, NOSE, LEFT_EAR, RIGHT_EAR, NECK, HAIR_CAP, LONG_HAIR = range(8)
NOSE_Y = 0.09

SKIN = ((0.98, 0.84, 0.74), (0.93, 0.75, 0.62), (0.84, 0.63, 0.48), (0.68, 0.47, 0.33), (0.47, 0.31, 0.21))
HAIR = ((0.07, 0.06, 0.05), (0.22, 0.14, 0.09), (0.42, 0.28, 0.16), (0.78, 0.64, 0.4), (0.62, 0.6, 0.58),
        (0.55, 0.24, 0.1))
IRIS = ((0.33, 0.19, 0.09), (0.28, 0.47, 0.68), (0.3, 0.46, 0.3), (0.1, 0.07, 0.05))
LIPS = ((0.72, 0.36, 0.36), (0.6, 0.3, 0.3), (0.78, 0.45, 0.45))
SHIRT = ((0.15, 0.2, 0.4), (0.8, 0.8, 0.8), (0.5, 0.1, 0.1), (0.2, 0.2, 0.2), (0.3, 0.45, 0.3))
EYE_WHITE = (0.94, 0.93, 0.9)
PUPIL = (0.03, 0.03, 0.03)


def sample_shape(draw: Sampler) -> Shape:
    return {
        "width": draw.uniform(0.46, 0.53),
        "height": draw.uniform(0.6, 0.66),
        "depth": draw.uniform(0.55, 0.62),
        "jaw_width": draw.uniform(0.72, 0.84),
        "jaw_height": draw.uniform(0.86, 0.9),
        "nose_size": draw.uniform(0.85, 1.2),
        "ear_size": draw.uniform(0.85, 1.15),
        "neck_radius": draw.uniform(0.27, 0.32),
        "hair_line": draw.uniform(-0.46, -0.32),
        "hair_slope": draw.uniform(0.3, 0.6),
        "hair_volume": draw.uniform(1.02, 1.07),
        "long_hair": draw.chance(0.35) * draw.uniform(0.55, 0.85),
        "eye_x": draw.uniform(0.17, 0.2),
        "eye_y": draw.uniform(-0.11, -0.05),
        "eye_width": draw.uniform(0.075, 0.09),
        "eye_height": draw.uniform(0.032, 0.042),
        "iris_radius": draw.uniform(0.028, 0.034),
        "brow_gap": draw.uniform(0.075, 0.1),
        "brow_slope": draw.uniform(-0.25, 0.2),
        "mouth_y": draw.uniform(0.26, 0.31),
        "mouth_width": draw.uniform(0.09, 0.13),
        "lip_height": draw.uniform(0.018, 0.032),
        "skin": draw.colour(SKIN, jitter=0.04),
        "hair": draw.colour(HAIR, jitter=0.04),
        "iris": draw.colour(IRIS, jitter=0.04),
        "lips": draw.colour(LIPS, jitter=0.04),
        "shirt": draw.colour(SHIRT, jitter=0.1),
    }


def _cranium(shape: Shape) -> tuple[torch.Tensor, torch.Tensor]:
    centre = vector(0.0, -0.06, 0.02, like=shape["width"])
    return centre, vector(shape["width"], shape["height"], shape["depth"])


def _jaw(shape: Shape) -> tuple[torch.Tensor, torch.Tensor]:
    """A narrower ellipsoid, lower down, that shows only at the chin and along the jaw line."""
    centre = vector(0.0, 0.1, 0.02, like=shape["width"])
    width, height = shape["width"] * shape["jaw_width"], shape["height"] * shape["jaw_height"]
    return centre, vector(width, height, shape["depth"] * 0.8)


def _front_surface_z(shape: Shape, y: float) -> torch.Tensor:
    """Depth of the face surface on the symmetry plane at height y (the more forward of cranium and jaw)."""
    depths = []
    for centre, radii in (_cranium(shape), _jaw(shape)):
        across = (1.0 - ((y - centre[:, 1]) / radii[:, 1]).square()).clamp_min(0.0)
        depths.append(centre[:, 2] - radii[:, 2] * across.sqrt())
    return torch.minimum(*depths)


def _hair(shape: Shape) -> tuple[Solid, Solid]:
    """A cap over the cranium down to the hair line, and long hair behind the head (or none)."""
    cranium_centre, cranium_radii = _cranium(shape)
    hair_line = shape["hair_line"]
    # The box keeps the part of the ellipsoid above the hair line (y from -1 down to hair_line).
    cap = Solid(cranium_centre + vector(0.0, -0.01, 0.02, like=hair_line),
                cranium_radii * shape["hair_volume"][:, None],
                vector(0.0, (hair_line - 1.0) / 2, 0.0), vector(UNBOUNDED, (hair_line + 1.0) / 2, UNBOUNDED))
    # Without long hair the solid shrinks to a small ball inside the head: every sample has the same solids.
    # With it, the box keeps the part of the ellipsoid behind z = 0.05.
    has_long_hair = (shape["long_hair"] > 0)[:, None]
    long_radii = vector(shape["width"] * 1.08, shape["long_hair"], shape["depth"] * 0.85)
    radii = torch.where(has_long_hair, long_radii, 0.05)
    behind = (vector(0.0, 0.0, 1.05, like=hair_line), vector(UNBOUNDED, UNBOUNDED, 1.0, like=hair_line))
    long_hair = Solid(vector(0.0, 0.05, 0.15, like=hair_line), radii, *behind)
    return cap, long_hair


def build(shape: Shape) -> Primitives:
    size = shape["nose_size"][:, None]
    nose_radii = vector(0.06, 0.12, 0.07, like=shape["width"]) * size
    nose_centre = vector(0.0, NOSE_Y, _front_surface_z(shape, NOSE_Y) + 0.3 * nose_radii[:, 2])
    ear_radii = vector(0.05, 0.13, 0.08, like=shape["width"]) * shape["ear_size"][:, None]
    ear_x = shape["width"] * 0.96
    neck_radii = vector(shape["neck_radius"], 1.0, shape["neck_radius"] * 0.9)
    neck_half = vector(UNBOUNDED, 0.35, UNBOUNDED, like=ear_x)
    return Primitives.stack([
        ellipsoid(*_cranium(shape)),
        ellipsoid(*_jaw(shape)),
        ellipsoid(nose_centre, nose_radii),
        ellipsoid(vector(ear_x, 0.0, 0.06), ear_radii),
        ellipsoid(vector(-ear_x, 0.0, 0.06), ear_radii),
        cylinder(vector(0.0, 0.7, 0.1, like=ear_x), neck_radii, neck_half, axis=1),
        *_hair(shape),
    ])


def _hair_coverage(shape: Shape, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Hair on the cranium: above a hair line that drops from the forehead toward the nape."""
    depth = per_pixel(shape["depth"])
    hair_line = per_pixel(shape["hair_line"]) + per_pixel(shape["hair_slope"]) * (z + depth)
    return fade(y - hair_line, 0.02)


def _eye(shape: Shape, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Coverage of the eye white, iris and pupil around an eye centre at u = v = 0."""
    white = ellipse(u, v, per_pixel(shape["eye_width"]), per_pixel(shape["eye_height"]))
    iris_radius = per_pixel(shape["iris_radius"])
    iris = ellipse(u, v, iris_radius, iris_radius) * white
    pupil = ellipse(u, v, 0.45 * iris_radius, 0.45 * iris_radius) * white
    return white, iris, pupil


def paint(shape: Shape, hits: Hits) -> Surface:
    x, y, z = hits.point
    part = hits.part
    skin, hair = shape["skin"], shape["hair"]
    albedo = solid_colour(part, [skin, skin, skin, skin * 0.95, skin * 0.95, skin * 0.9, hair, hair])
    albedo = overlay(albedo, hair, _hair_coverage(shape, y, z) * (part == CRANIUM).float())
    albedo = overlay(albedo, shape["shirt"], band(y, 0.9, 2.0) * (part == NECK).float())

    face = ((part == CRANIUM) | (part == JAW)).float() * fade(z + 0.2, 0.05)  # the front of the head
    eye_u = x.abs() - per_pixel(shape["eye_x"])
    eye_v = y - per_pixel(shape["eye_y"])
    white, iris, pupil = _eye(shape, eye_u, eye_v)
    albedo = overlay(albedo, EYE_WHITE, white * face)
    albedo = overlay(albedo, shape["iris"], iris * face)
    albedo = overlay(albedo, PUPIL, pupil * face)
    brow_v = eye_v + per_pixel(shape["brow_gap"]) + per_pixel(shape["brow_slope"]) * eye_u
    albedo = overlay(albedo, hair * 0.8, ellipse(eye_u, brow_v, 0.085, 0.017) * face)

    mouth_v = y - per_pixel(shape["mouth_y"])
    lips = ellipse(x, mouth_v, per_pixel(shape["mouth_width"]), per_pixel(shape["lip_height"]))
    albedo = overlay(albedo, shape["lips"], lips * face)
    albedo = overlay(albedo, shape["lips"] * 0.45, lips * band(mouth_v, -0.004, 0.004) * face)
    nose_bottom = NOSE_Y + 0.08 * per_pixel(shape["nose_size"])
    nostrils = ellipse(x.abs() - 0.028, y - nose_bottom, 0.018, 0.01) * (part == NOSE).float()
    albedo = overlay(albedo, skin * 0.45, nostrils)
    return Surface(albedo, gloss=0.08 + 0.3 * white * face)


CATEGORY = Category(name="faces", ranges=(1.2, 0.5, 0.4), sample_shape=sample_shape, build=build, paint=paint)
