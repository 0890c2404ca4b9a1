"""The collapsed Graphviz view for big traces: one heat-map table per tensor slice (one cell per
element) and one arrow per pair of slices that really feed each other (the tracer's
:meth:`~convgraph.tracer.trace.Trace.slice_wiring`), weighted by the gradient carried back between them."""

from __future__ import annotations

import numpy as np

from .. import style
from ..layout import layout
from ..numbers import Numbers
from .dot import (caption, cmap_rgb, digraph, esc, legend, note_extent, Painter, place_legend, plain, title_node,
                  ValueScale)

__all__ = ["collapsed_view"]

#: The text size estimate (from the panels' boxes) runs a few per cent above what Graphviz draws.
_MARGIN = 1.05


def collapsed_view(trace, shown, grads, heat, caption_lines, focus_node):
    """One heat-map table per tensor panel (one cell per element), one arrow per pair of panels that
    feed each other; past ``style.diagram()["panel_arrows"]`` pairs the caption says so instead."""
    d = style.diagram()
    slot_pt = d["slot_inch"] * 72
    panels, sizes, px = _fitted_panels(trace, shown, slot_pt, len(caption_lines) + 1)
    if px < style.MIN_SLIDE_TEXT_PX:  # too many slices for a slide: say so rather than pretend
        caption_lines = caption_lines[:-1] + [esc(
            f"({len(panels)} slices: small type on a 1920×1080 slide, about {px:.0f} px; "
            f"a focus view draws fewer and larger)")] + caption_lines[-1:]
    nodes = trace.graph.nodes
    cells = [int(n) for p in panels for n in p.nodes.ravel() if n >= 0]
    in_view = (lambda n: True) if shown is None else (lambda n: n in shown)
    g = {n: grads(n) for n in cells if in_view(n) and nodes[n]["op"] != "const"} if grads.has else {}
    if grads.has:
        values = list(g.values()) if grads.step is None else [grads.final_grad(n) for n in g]
        scale = style.HeatScale.for_values(values, signed=heat == "signed", spread=True)
    else:
        scale = style.HeatScale(1.0)
    look = _Look(trace, grads, heat, scale, g, cells, in_view, focus_node)

    dg = digraph("convgraph", caption(caption_lines))
    names = {}
    for k, p in enumerate(panels):
        names[p.title] = f"p{k}"
        _panel_table(dg, f"p{k}", k, p, sizes[p.tensor], look, slot_pt)
    arrows = {pair: f for pair, f in _panel_edges(trace, panels, grads, in_view).items()
              if pair[0] in names and pair[1] in names}
    if len(arrows) > d["panel_arrows"]:
        note = (f"{len(arrows):,} pairs of slices feed each other: too many arrows to draw "
                f"(a focus or detail='full' shows the wiring)")
        dg.attr("graph", label=caption(caption_lines[:-1] + [esc(note)] + caption_lines[-1:]))
    else:
        _arrows(dg, names, arrows, grads, look.numbers)
    if grads.has or heat is not None:
        _legend(dg, panels, scale if grads.has else look.values, heat, grads, slot_pt)
    corners = {}
    for k, p in enumerate(panels):
        corners[2 * k], corners[2 * k + 1] = p.box[:2], p.box[2:]
    note_extent(dg, corners, slot_pt, len(caption_lines))
    return dg


def _fitted_panels(trace, shown, slot_pt, caption_lines):
    """:func:`_panels`; for a slide (``style.diagram()["fit_slide"]``), the first arrangement that keeps
    the smallest text (titles, legend, caption) at ``style.MIN_SLIDE_TEXT_PX`` or more on a 1920×1080
    slide: the usual one, then with smaller cells (never narrower than a panel's title), then x | w | y
    side by side; else the most legible of them. Returns (panels, sizes, smallest text in px)."""
    d = style.diagram()
    if not d.get("fit_slide"):
        return _panels(trace, shown, slot_pt) + (float("inf"),)
    best = None
    for wide in (False, True):  # x and y below w; else x | w | y side by side, half as tall
        shrink = 1.0
        while True:
            panels, sizes = _panels(trace, shown, slot_pt, shrink, wide)
            px = _text_px(panels, slot_pt, caption_lines)
            if best is None or px > best[0] + 0.05:
                best = (px, panels, sizes)
            if px >= _MARGIN * style.MIN_SLIDE_TEXT_PX:
                return panels, sizes, px
            if shrink < 0.3:
                break
            shrink *= 0.85
    return best[1], best[2], best[0]


def _text_px(panels, slot_pt, caption_lines):
    """The smallest text of the collapsed picture of ``panels`` on a 1920×1080 slide, in pixels."""
    d = style.diagram()
    if not panels:
        return float("inf")
    x0 = min(p.box[0] for p in panels)
    x1 = max(p.box[2] for p in panels)
    y0 = min(p.box[1] for p in panels)
    y1 = max(p.box[3] for p in panels)
    w = (x1 - x0 + 3) * slot_pt
    h = (y1 - y0 + 3) * slot_pt + 1.05 * d["caption_font_pt"] * caption_lines + 12 * d["legend_font_pt"]
    width, height = style.SIZES["slide"]
    return min(d["legend_font_pt"], d["title_font_pt"]) * min(width / w, height / h)


def _panels(trace, shown, slot_pt, shrink=1.0, wide=False):
    """The tensor panels in view, laid out with cells as big as fit (a small tensor, a kernel, gets
    cells big enough to see, up to the largest), times ``shrink``; and each tensor's cell size in
    points."""
    d = style.diagram()
    full_lay = layout(trace, [], collapsed=True)  # panel shapes only
    panels = [p for p in full_lay.panels if shown is None or np.isin(p.nodes[p.nodes >= 0], list(shown)).any()]
    biggest = max((max(p.nodes.shape) for p in panels), default=1)
    lo, hi = d["cell_pt"]
    cell_pt = min(max(260.0 / biggest, lo), hi) * shrink
    sizes = {}
    for p in panels:
        own = max(cell_pt, min(hi, d["small_panel_pt"] / max(p.nodes.shape)) * shrink)
        if d.get("fit_slide"):  # never narrower than its title: titles side by side must not run together
            own = max(own, 0.62 * d["title_font_pt"] * len(p.title) / p.nodes.shape[1])
        sizes[p.tensor] = max(sizes.get(p.tensor, 0.0), own)
    lay = layout(trace, [], collapsed=True, leaf_size=(cell_pt / slot_pt, cell_pt / slot_pt),
                 leaf_sizes={t: (c / slot_pt, c / slot_pt) for t, c in sizes.items()}, wide=wide)
    by_title = {p.title: p for p in lay.panels}
    return [by_title[p.title] for p in panels], sizes


class _Look:
    """Colours and numbers of the cells of one collapsed picture."""

    def __init__(self, trace, grads, heat, scale, g, cells, in_view, focus_node):
        self.nodes = trace.graph.nodes
        self.grads, self.heat, self.g, self.in_view, self.focus_node = grads, heat, g, in_view, focus_node
        self.numbers = Numbers(list(g.values()) if grads.has else [self.nodes[n]["value"] for n in cells])
        self.values = ValueScale(self.nodes[n]["value"] for n in cells if in_view(n))
        self.paint = Painter(scale, heat)

    def cell(self, n, cell_pt):
        """(background colour, inner HTML, marked) of the cell of node ``n`` (-1: an empty cell)."""
        d = style.diagram()
        with_numbers = cell_pt >= d["cell_numbers_pt"]
        font = f'POINT-SIZE="{max(cell_pt / 3.2, 7):.0f}"'
        grads = self.grads
        if n < 0 or not self.in_view(n):
            return d["ghost"], ""
        if grads.has and n in self.g and not grads.waiting(n):
            color, ink = self.paint.fill(self.g[n])
            return color, (f'<FONT {font} COLOR="{ink}">{esc(self.numbers(self.g[n]))}</FONT>' if with_numbers else "")
        value = self.nodes[n]["value"]
        if not grads.has and self.heat is not None:  # before backward: the forward values
            rgb = cmap_rgb(self.values, self.values.fraction(value))
            ink = style.text_color(rgb)
            return style.hex_color(rgb), (f'<FONT {font} COLOR="{ink}">{esc(self.numbers(value))}</FONT>'
                                          if with_numbers else "")
        return style.NO_GRAD, (f'<FONT {font}>{esc(self.numbers(value))}</FONT>' if with_numbers else "")

    def marked(self, n):
        return n >= 0 and (n == self.focus_node or (self.grads.current is not None and n == self.grads.current))


def _panel_table(dg, name, k, p, cell_pt, look, slot_pt):
    """One panel as an HTML-like table of cells, and its title above."""
    d = style.diagram()
    rows = []
    for r in range(p.nodes.shape[0]):
        tds = []
        for n in p.nodes[r].tolist():
            color, text = look.cell(n, cell_pt)
            mark = f' BORDER="3" COLOR="{style.CURRENT}"' if look.marked(n) else ""
            tds.append(f'<TD WIDTH="{cell_pt:.0f}" HEIGHT="{cell_pt:.0f}" FIXEDSIZE="TRUE" '
                       f'BGCOLOR="{color}"{mark}>{text}</TD>')
        rows.append("<TR>" + "".join(tds) + "</TR>")
    label = ('<<TABLE BORDER="1" COLOR="' + d["panel_outline"] + '" CELLBORDER="0" CELLSPACING="0" '
             'CELLPADDING="0">' + "".join(rows) + "</TABLE>>")
    x0, y0, x1, y1 = p.box
    cx, cy = (x0 + x1) / 2 * slot_pt, (y0 + y1) / 2 * slot_pt
    dg.node(name, label=label, shape="plaintext", margin="0", pos=f"{cx:.1f},{cy:.1f}!", tooltip=plain(p.title))
    title_node(dg, f"title{k}", p.title, cx, y1 * slot_pt + d["title_font_pt"] * 1.1)


def _arrows(dg, names, arrows, grads, numbers):
    d = style.diagram()
    top = max(arrows.values(), default=0.0)
    lo, hi = d["edge_pt"]
    for (a, b), flow in sorted(arrows.items()):
        width = round(lo + (hi - lo) * flow / top, 2) if grads.has and top > 0 else 1.0
        color = d["panel_edge"] if grads.has and flow > 0 else d["no_flow_edge"]
        dg.edge(names[a], names[b], color=color, penwidth=str(max(width, 1.0)), arrowsize="0.9",
                tooltip=plain(f"{a} → {b}" + (f": Σ|∂| {numbers(flow)}" if grads.has else "")))


def _legend(dg, panels, scale, heat, grads, slot_pt):
    label = legend(scale, heat, edges=False)
    arrows = ("arrows: width by Σ|gradient| carried back<BR ALIGN=\"LEFT\"/>between the two slices"
              if grads.has else "arrows: which slice feeds which")
    label = label.replace("</TABLE>>", f'<TR><TD COLSPAN="9" ALIGN="LEFT">{arrows}'
                                       '<BR ALIGN="LEFT"/></TD></TR></TABLE>>')
    xs = [p.box[2] for p in panels] or [0.0]
    ys = [p.box[1] for p in panels] or [0.0]
    place_legend(dg, label, (max(xs) - 6.0) * slot_pt, (min(ys) - 3.0) * slot_pt)


def _panel_edges(trace, panels, grads, in_view):
    """{(source panel title, result panel title): Σ|gradient| carried back between them}, for every
    pair of slices that feed each other.

    A convolution's pairs carry what its multiplies push back (x → y: Σ|∂y·w|, w → y: Σ|∂y·x|,
    b → y: Σ|∂y|, only what the walk has pushed so far in a step view); any other pair carries
    everything its source slice received (nothing for constants).
    """
    title_of = {(p.tensor, p.lead): p.title for p in panels}
    edges = {}
    visited = grads.visited_mask()
    for rec in trace.convs:
        names = {"x": rec.x.name, "w": rec.w.name, "b": None if rec.b is None else rec.b.name}
        for p in rec.channel_pairs(grads.final if grads.has else None, visited):
            a, b = title_of.get((names[p.source], p.source_lead)), title_of.get((rec.y.name, p.y_lead))
            if a is not None and b is not None:
                edges[(a, b)] = edges.get((a, b), 0.0) + p.amount
    nodes = trace.graph.nodes
    received = {}
    for p in panels:
        ids = [int(n) for n in p.nodes[p.nodes >= 0] if in_view(int(n))]
        received[p.title] = (sum(abs(grads(n)) for n in ids)
                             if grads.has and not all(nodes[n]["op"] == "const" for n in ids) else 0.0)
    for src, dst in trace.slice_wiring():
        a, b = title_of.get(src), title_of.get(dst)
        if a is not None and b is not None and a != b and (a, b) not in edges:
            edges[(a, b)] = received[a]
    return edges
