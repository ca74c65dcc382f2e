"""Buses: a long tall box on four wheels, rows of windows (one or two decks), lights, a livery stripe.

Object space: y points down, the bus faces -z, x is across.
"""

from __future__ import annotations

import math

import torch

from ssv.synthetic.common import (
    Category, Sampler, Shape, Surface, band, fade, overlay, paint_wheels, per_pixel, rectangle, solid_colour,
    vector,
)
from ssv.synthetic.raycast import UNBOUNDED, Hits, Primitives, cylinder, rounded_box

BODY = 0
CENTRE_Y = -0.04
WHEEL_HALF_WIDTH = 0.04

PAINT = ((0.95, 0.78, 0.1), (0.75, 0.1, 0.08), (0.92, 0.92, 0.9), (0.12, 0.3, 0.65), (0.15, 0.5, 0.3),
         (0.95, 0.5, 0.1), (0.7, 0.72, 0.75))
GLASS = (0.08, 0.1, 0.14)
TRIM = (0.12, 0.12, 0.13)
TYRE = (0.06, 0.06, 0.06)
SIGN = (0.95, 0.55, 0.1)
HEAD_LIGHT = (0.97, 0.96, 0.88)
TAIL_LIGHT = (0.85, 0.05, 0.05)


def sample_shape(draw: Sampler) -> Shape:
    return {
        "length": draw.uniform(0.76, 0.84),
        "width": draw.uniform(0.24, 0.28),
        "height": draw.uniform(0.3, 0.38),
        "wheel_radius": draw.uniform(0.085, 0.1),
        "double_deck": draw.chance(0.3),
        "window_pitch": draw.uniform(0.14, 0.22),
        "paint": draw.colour(PAINT, jitter=0.04),
        "stripe": draw.colour(PAINT, jitter=0.04),
    }


def _levels(shape: Shape) -> Shape:
    """Vertical levels (y down) and axle positions."""
    bottom = CENTRE_Y + shape["height"]
    return {
        "top": CENTRE_Y - shape["height"],
        "bottom": bottom,
        "axle_y": bottom + 0.05 - shape["wheel_radius"],
        "front_axle": 0.3 - shape["length"],
        "rear_axle": shape["length"] - 0.32,
    }


def build(shape: Shape) -> Primitives:
    level = _levels(shape)
    width, radius = shape["width"], shape["wheel_radius"]
    half = vector(width, shape["height"], shape["length"])
    body = rounded_box(vector(0.0, CENTRE_Y, 0.0, like=width), half, half * torch.tensor([2.0, 2.5, 1.25]))
    wheel_radii = vector(UNBOUNDED, radius, radius)
    wheel_half = vector(WHEEL_HALF_WIDTH, UNBOUNDED, UNBOUNDED, like=radius)
    wheel_x = width + 0.01 - WHEEL_HALF_WIDTH
    wheels = [cylinder(vector(side * wheel_x, level["axle_y"], level[axle]), wheel_radii, wheel_half, axis=0)
              for axle in ("front_axle", "rear_axle") for side in (-1.0, 1.0)]
    return Primitives.stack([body, *wheels])


def _window_rows(shape: Shape, height_fraction: torch.Tensor) -> torch.Tensor:
    """Coverage of the window rows: one tall row, or one per deck."""
    double = per_pixel(shape["double_deck"])
    return band(height_fraction, 0.12, 0.5 - 0.15 * double) + double * band(height_fraction, 0.5, 0.76)


def _side_windows(shape: Shape, z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """The rows cut into windows by narrow pillars every ``window_pitch``."""
    length, pitch = per_pixel(shape["length"]), per_pixel(shape["window_pitch"])
    phase = torch.remainder((z + length) / pitch, 1.0)
    from_pane_middle = (phase - 0.5).abs() * pitch
    return rows * fade(from_pane_middle - (0.5 * pitch - 0.015)) * band(z, 0.06 - length, length - 0.06)


def paint(shape: Shape, hits: Hits) -> Surface:
    level = _levels(shape)
    x, y, z = hits.point
    normal_x, _, normal_z = hits.normal
    part = hits.part
    tyre = torch.tensor(TYRE).expand_as(shape["paint"])
    albedo = solid_colour(part, [shape["paint"], tyre, tyre, tyre, tyre])
    on_body = (part == BODY).float()
    side = on_body * fade(0.6 - normal_x.abs(), 0.1)
    front = on_body * fade(normal_z + 0.6, 0.1)
    back = on_body * fade(0.6 - normal_z, 0.1)
    width = per_pixel(shape["width"])
    height_fraction = (y - per_pixel(level["top"])) / (2.0 * per_pixel(shape["height"]))
    rows = _window_rows(shape, height_fraction)

    albedo = overlay(albedo, shape["stripe"], band(height_fraction, 0.8, 0.88) * side)
    side_windows = _side_windows(shape, z, rows) * side
    windscreen = rows * band(x.abs(), 0.0, 0.86 * width) * front
    rear_window = band(height_fraction, 0.12, 0.36) * band(x.abs(), 0.0, 0.7 * width) * back
    glass = (side_windows + windscreen + rear_window).clamp(max=1.0)
    albedo = overlay(albedo, GLASS, glass)
    albedo = overlay(albedo, SIGN, rectangle(x, height_fraction - 0.06, 0.6 * width, 0.03) * front)

    lamps = band(x.abs(), 0.55 * width, 0.85 * width) * band(height_fraction, 0.82, 0.9)
    albedo = overlay(albedo, HEAD_LIGHT, lamps * front)
    albedo = overlay(albedo, TAIL_LIGHT, lamps * back)
    albedo = overlay(albedo, TRIM, band(height_fraction, 0.93, 2.0) * on_body)
    albedo = paint_wheels(albedo, hits, (part > BODY).float(), level["axle_y"], level["front_axle"],
                          level["rear_axle"], shape["wheel_radius"])
    return Surface(albedo, gloss=0.25 * on_body + 0.2 * glass)


CATEGORY = Category(name="buses", ranges=(math.pi, 0.35, 0.15), sample_shape=sample_shape, build=build,
                    paint=paint)
