"""Colours, heat scales and fonts: every look of every picture is decided here, and only here."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["FONT", "MONO_FONT", "OP_COLORS", "HEAT_CMAP", "SIGNED_CMAP", "VALUE_CMAP", "HeatScale",
           "text_color"]

FONT = "DejaVu Sans"  # ships with matplotlib; Graphviz falls back cleanly where it is missing
MONO_FONT = "DejaVu Sans Mono"

#: Perceptually uniform and colour-blind safe: gradient magnitude.
HEAT_CMAP = "viridis"
#: Diverging, colour-blind safe: signed gradients (negative purple, positive orange).
SIGNED_CMAP = "PuOr_r"
#: Forward values (x, w, y) when they are drawn as grids.
VALUE_CMAP = "cividis"

#: Outline/fill of nodes by op before any gradient exists.
OP_COLORS = {
    "input": "#4C72B0",
    "weight": "#DD8452",
    "bias": "#937860",
    "const": "#8C8C8C",
    "mul": "#55A868",
    "add": "#8172B3",
    "output": "#C44E52",
}
VISITED = "#BBBBBB"  # shading of nodes already processed in a step view
CURRENT = "#E8000B"  # the node being processed
NO_GRAD = "#F2F2F2"  # fill before backward has run
BACKGROUND = "#FFFFFF"
INK = "#222222"


def text_color(rgb):
    """Black or white, whichever reads better on a fill of ``rgb`` (floats 0..1)."""
    r, g, b = rgb[:3]
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b  # relative luminance, near enough for text
    return "#000000" if lum > 0.45 else "#FFFFFF"


def _hex(rgb):
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgb[:3]))


@dataclass(frozen=True)
class HeatScale:
    """One colour scale for one picture: maps a gradient to a colour.

    ``signed=False`` maps |g| on [0, vmax] with :data:`HEAT_CMAP`; ``signed=True`` maps g on
    [-vmax, vmax] with :data:`SIGNED_CMAP`.

    >>> HeatScale.for_values([0.5, -2.0]).vmax
    2.0
    """

    vmax: float
    signed: bool = False

    @classmethod
    def for_values(cls, values, signed=False):
        vmax = max((abs(float(v)) for v in values), default=0.0)
        return cls(vmax if vmax > 0 and math.isfinite(vmax) else 1.0, signed)

    @property
    def cmap_name(self):
        return SIGNED_CMAP if self.signed else HEAT_CMAP

    @property
    def vmin(self):
        return -self.vmax if self.signed else 0.0

    def fraction(self, g):
        """Position of gradient ``g`` on the colour bar, 0..1."""
        if self.signed:
            return min(max(0.5 + 0.5 * g / self.vmax, 0.0), 1.0)
        return min(abs(g) / self.vmax, 1.0)

    def rgb(self, g):
        from matplotlib import colormaps

        return colormaps[self.cmap_name](self.fraction(g))[:3]

    def hex(self, g):
        """Fill colour of gradient ``g`` as ``#rrggbb``."""
        return _hex(self.rgb(g))

    def text(self, g):
        """Text colour that reads on :meth:`hex`'s fill."""
        return text_color(self.rgb(g))
