"""Colours, heat scales and fonts: every look of every picture is decided here, and only here."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CURRENT", "HALO", "halo", "colormap", "FONT", "MONO_FONT", "OP_COLORS", "HEAT_CMAP", "SIGNED_CMAP", "VALUE_CMAP", "HeatScale",
           "text_color", "hex_color", "to_rgba", "DIAGRAM", "SLIDE_DIAGRAM", "SIZES", "MIN_SLIDE_TEXT_PX", "diagram",
           "diagram_preset", "HTML", "ANIM", "NODE_BUDGET", "PAGE_MAX_NODES", "cell_font_pt"]

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
#: The one highlight of every picture (the node being processed, the focus, the current window): a
#: near-black outline with a white halo, which stays visible on every colour map in use and for
#: colour-blind viewers (red turned olive under deuteranopia and vanished on cividis yellow).
CURRENT = "#111111"
HALO = "#FFFFFF"
NO_GRAD = "#F2F2F2"  # fill before backward has run
BACKGROUND = "#FFFFFF"
INK = "#222222"
TEXT_ON_LIGHT, TEXT_ON_DARK = "#000000", "#FFFFFF"  # numbers written on a heat-map fill
#: A heat scale spreads (square root) when max/median of the non-zero magnitudes exceeds this.
SPREAD_RATIO = 10.0
#: A picture of the graph (a diagram, the HTML page's graph panel) draws every scalar node up to this
#: many and the collapsed view (tensor panels only) above it.
NODE_BUDGET = 1500
#: The HTML stepper refuses traces bigger than this: the page would be tens of megabytes.
PAGE_MAX_NODES = 200_000
PANEL_OUTLINE = "#9A9A9A"  # dashed frames around panels, in every picture
PANEL_FILL = "#F7F7F7"

#: Graphviz diagrams (renderers/diagrams/): sizes in points unless named otherwise.
DIAGRAM = MappingProxyType({
    "slot_inch": 0.6,  # one layout slot (one × or + node)
    "leaf_size": (2.6, 1.6),  # a tensor element's cell, in slots (two-line label)
    "leaf_font_pt": 13,
    "op_font_pt": 13,
    "op_inch": 0.34,  # diameter of a × / + node
    "title_font_pt": 17,
    "caption_font_pt": 20,
    "legend_font_pt": 13,
    "edge_pt": (0.5, 5.0),  # pen width of an edge carrying no gradient, and the most
    "edge_alpha": "d0",  # hex alpha on edge colours, so crossings stay readable
    "edge_max_fraction": 0.82,  # arrows use the heat map up to here: its pale yellow end vanishes on white
    "no_flow_edge": "#C8C8C8",  # edges before backward, and edges a step has not reached yet
    "panel_outline": PANEL_OUTLINE,
    "panel_edge": "#4D4D4DC0",  # collapsed view: arrows between tensors (width by Σ|gradient|)
    "panel_arrows": 48,  # collapsed view: at most this many arrows between panels; more are said, not drawn
    "ghost": "#E6E6E6",  # context cells of a focus view (not part of the focus)
    "ghost_alpha": "99",  # hex alpha of their fill in the full view, so arrows show through
    "ghost_text": "#9A9A9A",
    "focus_outline": CURRENT,
    "png_dpi": 150,
    "png_max_px": 8000,  # a PNG's longer side at most (the dpi drops for bigger drawings)
    "dot_timeout_s": 300,  # render_graph stops Graphviz after this long
    "edge_label_font_pt": 12,  # focus views: the amount each arrow sends back
    "splines": "line",  # straight arrows (drawn as given where a route is set)
    "spline_max_nodes": 0,
    "route_edges": False,
    "arrow_size": 0.55,
    "cell_pt": (5.0, 34.0),  # collapsed view: smallest and largest heat-map cell
    "cell_numbers_pt": 26.0,  # collapsed view: cells at least this big print their gradient
    "small_panel_pt": 66.0,  # collapsed view: a small tensor's panel is at least about this wide
    "ghost_limit": 400,  # a focus view draws at most this many grey context cells
})

#: Picture sizes by name: a 16:9 slide at 1920×1080 or 1280×720 pixels (``size="slide"``).
SIZES = MappingProxyType({"slide": (1920, 1080), "slide-720": (1280, 720)})
#: Every text of a slide-sized picture is at least this tall on a 1920×1080 slide (a font's size in
#: pixels: the back row of a lecture hall reads it).
MIN_SLIDE_TEXT_PX = 14.0

#: Diagrams drawn for a slide (``render_graph(size="slide")``): larger type and boxes to hold it,
#: arrows routed around the boxes. The drawing is then fitted to the slide.
SLIDE_DIAGRAM = MappingProxyType({
    **DIAGRAM,
    "slot_inch": 0.48,  # a tighter grid for the × and + nodes ...
    "leaf_size": (3.5, 2.1),  # ... and boxes as large as before, in inches, for the larger type
    "leaf_font_pt": 17,
    "op_font_pt": 15,
    "op_inch": 0.27,  # × and + half a slot apart on the diagonal (0.34 in) do not touch
    "title_font_pt": 20,
    "caption_font_pt": 22,
    "legend_font_pt": 17,
    "edge_label_font_pt": 16,
    "cell_pt": (5.0, 60.0),  # collapsed view: cells large enough for numbers at 16 pt and more
    "cell_numbers_pt": 48.0,
    "small_panel_pt": 110.0,
    "route_edges": True,  # arrows leave a grid through the gaps between its boxes (diagrams/routes.py)
    "fit_slide": True,  # collapsed view: cells shrink until the text keeps MIN_SLIDE_TEXT_PX on the slide
})

_DIAGRAM = contextvars.ContextVar("convgraph_diagram_look", default=DIAGRAM)


def diagram():
    """The look of the diagram being drawn: :data:`DIAGRAM`, or :data:`SLIDE_DIAGRAM` inside
    :func:`diagram_preset` ``("slide")``."""
    return _DIAGRAM.get()


@contextlib.contextmanager
def diagram_preset(size):
    """Draw diagrams for ``size`` (None, ``"slide"`` or ``"slide-720"``) inside the ``with`` block."""
    token = _DIAGRAM.set(DIAGRAM if size is None else SLIDE_DIAGRAM)
    try:
        yield diagram()
    finally:
        _DIAGRAM.reset(token)


#: The HTML stepper (renderers/steppers/html.py): type scales with the window (projectors are often 1280x720).
HTML = MappingProxyType({
    "font_px": (13, 22),  # body text: smallest and largest, in CSS pixels
    "font_vw": 1.15,  # body text between those: this percentage of the window's width
    "chain_font_em": 1.25,  # the chain-rule line, relative to the body text
    "title_font_em": 0.85,  # grid and panel titles
    "cell_em": (3.3, 1.65),  # one grid cell (width, height)
    "leaf_size": (2.0, 1.3),  # graph panel: a tensor element's cell, in layout slots
    "heat_stops": 65,  # samples of each colour map sent to the page
    "focus_outline": "#0072B2",  # the clicked cell and its focus list (Okabe-Ito blue, not red)
    "window_outline": "#0072B2",  # forward mode: the kernel's window on x
    "muted": "#5A5A5A",  # secondary text, still 7:1 on white
    "edge": "#C8C8C8",
    "panel_outline": PANEL_OUTLINE,
    "panel_edge": "#4D4D4DC0",  # collapsed view: arrows between tensors (width by Σ|gradient|)
    "panel_fill": PANEL_FILL,
})


@functools.lru_cache(maxsize=None)
def colormap(name):
    """The matplotlib colour map ``name``, made once per process and shared: never modify it.
    (``matplotlib.colormaps[name]`` hands out a fresh copy, which builds its lookup table again the
    first time it is called; a diagram asks for a colour hundreds of times.)"""
    from matplotlib import colormaps

    return colormaps[name]


def text_color(rgb):
    """Black or white, whichever reads better on a fill of ``rgb`` (floats 0..1)."""
    r, g, b = rgb[:3]
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b  # relative luminance, near enough for text
    return TEXT_ON_LIGHT if lum > 0.45 else TEXT_ON_DARK


def to_rgba(color):
    """RGBA floats 0..1 of a colour name or ``#rrggbb(aa)`` (matplotlib's reading of it)."""
    from matplotlib.colors import to_rgba as _to_rgba

    return _to_rgba(color)


def hex_color(rgb):
    """``#rrggbb`` of an RGB triple of floats 0..1.

    >>> hex_color((1.0, 0.5, 0.0))
    '#ff8000'
    """
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
    #: Power applied to |g| / vmax before the colour map: 1 linear, 0.5 a square-root scale that
    #: keeps small gradients visible beside one large one (``for_values(..., spread=True)``).
    gamma: float = 1.0

    @classmethod
    def for_values(cls, values, signed=False, spread=False):
        """The scale of ``values``: vmax = max |v| (1.0 when all are zero).

        With ``spread=True`` the scale turns square-root (``gamma=0.5``) when the non-zero
        magnitudes span more than :data:`SPREAD_RATIO` (median to max), so that one large gradient
        does not paint everything else the colour of zero.
        """
        mags = sorted(abs(float(v)) for v in values)
        vmax = mags[-1] if mags else 0.0
        vmax = vmax if vmax > 0 and math.isfinite(vmax) else 1.0
        gamma = 1.0
        if spread:
            nonzero = [m for m in mags if m > 0 and math.isfinite(m)]
            if nonzero and vmax / nonzero[len(nonzero) // 2] > SPREAD_RATIO:
                gamma = 0.5
        return cls(vmax, signed, gamma)

    @property
    def cmap_name(self):
        return SIGNED_CMAP if self.signed else HEAT_CMAP

    @property
    def vmin(self):
        return -self.vmax if self.signed else 0.0

    def fraction(self, g):
        """Position of gradient ``g`` on the colour bar, 0..1."""
        m = min(abs(g) / self.vmax, 1.0) ** self.gamma
        if self.signed:
            return 0.5 + 0.5 * math.copysign(m, g)
        return m

    def value_at(self, f):
        """The gradient (magnitude, or signed value) at position ``f`` (0..1) of the colour bar."""
        if self.signed:
            m = abs(2.0 * f - 1.0) ** (1.0 / self.gamma) * self.vmax
            return math.copysign(m, f - 0.5)
        return f ** (1.0 / self.gamma) * self.vmax

    def rgb(self, g):
        return colormap(self.cmap_name)(self.fraction(g))[:3]

    def hex(self, g):
        """Fill colour of gradient ``g`` as ``#rrggbb``."""
        return hex_color(self.rgb(g))

    def text(self, g):
        """Text colour that reads on :meth:`hex`'s fill."""
        return text_color(self.rgb(g))


#: Lecture animations (renderers/animations/): sizes in points or inches.
ANIM = MappingProxyType({
    "window": CURRENT,  # what the current step reads and writes: window, output cell, kernel in use
    "window_pt": 3.0,  # line width of those outlines
    "halo_pt": 3.0,  # the white halo on each side of them
    "padding": "#C8C8C8",  # padding and the zeros inserted between dY entries, drawn with a "0"
    "padding_ink": "#6E6E6E",
    "inserted": "#EFEFEF",  # zeros the stride inserts between dY entries in dY′: paler than padding
    "faded": "#FFFFFFB8",  # a veil over values the computation drops (the scatter's padding border)
    "empty": NO_GRAD,  # a cell with nothing in it yet
    "grid_line": "#FFFFFF",  # cell separators
    "edge": "#C9C9C9",  # graph edges, idle
    "edge_active": CURRENT,  # graph edges carrying the current step's pushes
    "title_pt": 15,  # the formula of the current step
    "caption_pt": 12,  # the rule of the scene
    "panel_title_pt": 12,
    "tick_pt": 10,  # colour-bar ticks and labels
    "cell_inch": 0.5,  # default side of one grid cell, shrunk to fit max_inch
    "max_inch": (16.0, 9.0),  # a 16:9 slide at 100 dpi
    "min_number_cell_pt": 20.0,  # smaller cells carry no numbers (heat and colour bar only)
    "node_pt": (4.0, 14.0),  # graph scene: marker diameter of an op node, a tensor element
    "max_px": (3840, 2160),  # a frame is at most this big (pixels): bigger ones are refused, naming the dpi
    "max_grid_cells": 20_000,  # grid scenes draw every cell of x and dY′; more would be under a pixel each
    "panel_fill": PANEL_FILL,  # graph scene: the boxes behind panels
    "panel_outline": PANEL_OUTLINE,
    "leaf_outline": "#666666",  # graph scene: the outline of a tensor element's square
})


def halo(line_pt=None, halo_pt=None):
    """matplotlib path effects of the one highlight: a white stroke ``halo_pt`` wider on each side
    under the dark line of width ``line_pt`` (default the window outline's)."""
    from matplotlib import patheffects

    line_pt = ANIM["window_pt"] if line_pt is None else line_pt
    halo_pt = ANIM["halo_pt"] if halo_pt is None else halo_pt
    return [patheffects.Stroke(linewidth=line_pt + 2 * halo_pt, foreground=HALO), patheffects.Normal()]


def cell_font_pt(cell_pt, chars):
    """Font size (points) that fits a number of ``chars`` characters into a cell ``cell_pt`` wide.

    >>> cell_font_pt(36.0, 3)
    12.0
    """
    return float(min(12.0, 0.85 * cell_pt / (0.62 * max(chars, 2)), 0.45 * cell_pt))
