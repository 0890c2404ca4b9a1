"""The collapsed Graphviz view for big traces: one heat-map table per tensor panel (one cell per
element) and one arrow per pair of panels, weighted by the gradient carried back between them."""

from __future__ import annotations

import math

import numpy as np

from . import style
from .dotparts import caption, cmap_rgb, digraph, esc, legend, note_extent, Numbers, Painter, ValueScale
from .layout import layout

__all__ = ["collapsed_view"]

_PANEL_ARROWS = 12  # a collapsed view with more pairs of panels draws one arrow per pair of tensors


def collapsed_view(trace, shown, grads, heat, caption_lines, focus_node):
    """One heat-map table per tensor panel (one cell per element), one arrow per pair of panels."""
    d = style.DIAGRAM
    slot_pt = d["slot_inch"] * 72
    attrs = trace.graph._node
    full_lay = layout(trace, [], collapsed=True)  # panel shapes only
    panels = [p for p in full_lay.panels if shown is None or np.isin(p.nodes[p.nodes >= 0], list(shown)).any()]
    biggest = max((max(p.nodes.shape) for p in panels), default=1)
    lo, hi = d["cell_pt"]
    cell_pt = min(max(260.0 / biggest, lo), hi)
    sizes = {}  # a small tensor (a kernel) gets cells big enough to see, up to the largest
    for p in panels:
        own = max(cell_pt, min(hi, d["small_panel_pt"] / max(p.nodes.shape)))
        sizes[p.tensor] = max(sizes.get(p.tensor, 0.0), own)
    lay = layout(trace, [], collapsed=True, leaf_size=(cell_pt / slot_pt, cell_pt / slot_pt),
                 leaf_sizes={t: (c / slot_pt, c / slot_pt) for t, c in sizes.items()})
    by_title = {p.title: p for p in lay.panels}
    panels = [by_title[p.title] for p in panels]

    cells = [int(n) for p in panels for n in p.nodes.ravel() if n >= 0]
    in_view = (lambda n: True) if shown is None else (lambda n: n in shown)
    g = {n: grads(n) for n in cells if in_view(n) and attrs[n]["op"] != "const"} if grads.has else {}
    edges = _panel_edges(trace, panels, grads, in_view)
    if grads.has:
        values = list(g.values()) if grads.step is None else [grads.final_grad(n) for n in g]
        scale = style.HeatScale.for_values(values, signed=heat == "signed", spread=True)
    else:
        scale = style.HeatScale(1.0)
    numbers = Numbers(list(g.values()) if grads.has else [attrs[n]["value"] for n in cells])
    values = ValueScale(attrs[n]["value"] for n in cells if in_view(n))
    paint = Painter(scale, heat)

    dg = digraph("convgraph", caption(caption_lines))
    names = {}
    for k, p in enumerate(panels):
        rows = []
        cell_pt = sizes[p.tensor]
        with_numbers = cell_pt >= d["cell_numbers_pt"]
        for r in range(p.nodes.shape[0]):
            tds = []
            for n in p.nodes[r].tolist():
                attrs_ = f'WIDTH="{cell_pt:.0f}" HEIGHT="{cell_pt:.0f}" FIXEDSIZE="TRUE"'
                text = ""
                if n < 0 or not in_view(n):
                    color = d["ghost"]
                elif grads.has and n in g and not (grads.step is not None and not grads.visited(n)):
                    color, ink = paint.fill(g[n])
                    if with_numbers:
                        text = f'<FONT POINT-SIZE="{max(cell_pt / 3.2, 7):.0f}" COLOR="{ink}">{esc(numbers(g[n]))}</FONT>'
                elif not grads.has and heat is not None:  # before backward: the forward values
                    color, ink = _value_fill(values, attrs[n]["value"])
                    if with_numbers:
                        text = (f'<FONT POINT-SIZE="{max(cell_pt / 3.2, 7):.0f}" COLOR="{ink}">'
                                f'{esc(numbers(attrs[n]["value"]))}</FONT>')
                else:
                    color = style.NO_GRAD
                    if with_numbers and n >= 0:
                        text = f'<FONT POINT-SIZE="{max(cell_pt / 3.2, 7):.0f}">{esc(numbers(attrs[n]["value"]))}</FONT>'
                mark = ""
                if n >= 0 and (n == focus_node or (grads.step is not None and n == grads.cut)):
                    mark = f' BORDER="3" COLOR="{style.CURRENT}"'
                tds.append(f'<TD {attrs_} BGCOLOR="{color}"{mark}>{text}</TD>')
            rows.append("<TR>" + "".join(tds) + "</TR>")
        label = ('<<TABLE BORDER="1" COLOR="' + d["panel_outline"] + '" CELLBORDER="0" CELLSPACING="0" '
                 'CELLPADDING="0">' + "".join(rows) + "</TABLE>>")
        x0, y0, x1, y1 = p.box
        cx, cy = (x0 + x1) / 2 * slot_pt, (y0 + y1) / 2 * slot_pt
        name = f"p{k}"
        names[p.title] = name
        dg.node(name, label=label, shape="plaintext", margin="0", pos=f"{cx:.1f},{cy:.1f}!",
                tooltip=p.title)
        ty = y1 * slot_pt + d["title_font_pt"] * 1.1
        dg.node(f"title{k}", label=p.title, shape="plaintext", fontsize=str(d["title_font_pt"]),
                pos=f"{cx:.1f},{ty:.1f}!", width="0.1", height="0.1", margin="0.04,0.02",
                style="filled", fillcolor=style.BACKGROUND)
    edges = {k: f for k, f in edges.items() if k[0] in names and k[1] in names}
    ends = {}  # arrow ends: panel node names, or anchors on the edge of a tensor's group of panels
    if len(edges) > _PANEL_ARROWS:  # too many pairs to follow: one arrow per pair of tensors
        tensor_of = {p.title: p.tensor for p in panels}
        boxes = {}
        for p in panels:
            b = boxes.get(p.tensor, p.box)
            boxes[p.tensor] = (min(b[0], p.box[0]), min(b[1], p.box[1]), max(b[2], p.box[2]), max(b[3], p.box[3]))
        grouped = {}
        for (a, b), f in edges.items():
            key = (tensor_of[a], tensor_of[b])
            grouped[key] = grouped.get(key, 0.0) + f
        for k, ((a, b), f) in enumerate(sorted(grouped.items())):
            pa, pb = _box_exit(boxes[a], boxes[b]), _box_exit(boxes[b], boxes[a])
            for end, (x, y) in (("s", pa), ("t", pb)):
                dg.node(f"end{k}{end}", label="", shape="point", width="0.01", style="invis",
                        pos=f"{x * slot_pt:.1f},{y * slot_pt:.1f}!")
            ends[(a, b)] = (f"end{k}s", f"end{k}t")
        edges = grouped
        caption_note = "arrows join whole tensors (one per pair)"
    else:
        ends = {k: (names[k[0]], names[k[1]]) for k in edges}
        caption_note = None
    top = max(edges.values(), default=0.0)
    for (a, b), flow in sorted(edges.items()):
        lo, hi = d["edge_pt"]
        width = round(lo + (hi - lo) * flow / top, 2) if grads.has and top > 0 else 1.0
        color = d["panel_edge"] if grads.has and flow > 0 else d["no_flow_edge"]
        dg.edge(*ends[(a, b)], color=color, penwidth=str(max(width, 1.0)), arrowsize="0.9",
                tooltip=f"{a} → {b}" + (f": Σ|∂| {numbers(flow)}" if grads.has else ""))
    if caption_note:
        dg.attr("graph", label=caption(caption_lines[:-1] + [esc(caption_note)] + caption_lines[-1:]))
    if grads.has or heat is not None:
        xs = [p.box[2] for p in panels] or [0.0]
        ys = [p.box[1] for p in panels] or [0.0]
        label = legend(scale if grads.has else values, heat, edges=False)
        arrows = ("arrows: width by Σ|gradient| carried back<BR ALIGN=\"LEFT\"/>between the two tensors"
                  if grads.has else "arrows: which tensor feeds which")
        label = label.replace("</TABLE>>", f'<TR><TD COLSPAN="9" ALIGN="LEFT">{arrows}'
                                           '<BR ALIGN="LEFT"/></TD></TR></TABLE>>')
        dg.node("legend", label=label, shape="plaintext", fontsize=str(d["legend_font_pt"]),
                pos=f"{(max(xs) - 6.0) * slot_pt:.1f},{(min(ys) - 3.0) * slot_pt:.1f}!", margin="0")
    corners = {}
    for k, p in enumerate(panels):
        corners[2 * k], corners[2 * k + 1] = p.box[:2], p.box[2:]
    note_extent(dg, corners, slot_pt)
    return dg


def _value_fill(scale, v):
    rgb = cmap_rgb(scale, scale.fraction(v))
    return style._hex(rgb), style.text_color(rgb)


def _box_exit(box, other, margin=0.25):
    """Where the segment from ``box``'s centre to ``other``'s centre leaves ``box`` (plus a margin)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ox, oy = (other[0] + other[2]) / 2, (other[1] + other[3]) / 2
    dx, dy = ox - cx, oy - cy
    t = min(((x1 - x0) / 2 + margin) / abs(dx) if dx else math.inf,
            ((y1 - y0) / 2 + margin) / abs(dy) if dy else math.inf, 1.0)
    return cx + t * dx, cy + t * dy


def _panel_edges(trace, panels, grads, in_view):
    """{(source panel title, result panel title): Σ|gradient| carried back between them}."""
    title_of = {}
    for p in panels:
        for n in p.nodes[p.nodes >= 0].tolist():
            title_of[n] = p.title
    edges = {}

    def add(a, b, flow):
        if a is not None and b is not None and a != b:
            edges[(a, b)] = edges.get((a, b), 0.0) + flow

    graph = trace.graph
    attrs, pred = graph._node, graph._pred
    internal = np.zeros(len(attrs), dtype=bool)
    for rec in trace.convs:
        internal[rec.mul[rec.mul >= 0]] = True
        internal[rec.add[rec.add >= 0]] = True
        s = rec.spec
        N, O, Cg, OH, OW, KH, KW = s.N, s.O, s.Cg, s.OH, s.OW, s.KH, s.KW
        Og = O // s.groups
        y4 = rec.y.nodes.reshape(N, O, OH, OW)
        x4 = rec.x.nodes.reshape(N, s.C, s.H, s.W)
        w4 = rec.w.nodes.reshape(O, Cg, KH, KW)
        dy = np.abs(np.array([grads(int(n)) if grads.has else 0.0 for n in y4.ravel()]).reshape(N, O, OH, OW))
        if grads.step is not None:  # a step view: only what has been pushed back so far
            dy = dy * (y4 >= grads.cut)
        valid = rec.mul >= 0  # (N, O, OH, OW, Cg, KH, KW)
        wv = np.abs(rec.w.data.reshape(O, Cg, KH, KW))
        rows, rows_ok, cols, cols_ok = s.taps()
        xv = np.abs(rec.x.data.reshape(N, s.C, s.H, s.W))
        r = np.clip(rows, 0, s.H - 1)  # (OH, KH)
        q = np.clip(cols, 0, s.W - 1)  # (OW, KW)
        for n in range(N):
            for o in range(O):
                yt = title_of.get(int(y4[n, o, 0, 0]))
                for c in range(Cg):
                    cin = (o // Og) * Cg + c
                    v = valid[n, o, :, :, c]  # (OH, OW, KH, KW)
                    to_x = float(np.einsum("ij,ijuv,uv->", dy[n, o], v, wv[o, c]))
                    patch = xv[n, cin][r[:, None, :, None], q[None, :, None, :]]  # (OH, OW, KH, KW)
                    to_w = float(np.einsum("ij,ijuv,ijuv->", dy[n, o], v, patch))
                    add(title_of.get(int(x4[n, cin, 0, 0])), yt, to_x)
                    add(title_of.get(int(w4[o, c, 0, 0])), yt, to_w)
                if rec.b is not None:
                    add(title_of.get(int(rec.b.nodes.ravel()[o])), yt, float(dy[n, o].sum()))
    # Everything else: follow each node back to the panels it comes from.
    # The weight of such an arrow is everything its source tensor received: Σ|gradient| of its
    # elements (none for constants, which get no gradient use).
    received = {}
    for p in panels:
        ids = [int(n) for n in p.nodes[p.nodes >= 0] if in_view(int(n))]
        received[p.title] = (sum(abs(grads(n)) for n in ids)
                             if grads.has and not all(attrs[n]["op"] == "const" for n in ids) else 0.0)
    origins = {}
    internal[list(title_of)] = False  # an output element (the last add of its sum) is a tensor's cell
    pairs = set()
    for n in np.flatnonzero(~internal).tolist():
        own = title_of.get(n)
        srcs = set()
        for p in pred[n]:
            srcs |= origins.get(p, set())
        if own is not None:
            pairs |= {(s_, own) for s_ in srcs if s_ != own}
            origins[n] = {own}
        else:
            origins[n] = srcs
    for a, b in sorted(pairs):
        if (a, b) not in edges:
            add(a, b, received[a])
    return edges
