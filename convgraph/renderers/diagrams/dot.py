"""Pieces every Graphviz view of convgraph shares: escaping, heat fills, the legend, the caption,
panel frames and the Digraph that keeps its nodes where they are pinned."""

from __future__ import annotations

import functools
import html
import math
import re

from .. import style
from ..numbers import tick

__all__ = ["pinned_digraph_class", "fit_width", "plain", "esc", "ValueScale", "legend", "cmap_rgb", "Painter", "digraph", "caption",
           "note_extent", "highlight", "panel_frame", "title_node", "place_legend"]

_LEGEND_CELL_PT = 64  # 9 cells: wider than the longest legend line, so the bar has no gaps
_TICK_CELL_PT = 24  # tall enough for a tick at the legend's font size (Graphviz warns when text overflows)


@functools.lru_cache(maxsize=None)
def pinned_digraph_class():
    import graphviz

    class PinnedDigraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose nodes carry their positions: it renders (and shows inline in
        Jupyter) with ``neato -n2``, so Graphviz draws them where they are and lays out nothing.
        Piped output keeps Graphviz's stderr to itself; inline SVG fits the notebook's column."""

        def pipe(self, *args, **kwargs):
            if len(args) < 4:
                kwargs.setdefault("neato_no_op", 2)
            if len(args) < 5:
                kwargs.setdefault("quiet", True)
            return super().pipe(*args, **kwargs)

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):  # IPython's display protocol
            bundle = super()._repr_mimebundle_(include, exclude, **kwargs)
            if "image/svg+xml" in bundle:
                bundle["image/svg+xml"] = fit_width(bundle["image/svg+xml"])
            return bundle

        def render(self, *args, **kwargs):
            if len(args) < 8:
                kwargs.setdefault("neato_no_op", 2)
            return super().render(*args, **kwargs)

    return PinnedDigraph


def fit_width(svg):
    """Graphviz's SVG scaled to its container's width (a notebook's column) instead of its own size
    in points: ``width="100%"``, the height following from the viewBox.

    >>> fit_width('<svg width="1786pt" height="900pt" viewBox="0 0 1786 900">')
    '<svg width="100%" style="max-width: 100%; height: auto" viewBox="0 0 1786 900">'
    """
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg width="100%" style="max-width: 100%; height: auto"',
                  svg, count=1)


def plain(text):
    """``text`` as a plain DOT string, never read as a Graphviz HTML label (a tensor named
    ``<<TABLE>…>>`` stays text): for titles and tooltips."""
    import graphviz

    return graphviz.nohtml(str(text))


def esc(text):
    return html.escape(str(text), quote=True)


class ValueScale:
    """Forward values on :data:`style.VALUE_CMAP`, min to max: a collapsed view before backward."""

    gamma = 1.0
    cmap_name = style.VALUE_CMAP

    def __init__(self, values):
        values = [float(v) for v in values] or [0.0]
        self.lo, self.hi = min(values), max(values)
        if self.hi <= self.lo:
            self.hi = self.lo + 1.0

    def fraction(self, v):
        return min(max((v - self.lo) / (self.hi - self.lo), 0.0), 1.0)

    def value_at(self, f):
        return self.lo + f * (self.hi - self.lo)


def legend(scale, heat, edges=True):
    """An HTML-like table: the colour bar with its ticks, and what edge width means."""
    cells = 9
    if heat is None:
        return ('<<TABLE BORDER="0" CELLBORDER="0"><TR><TD ALIGN="LEFT">no heat: arrows are as wide as the '
                'gradient they carry back</TD></TR></TABLE>>')
    what = "∂loss/∂node, signed" if heat == "signed" else "|∂loss/∂node|"
    if isinstance(scale, ValueScale):
        what = "forward value (no gradients yet)"
    kind = "square-root scale" if scale.gamma != 1 else "linear scale"
    rows = [f'<TR><TD COLSPAN="{cells}" ALIGN="LEFT"><B>{esc(what)}</B>  one {kind} for the picture</TD></TR>']
    tds = "".join(
        f'<TD WIDTH="{_LEGEND_CELL_PT}" HEIGHT="18" FIXEDSIZE="TRUE" BGCOLOR="{style.hex_color(cmap_rgb(scale, k / (cells - 1)))}"></TD>'
        for k in range(cells))
    rows.append(f"<TR>{tds}</TR>")
    ticks = []
    for k in range(cells):
        if k % 2 == 0:
            ticks.append(f'<TD WIDTH="{_LEGEND_CELL_PT}" FIXEDSIZE="TRUE" HEIGHT="{_TICK_CELL_PT}">'
                         f'{esc(tick(scale.value_at(k / (cells - 1)), last=k in (0, cells - 1)))}</TD>')
        else:
            ticks.append(f'<TD WIDTH="{_LEGEND_CELL_PT}" FIXEDSIZE="TRUE" HEIGHT="{_TICK_CELL_PT}"></TD>')
    rows.append("<TR>" + "".join(ticks) + "</TR>")
    if edges:
        short = "; colours stop at light green" if heat == "grad" else ""
        rows.append(f'<TR><TD COLSPAN="{cells}" ALIGN="LEFT">arrows: width and colour by the gradient '
                    f'they carry back<BR ALIGN="LEFT"/>(∂ result × local derivative{short}); grey carries none'
                    f'<BR ALIGN="LEFT"/>boxes: element, then value | ∂ its gradient;  × multiply,  + add'
                    f'<BR ALIGN="LEFT"/></TD></TR>')
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="2">' + "".join(rows) + "</TABLE>>")


def cmap_rgb(scale, f):
    return style.colormap(scale.cmap_name)(f)[:3]


class Painter:
    """Colours and widths of one picture, from its one heat scale."""

    def __init__(self, scale, heat):
        self.scale, self.heat = scale, heat
        self._memo = {}

    def fill(self, g):
        if self.heat is None:
            return style.NO_GRAD, style.INK
        key = ("f", g)
        hit = self._memo.get(key)
        if hit is None:
            rgb = cmap_rgb(self.scale, self.scale.fraction(g))
            hit = self._memo[key] = (style.hex_color(rgb), style.text_color(rgb))
        return hit

    def edge(self, flow):
        d = style.diagram()
        lo, hi = d["edge_pt"]
        if flow == 0 or not math.isfinite(flow):
            return d["no_flow_edge"], lo
        f = min(abs(flow) / self.scale.vmax, 1.0) ** self.scale.gamma
        if self.heat is None:
            color = d["panel_edge"]
        elif self.heat == "grad":  # stop short of the palest yellow: a line must show on white
            rgb = cmap_rgb(self.scale, min(self.scale.fraction(flow), d["edge_max_fraction"]))
            color = style.hex_color(rgb) + d["edge_alpha"]
        else:  # signed: the map's two ends, never its pale middle (an arrow must show on white)
            rgb = cmap_rgb(self.scale, 0.5 + math.copysign(0.22 + 0.28 * f, flow))
            color = style.hex_color(rgb) + d["edge_alpha"]
        return color, round(lo + (hi - lo) * f, 2)


def highlight():
    """DOT attributes of the one highlight (the focus, the current step): a dark outline, a white gap,
    a second dark outline; the gap is the halo that keeps it visible on any fill."""
    return {"penwidth": "3", "color": style.CURRENT, "peripheries": "2"}


def digraph(name, caption, nodes=0):
    """An empty pinned Digraph with the picture's caption; arrows are routed around boxes when the
    look asks for it and ``nodes`` is small enough, else straight."""
    d = style.diagram()
    dg = pinned_digraph_class()(name=name, engine="neato")
    splines = d["splines"] if nodes <= d["spline_max_nodes"] else "line"
    dg.attr("graph", outputorder="edgesfirst", splines=splines, bgcolor=style.BACKGROUND, pad="0.4",
            label=caption, labelloc="t", labeljust="l", fontname=style.FONT, fontsize=str(d["caption_font_pt"]),
            fontcolor=style.INK)
    dg.attr("node", fontname=style.FONT, fontcolor=style.INK, penwidth="1.2")
    dg.attr("edge", arrowsize=str(d["arrow_size"]), arrowhead="normal")
    return dg


def caption(lines):
    """A left-aligned multi-line graph label."""
    return "<" + "<BR ALIGN=\"LEFT\"/>".join(lines) + "<BR ALIGN=\"LEFT\"/>>"


def note_extent(dg, pos, slot_pt, caption_lines=0):
    """Remember the drawing's size in inches: ``convgraph_extent_inch`` generously (render_graph keeps a
    PNG to a sane pixel count) and ``convgraph_page_pt`` as Graphviz will draw it (the nodes' span,
    a margin, the caption's lines and the legend), for how large its text is on a slide."""
    if pos:
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        span_w, span_h = (max(xs) - min(xs)) * slot_pt, (max(ys) - min(ys)) * slot_pt
        dg.convgraph_extent_inch = (span_w / 72 + 12 * slot_pt / 72, span_h / 72 + 12 * slot_pt / 72)
        d = style.diagram()
        dg.convgraph_page_pt = (span_w + 3 * slot_pt,
                                span_h + 3 * slot_pt + 1.05 * d["caption_font_pt"] * caption_lines
                                + 12 * d["legend_font_pt"])


def panel_frame(dg, key, box, title, slot_pt):
    """A dashed rounded outline around a panel and its title just above (full views)."""
    d = style.diagram()
    x0, y0, x1, y1 = box
    pad = 0.35
    w, h = (x1 - x0 + 2 * pad) * slot_pt / 72, (y1 - y0 + 2 * pad) * slot_pt / 72
    cx, cy = (x0 + x1) / 2 * slot_pt, (y0 + y1) / 2 * slot_pt
    dg.node(f"frame{key}", label="", shape="box", style="rounded,dashed", color=d["panel_outline"],
            width=f"{w:.3f}", height=f"{h:.3f}", fixedsize="true", pos=f"{cx:.1f},{cy:.1f}!",
            penwidth="1")
    if title:
        ty = (y1 + pad) * slot_pt + d["title_font_pt"] * 0.9
        title_node(dg, f"title{key}", title, cx, ty)


def title_node(dg, name, title, cx, ty):
    """A panel's title, a plain label on the background colour, centred at (cx, ty) points."""
    dg.node(name, label=plain(title), shape="plaintext", fontsize=str(style.diagram()["title_font_pt"]),
            pos=f"{cx:.1f},{ty:.1f}!", width="0.1", height="0.1", margin="0.04,0.02",
            style="filled", fillcolor=style.BACKGROUND)


def place_legend(dg, label, x, y):
    """The legend (colour bar and what arrows mean) pinned at (x, y) points."""
    dg.node("legend", label=label, shape="plaintext", fontsize=str(style.diagram()["legend_font_pt"]),
            pos=f"{x:.1f},{y:.1f}!", margin="0")
