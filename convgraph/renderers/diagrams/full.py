"""The full Graphviz view: every scalar node of a trace (or of a focus) at its layout position, panels
framed, nodes filled by gradient heat and arrows as wide as the gradient they carry back."""

from __future__ import annotations

import numpy as np

from .. import style
from ..layout import layout
from ..numbers import Numbers
from .routes import Router
from .dot import caption, digraph, esc, highlight, legend, note_extent, Painter, panel_frame, place_legend, plain

__all__ = ["full_view", "OP_SYMBOL", "LEAF_OPS"]

LEAF_OPS = ("input", "weight", "bias", "const")
OP_SYMBOL = {"mul": "×", "add": "+", "sub": "−", "div": "÷", "neg": "−", "pow": "^", "relu": "ReLU",
             "max": "max", "exp": "exp", "log": "log", "tanh": "tanh", "const": "c", "input": "in"}


def full_view(trace, shown, elided, grads, heat, caption_lines, focus_node):
    """Every node of ``shown`` at its layout position (empty stretches closed), panels framed.

    ``elided`` lists (add, y) pairs drawn as one dashed arrow; ``grads`` is the picture's
    :class:`~convgraph.renderers.diagrams.state.GradState`; ``focus_node`` is outlined (and the
    rest of each touched tensor drawn as grey context cells).
    """
    d = style.diagram()
    slot_pt = d["slot_inch"] * 72
    leaf = d["leaf_size"]
    shown = sorted(shown)
    lay, ghosts = _positions(trace, shown, focus_node, leaf)
    pic = _Picture(trace, shown, elided, grads, heat, focus_node)
    dg = digraph("convgraph", caption(caption_lines), len(shown))
    pos = _squeeze(lay.pos, (leaf[0] + 3.0, leaf[1] + 2.5))  # a focus view closes the empty stretches
    _frames(dg, lay, pos, leaf, slot_pt)
    _ghosts(dg, trace, ghosts, pos, leaf, slot_pt)
    for n in shown:
        _node(dg, trace, pic, n, pos[n], slot_pt, focus_node)
    _edges(dg, trace, pic, _router(lay, pos, shown, ghosts, leaf, slot_pt))
    _rotated_kernel(dg, trace, focus_node, pos, leaf, slot_pt, pic)
    if grads.has:
        xs, ys = [p[0] for p in pos.values()] or [0.0], [p[1] for p in pos.values()] or [0.0]
        place_legend(dg, legend(pic.scale, heat), (max(xs) - 6.0) * slot_pt, (min(ys) - 3.2) * slot_pt)
    note_extent(dg, pos, slot_pt, len(caption_lines))
    return dg


class _Picture:
    """The gradients, flows, heat scale and number format of one full picture."""

    def __init__(self, trace, shown, elided, grads, heat, focus_node=None):
        graph = trace.graph
        self.focus_node = focus_node
        self.nodes, self.succ = graph.nodes, graph.succ
        self.shown, self.grads, self.heat = shown, grads, heat
        shown_set = set(shown)
        self.edges = [(u, v) for u in shown for v in self.succ[u] if v in shown_set]
        self.elided = elided
        # Constants (targets, literals) get no gradient use: no heat, no ∂, and out of the scale.
        self.const = {n for n in shown if self.nodes[n]["op"] == "const"}
        self.g = {n: grads(n) for n in shown if n not in self.const} if grads.has else None
        self.flows = ({e: 0.0 if e[0] in self.const else grads.flow(e[0], e[1], self.succ[e[0]][e[1]]["local"])
                       for e in self.edges} if grads.has else None)
        if grads.has:
            values = list(self.g.values()) + list(self.flows.values())
            if grads.step is not None:  # a film keeps one scale: the final gradients
                values = [grads.final_grad(n) for n in shown if n not in self.const]
            self.scale = style.HeatScale.for_values(values, signed=heat == "signed", spread=True)
        else:
            self.scale = style.HeatScale(1.0)
        self.numbers = Numbers([self.nodes[n]["value"] for n in shown] + (list(self.g.values()) if self.g else []))
        self.paint = Painter(self.scale, heat)

    def grad(self, n):
        return self.g.get(n) if self.g else None

    def labelled(self, u, v):
        """Whether arrow u → v carries its amount as a label: the arrows into a focus element."""
        return u == self.focus_node and self.grads.step is None

    def elided_flow(self, a):
        """What has reached the add of an elided path so far: all of y's gradient once walked."""
        return self.g[a] if self.g else 0.0


def _positions(trace, shown, focus_node, leaf):
    """The layout of the shown nodes, plus grey context cells (the rest of each touched tensor panel)
    for a focus view, when there are not too many."""
    lay = layout(trace, shown, leaf_size=leaf)
    ghosts = []
    if focus_node is not None:
        shown_set = set(shown)
        panels = [p for p in lay.panels if p.kind == "tensor" and np.isin(p.nodes, shown).any()]
        extra = [int(n) for p in panels for n in p.nodes.ravel() if n >= 0 and int(n) not in shown_set]
        if len(extra) <= style.diagram()["ghost_limit"]:
            ghosts = extra
            lay = layout(trace, shown + ghosts, leaf_size=leaf)
    return lay, ghosts


def _frames(dg, lay, pos, leaf, slot_pt):
    """A dashed frame around each panel's drawn nodes, titled (not for a scalar graph's one-node cells)."""
    members = {}
    for n in pos:
        members.setdefault(lay.panel_of[n], []).append(n)
    for k in sorted(members):
        p = lay.panels[k]
        if p.title is None:
            continue
        half = (leaf[0] / 2, leaf[1] / 2) if p.kind == "tensor" else (0.5, 0.5)
        xs = [pos[n][0] for n in members[k]]
        ys = [pos[n][1] for n in members[k]]
        panel_frame(dg, k, (min(xs) - half[0], min(ys) - half[1], max(xs) + half[0], max(ys) + half[1]),
                    p.title, slot_pt)


def _leaf_box():
    d = style.diagram()
    return d["leaf_size"][0] * d["slot_inch"] * 0.92, d["leaf_size"][1] * d["slot_inch"] * 0.78


def _ghosts(dg, trace, ghosts, pos, leaf, slot_pt):
    d = style.diagram()
    leaf_w, leaf_h = _leaf_box()
    for n in ghosts:
        x, y = pos[n]
        dg.node(f"n{n}", label=esc(trace.label(n)), shape="box", style="rounded,filled",
                fillcolor=d["ghost"] + d["ghost_alpha"], color=d["ghost"], fontcolor=d["ghost_text"],
                fontsize=str(d["leaf_font_pt"] - 1), width=f"{leaf_w:.3f}", height=f"{leaf_h:.3f}",
                fixedsize="true", pos=f"{x * slot_pt:.1f},{y * slot_pt:.1f}!")


def _node(dg, trace, pic, n, xy, slot_pt, focus_node):
    """One node: a labelled box for a tensor element, a small × / + (or op name) otherwise."""
    d = style.diagram()
    a = pic.nodes[n]
    grads = pic.grads
    gn = pic.grad(n)
    waiting = grads.waiting(n)
    if grads.has and not waiting and gn is not None:
        fill, ink = pic.paint.fill(gn)
    else:
        fill, ink = style.NO_GRAD, style.INK
    value = pic.numbers(a["value"])
    extra = {}
    if n == focus_node or (grads.step is not None and n == grads.current):
        extra = highlight()
    if "tensor" in a:
        line2 = value if gn is None else f"{value} | ∂ {pic.numbers(gn)}"
        leaf_w, leaf_h = _leaf_box()
        attrs = dict(label=(f'<<FONT POINT-SIZE="{d["leaf_font_pt"] + 1}"><B>{esc(trace.label(n))}</B></FONT>'
                            f'<BR/>{esc(line2)}>'),
                     shape="box", style="rounded,filled" + (",dashed" if waiting else ""), fillcolor=fill,
                     fontcolor=ink, color=style.OP_COLORS.get(a["op"] if a["op"] in LEAF_OPS else "output",
                                                              style.OP_COLORS["output"]),
                     penwidth="2.2", fontsize=str(d["leaf_font_pt"]), width=f"{leaf_w:.3f}", height=f"{leaf_h:.3f}",
                     margin="0.03,0.02")
    else:
        sym = OP_SYMBOL.get(a["op"], a["op"])
        size = d["op_inch"] if len(sym) == 1 else d["op_inch"] * (0.55 + 0.28 * len(sym))
        attrs = dict(label=sym, shape="circle" if len(sym) == 1 else "ellipse",
                     style="filled" + (",dashed" if waiting else ""), fillcolor=fill, fontcolor=ink,
                     color=style.OP_COLORS.get(a["op"], style.INK), fontsize=str(d["op_font_pt"]),
                     width=f"{size:.3f}", height=f"{d['op_inch']:.3f}", fixedsize="true", margin="0")
    attrs.update(extra)
    tip = f"{trace.label(n)} = {value}" + (f", ∂ {pic.numbers(gn)}" if gn is not None else "")
    x, y = xy
    dg.node(f"n{n}", pos=f"{x * slot_pt:.1f},{y * slot_pt:.1f}!", tooltip=plain(tip), **attrs)  # label goes first


def _router(lay, pos, shown, ghosts, leaf, slot_pt):
    """Routes through the gaps of the tensor grids (slide look only), else None: straight arrows."""
    d = style.diagram()
    if not d["route_edges"]:
        return None
    boxes = [n for n in list(shown) + list(ghosts) if lay.panels[lay.panel_of[n]].kind == "tensor"]
    leaf_w, leaf_h = _leaf_box()
    router = Router({n: (pos[n][0] * slot_pt, pos[n][1] * slot_pt) for n in boxes}, lay.panel_of,
                    (leaf_w * 72, leaf_h * 72), (leaf[0] * slot_pt, leaf[1] * slot_pt))
    radius = d["op_inch"] * 72 / 2

    def route(u, v):
        return router.pos(u, (pos[v][0] * slot_pt, pos[v][1] * slot_pt),
                          leaf_h * 36 if v in router.centres else radius, 10 * d["arrow_size"])
    return route


def _edges(dg, trace, pic, route=None):
    d = style.diagram()
    for u, v in pic.edges:
        if pic.grads.has:
            flow = pic.flows[(u, v)]
            color, width = pic.paint.edge(flow)
            tip = f"{trace.label(v)} → {trace.label(u)}: ∂ {pic.numbers(flow)}"
        else:
            color, width, tip = d["no_flow_edge"], d["edge_pt"][0] + 0.3, f"{trace.label(u)} → {trace.label(v)}"
        extra = {}
        if pic.grads.has and pic.labelled(u, v):  # a focus view says what each arrow sends back
            extra = dict(headlabel=plain(pic.numbers(pic.flows[(u, v)])), labelfontsize=str(d["edge_label_font_pt"]),
                         labelfontcolor=style.INK, labelfontname=style.FONT, labeldistance="2.2", labelangle="-35")
        path = route(u, v) if route is not None else None
        if path is not None:  # through the gaps of u's grid, not under its neighbours
            extra["pos"] = path
        dg.edge(f"n{u}", f"n{v}", color=color, penwidth=str(width), tooltip=plain(tip), **extra)
    for a, y in sorted(pic.elided):
        color, width = (pic.paint.edge(pic.elided_flow(a)) if pic.grads.has
                        else (d["no_flow_edge"], d["edge_pt"][0] + 0.3))
        dg.edge(f"n{a}", f"n{y}", color=color, penwidth=str(width), style="dashed",
                tooltip=plain(f"{trace.label(a)} ⇢ … ⇢ {trace.label(y)} (the rest of the sum, not drawn)"))


def _rotated_kernel(dg, trace, node, pos, leaf, slot_pt, pic):
    """An input's focus: beside W, the kernel rotated 180° as that input reads it (the weights it
    meets, each at the place of the dY it multiplies), so rot180 is seen, not only said. One
    channel's kernels only (a 2-D w). A transposed convolution's input reads W as it stamped it,
    unrotated: nothing to add."""
    rec = trace.conv
    if node is None or rec is None or trace.graph.nodes[node].get("tensor") != rec.x.name or rec.w.data.ndim != 2 \
            or rec.spec.transposed:
        return
    taps = rec.taps()
    used = set(taps.w[taps.x == node].tolist())
    w_nodes = rec.w.nodes
    placed = [pos[int(n)] for n in w_nodes.ravel() if int(n) in pos]
    if not used or not placed:
        return
    d = style.diagram()
    kh, kw = w_nodes.shape
    rows = [f'<TR><TD COLSPAN="{kw}"><B>{esc(rec.w.name)} rotated 180°, as {esc(trace.label(node))} reads it</B></TD></TR>']
    for r in range(kh):
        cells = []
        for c in range(kw):
            n = int(w_nodes[kh - 1 - r, kw - 1 - c])
            on = n in used
            fill = pic.paint.fill(pic.grad(n))[0] if on and pic.grad(n) is not None else (
                style.BACKGROUND if on else d["ghost"])
            ink = pic.paint.fill(pic.grad(n))[1] if on and pic.grad(n) is not None else (
                style.INK if on else d["ghost_text"])
            value = pic.numbers(trace.graph.nodes[n]["value"])
            cells.append(f'<TD BGCOLOR="{fill}" WIDTH="{leaf[0] * slot_pt * 0.8:.0f}" HEIGHT="{leaf[1] * slot_pt * 0.7:.0f}">'
                         f'<FONT COLOR="{ink}">{esc(trace.label(n))}<BR/>{esc(value)}</FONT></TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    x = max(p[0] for p in placed) + leaf[0] * (kw / 2 + 1.2)
    y = sum(p[1] for p in placed) / len(placed)
    dg.node("rot180", label="<<TABLE BORDER=\"1\" COLOR=\"" + d["panel_outline"] + "\" CELLBORDER=\"0\" CELLSPACING=\"3\">"
            + "".join(rows) + "</TABLE>>", shape="plaintext", fontsize=str(d["leaf_font_pt"]),
            pos=f"{x * slot_pt:.1f},{y * slot_pt:.1f}!", margin="0")


def _squeeze(pos, max_gap):
    """Positions with every empty stretch wider than ``max_gap`` (x, y) shrunk to it, order kept."""
    if not pos:
        return {}
    maps = []
    for axis, gap in enumerate(max_gap):
        u = np.unique(np.round([p[axis] for p in pos.values()], 6))
        new = np.concatenate([[0.0], np.cumsum(np.minimum(np.diff(u), gap))]) + u[0]
        maps.append(dict(zip(u.tolist(), new.tolist())))
    mx, my = maps
    return {n: (mx[round(x, 6)], my[round(y, 6)]) for n, (x, y) in pos.items()}
