"""One visual language, safe for colour-blind viewers: the highlight (a dark outline with a white halo)
stays visible on every colour map in use, under a simulation of deuteranopia, in the kit's frames."""

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

import convgraph as cg
from convgraph.lessons import EDGE
from convgraph.renderers import style

# Machado, Oliveira & Fernandes (2009), deuteranopia at severity 1, on linear RGB.
DEUTAN = np.array([[0.367322, 0.860646, -0.227968],
                   [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]])


def linear(rgb):
    rgb = np.asarray(rgb, float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def deutan_luminance(rgb):
    """Relative luminance (WCAG) of sRGB colours (..., 3) in 0..1 as a deuteranope sees them."""
    lin = np.clip(linear(rgb) @ DEUTAN.T, 0, 1)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a, b):
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return (hi + 0.05) / (lo + 0.05)


MAPS = [style.SIGNED_CMAP, style.VALUE_CMAP, style.HEAT_CMAP]


@pytest.mark.parametrize("name", MAPS)
def test_the_highlight_shows_on_every_colour_of_every_map_for_a_deuteranope(name):
    fills = colormaps[name](np.linspace(0, 1, 65))[:, :3]
    line = deutan_luminance(style.to_rgba(style.CURRENT)[:3])
    halo = deutan_luminance(style.to_rgba(style.HALO)[:3])
    assert contrast(line, halo) > 15  # the outline against its own halo
    fill = deutan_luminance(fills)
    # on every fill, the dark line or the white halo stands out at least 3:1 (WCAG's bar for graphics)
    assert np.all(np.maximum(contrast(line, fill), contrast(halo, fill)) >= 3.0)


def test_the_old_red_highlight_would_fail_that_check():
    fills = colormaps[style.VALUE_CMAP](np.linspace(0, 1, 65))[:, :3]
    red = deutan_luminance(style.to_rgba("#E8000B")[:3])
    assert np.min(contrast(red, deutan_luminance(fills))) < 1.5  # it vanished on cividis


def test_kit_frames_carry_the_halo(tmp_path):
    trace = EDGE.trace()
    path = cg.animate(trace, tmp_path / "wg.gif", scene="weight-grad", dY=EDGE.dY, size="slide-720", progress=False)
    with Image.open(path) as im:
        im.seek(4)
        rgb = np.asarray(im.convert("RGB"), float) / 255
    dark = np.all(np.abs(rgb - np.array(style.to_rgba(style.CURRENT)[:3])) < 0.04, axis=2)
    assert dark.sum() > 200  # the window's outlines
    # next to the outline, on either side, white halo pixels: the pair reads on any fill
    near = np.zeros_like(dark)
    for dy, dx in ((0, 3), (0, -3), (3, 0), (-3, 0)):
        near |= np.roll(dark, (dy, dx), axis=(0, 1))
    white = np.all(rgb > 0.97, axis=2)
    assert (near & white).sum() > 0.3 * dark.sum() ** 0.5 * 4
    lum = deutan_luminance(rgb[dark])
    assert lum.max() < 0.02  # still black to a deuteranope
