"""Cars: a rounded body and cabin on four wheels; windows, head lights in front, red tail lights behind.

Object space: y points down (the ground is at y = GROUND), the car faces -z, x is across.
"""

from __future__ import annotations

import math

import torch

from ssv.synthetic.common import (
    Category, Sampler, Shape, Surface, band, ellipse, fade, overlay, paint_wheels, per_pixel, rectangle,
    solid_colour, vector,
)
from ssv.synthetic.raycast import UNBOUNDED, Hits, Primitives, Solid, cylinder, rounded_box

BODY, CABIN = 0, 1
GROUND = 0.3
WHEEL_HALF_WIDTH = 0.045

PAINT = ((0.92, 0.92, 0.9), (0.08, 0.08, 0.09), (0.62, 0.64, 0.66), (0.35, 0.36, 0.38), (0.7, 0.08, 0.07),
         (0.1, 0.2, 0.55), (0.05, 0.1, 0.25), (0.15, 0.35, 0.2), (0.85, 0.7, 0.2), (0.4, 0.25, 0.15))
GLASS = (0.09, 0.12, 0.16)
HEAD_LIGHTS = ((0.97, 0.97, 0.92), (1.0, 0.85, 0.45))
TAIL_LIGHT = (0.85, 0.05, 0.05)
PLATE = (0.9, 0.9, 0.85)
TYRE = (0.06, 0.06, 0.06)
TRIM = (0.12, 0.12, 0.13)


def sample_shape(draw: Sampler) -> Shape:
    return {
        "length": draw.uniform(0.76, 0.88),
        "width": draw.uniform(0.33, 0.38),
        "body_height": draw.uniform(0.1, 0.14),
        "cabin_height": draw.uniform(0.1, 0.14),
        "cabin_length": draw.uniform(0.38, 0.55),
        "cabin_offset": draw.uniform(0.0, 0.15),
        "wheel_radius": draw.uniform(0.12, 0.15),
        "front_overhang": draw.uniform(0.17, 0.24),
        "rear_overhang": draw.uniform(0.17, 0.26),
        "light_height": draw.uniform(0.25, 0.4),
        "paint": draw.colour(PAINT, jitter=0.04),
        "head_lights": draw.colour(HEAD_LIGHTS, jitter=0.02),
    }


def _layout(shape: Shape) -> Shape:
    """Derived sizes: vertical levels (y down) and the wheel positions."""
    body_bottom = GROUND - 0.5 * shape["wheel_radius"]
    belt = body_bottom - 2.0 * shape["body_height"]
    return {
        "body_bottom": body_bottom,
        "belt": belt,
        "roof": belt - 2.0 * shape["cabin_height"],
        "axle_y": GROUND - shape["wheel_radius"],
        "front_axle": shape["front_overhang"] - shape["length"],
        "rear_axle": shape["length"] - shape["rear_overhang"],
        "wheel_x": shape["width"] + 0.015 - WHEEL_HALF_WIDTH,
    }


def _cabin(shape: Shape, level: Shape) -> Solid:
    """A box cut by an ellipsoid that sits on the belt line behind the box's middle: the cabin narrows
    toward the roof, and its windscreen slopes more than its rear window."""
    width, height, length = 0.88 * shape["width"], shape["cabin_height"], shape["cabin_length"]
    box_centre = vector(0.0, (level["belt"] + level["roof"]) / 2, shape["cabin_offset"])
    ellipsoid_centre = vector(0.0, level["belt"], shape["cabin_offset"] + 0.3 * length)
    return Solid(ellipsoid_centre, vector(1.3 * width, 2.6 * height, 1.5 * length), box_centre,
                 vector(width, height, length))


def build(shape: Shape) -> Primitives:
    level = _layout(shape)
    body_centre = vector(0.0, (level["body_bottom"] + level["belt"]) / 2, 0.0, like=shape["width"])
    body_half = vector(shape["width"], shape["body_height"], shape["length"])
    body = rounded_box(body_centre, body_half, body_half * torch.tensor([1.25, 3.0, 1.1]))
    radius = shape["wheel_radius"]
    wheel_radii = vector(UNBOUNDED, radius, radius)
    wheel_half = vector(WHEEL_HALF_WIDTH, UNBOUNDED, UNBOUNDED, like=radius)
    centres = [vector(side * level["wheel_x"], level["axle_y"], level[axle])
               for axle in ("front_axle", "rear_axle") for side in (-1.0, 1.0)]
    wheels = [cylinder(centre, wheel_radii, wheel_half, axis=0) for centre in centres]
    return Primitives.stack([body, _cabin(shape, level), *wheels])


def _paint_body(shape: Shape, level: Shape, albedo: torch.Tensor, hits: Hits, on_body: torch.Tensor):
    """Lights, grille and number plate on the front and back, wheel arches on the sides, a dark bumper."""
    x, y, z = hits.point
    width = per_pixel(shape["width"])
    top, bottom = per_pixel(level["belt"]), per_pixel(level["body_bottom"])
    height = bottom - top
    front = on_body * fade(hits.normal[2] + 0.3, 0.1)
    back = on_body * fade(0.3 - hits.normal[2], 0.1)
    side = on_body * fade(0.5 - hits.normal[0].abs(), 0.1)
    light_y = top + per_pixel(shape["light_height"]) * height
    lamps = band(x.abs(), 0.45 * width, 0.82 * width) * band(y - light_y, -0.12 * height, 0.12 * height)
    albedo = overlay(albedo, shape["head_lights"], lamps * front)
    albedo = overlay(albedo, TAIL_LIGHT, lamps * back)
    grille = rectangle(x, y - (light_y + 0.18 * height), 0.32 * width, 0.12 * height)
    albedo = overlay(albedo, TRIM, grille * front)
    plate = rectangle(x, y - (top + 0.62 * height), 0.2 * width, 0.1 * height)
    albedo = overlay(albedo, PLATE, plate * back)
    albedo = overlay(albedo, TRIM, band(y, bottom - 0.16 * height, 1.0) * on_body)
    arch_radius = 1.15 * per_pixel(shape["wheel_radius"])
    for axle in ("front_axle", "rear_axle"):
        arch = ellipse(z - per_pixel(level[axle]), y - per_pixel(level["axle_y"]), arch_radius, arch_radius)
        albedo = overlay(albedo, TRIM, arch * side)
    return albedo


def _glass(shape: Shape, level: Shape, hits: Hits) -> torch.Tensor:
    """Window coverage on the cabin: everything but the roof, the pillars and a frame above the belt."""
    _, y, z = hits.point
    normal_x, normal_y, normal_z = hits.normal.abs()
    not_roof = fade(normal_y - 0.8, 0.05)
    not_corner_pillar = fade(torch.minimum(normal_x, normal_z) - 0.3, 0.08)
    middle_pillar = band(z - per_pixel(shape["cabin_offset"]), -0.02, 0.02) * fade(0.5 - normal_x, 0.1)
    frame = band(y, per_pixel(level["roof"]) + 0.015, per_pixel(level["belt"]) - 0.015)
    return not_roof * not_corner_pillar * (1.0 - middle_pillar) * frame


def paint(shape: Shape, hits: Hits) -> Surface:
    level = _layout(shape)
    part = hits.part
    paint_colour = shape["paint"]
    tyre = torch.tensor(TYRE).expand_as(paint_colour)
    albedo = solid_colour(part, [paint_colour, paint_colour, tyre, tyre, tyre, tyre])
    on_body, on_cabin, on_wheel = (part == BODY).float(), (part == CABIN).float(), (part > CABIN).float()
    albedo = _paint_body(shape, level, albedo, hits, on_body)
    albedo = overlay(albedo, GLASS, _glass(shape, level, hits) * on_cabin)
    albedo = paint_wheels(albedo, hits, on_wheel, level["axle_y"], level["front_axle"], level["rear_axle"],
                          shape["wheel_radius"])
    return Surface(albedo, gloss=0.3 * (on_body + on_cabin))


CATEGORY = Category(name="cars", ranges=(math.pi, 0.4, 0.2), sample_shape=sample_shape, build=build,
                    paint=paint)
