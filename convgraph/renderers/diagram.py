"""Graphviz diagrams of a Trace with gradient heat: the full scalar graph, focus views, a collapsed
view for big traces and a node-by-node step view, all at positions pinned from the shared layout.

:func:`to_digraph` builds the DOT text and never runs a program; :func:`render_graph` is the one
place that runs Graphviz (``dot -Kneato -n2``: Graphviz draws at the given positions and does no
layout of its own, which is what keeps a 10,000-node picture to seconds). The full and step views
are drawn here, the collapsed view in :mod:`.diagram_collapsed`; both build on :mod:`.dotparts`.

>>> import numpy as np, convgraph as cg
>>> trace = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
>>> _ = trace.backward()
>>> dg = to_digraph(trace, focus=("w", (1, 1)))
>>> dg.source.count('label="×"')
9
"""

from __future__ import annotations

import logging
import numbers
import os
import subprocess
from pathlib import Path

import numpy as np

from . import style
from .diagram_collapsed import collapsed_view
from .dotparts import caption, digraph, esc, legend, note_extent, Numbers, Painter
from .layout import layout
from .writers import into_place

__all__ = ["to_digraph", "render_graph", "MissingProgramError", "NODE_BUDGET", "FORMATS"]

log = logging.getLogger(__name__)

#: ``detail="auto"`` draws every scalar node up to this many, and the collapsed view above it.
NODE_BUDGET = 1500
#: Output formats of :func:`render_graph`, by file suffix.
FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
_HEATS = ("grad", "signed", None)
_DETAILS = ("auto", "full", "collapsed")
_LEAF_OPS = ("input", "weight", "bias", "const")
_OP_SYMBOL = {"mul": "×", "add": "+", "sub": "−", "div": "÷", "neg": "−", "pow": "^", "relu": "ReLU",
              "max": "max", "exp": "exp", "log": "log", "tanh": "tanh", "const": "c", "input": "in"}
_GHOST_LIMIT = 400  # context cells of a focus view, at most
_INSTALL = ("install Graphviz: sudo apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
            "(macOS) or conda install -c conda-forge graphviz")


class MissingProgramError(RuntimeError):
    """Graphviz's ``dot`` program is needed for this format and is not installed."""


# ---- checking the options -------------------------------------------------------------------------
def _check(trace, focus, heat, step, detail):
    from ..tracer.trace import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a convgraph Trace, got {type(trace).__name__}")
    if heat == "none":
        heat = None
    if heat is not None and not isinstance(heat, str):
        raise TypeError(f"heat must be 'grad', 'signed' or None, got {heat!r}")
    if heat not in _HEATS:
        raise ValueError(f"heat must be 'grad', 'signed' or None, got {heat!r}")
    if not isinstance(detail, str):
        raise TypeError(f"detail must be 'auto', 'full' or 'collapsed', got {detail!r}")
    if detail not in _DETAILS:
        raise ValueError(f"detail must be 'auto', 'full' or 'collapsed', got {detail!r}")
    count = trace.graph.number_of_nodes()
    if step is not None:
        if not isinstance(step, (numbers.Integral, np.integer)) or isinstance(step, (bool, np.bool_)):
            raise TypeError(f"step must be an int (a step of trace.steps()), got {step!r}")
        if not 0 <= step < count:
            raise ValueError(f"step must be in 0..{count - 1} (one step per node), got {step}")
        step = int(step)
    if focus is not None:
        focus = _focus_target(trace, focus)
    return focus, heat, step, detail


def _focus_target(trace, focus):
    """(name, full index, node) of ``focus=(name, index)``; a 2-D index is enough for 2-D grids."""
    if not (isinstance(focus, (tuple, list)) and len(focus) == 2 and isinstance(focus[0], str)):
        raise TypeError(f"focus must be (tensor name, index), like ('w', (1, 1)), got {focus!r}")
    name, index = focus
    if name not in trace.tensors:
        raise ValueError(f"focus names tensor {name!r}, but this trace has {list(trace.tensors)}")
    t = trace.tensors[name]
    idx = (index,) if isinstance(index, (numbers.Integral, np.integer)) else index
    if not isinstance(idx, (tuple, list)) or not all(
            isinstance(i, (numbers.Integral, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in idx):
        raise TypeError(f"focus index must be a tuple of ints, like (1, 1), got {index!r}")
    idx = tuple(int(i) for i in idx)
    if len(idx) == 2 and t.ndim > 2 and all(s == 1 for s in t.shape[:-2]):
        idx = (0,) * (t.ndim - 2) + idx  # the short 2-D form
    if len(idx) != t.ndim or any(not 0 <= i < s for i, s in zip(idx, t.shape)):
        raise ValueError(f"focus index {index!r} is not an element of {name} with shape {t.shape}")
    return name, idx, int(t.nodes[idx])


# ---- which nodes a view shows ---------------------------------------------------------------------
def _conv_of(trace, name):
    for rec in trace.convs:
        if name in (rec.x.name, rec.w.name, rec.y.name) or (rec.b is not None and name == rec.b.name):
            return rec
    return None


def _focus_nodes(trace, target):
    """Nodes of a focus view, and the edges it draws as elided paths (an add ⇢ the output it ends in)."""
    name, idx, node = target
    graph = trace.graph
    pred, succ = graph._pred, graph._succ
    rec = _conv_of(trace, name)
    shown, elided = {node}, []
    if rec is None:  # any other tensor: its neighbourhood
        shown |= set(pred[node]) | set(succ[node])
        return shown, elided, f"{trace.label(node)} with its operands and results"
    spec = rec.spec
    y4 = rec.y.nodes.reshape(spec.N, spec.O, spec.OH, spec.OW)
    if name == rec.y.name:
        n, o, i, j = np.unravel_index(int(np.flatnonzero(rec.y.nodes.ravel() == node)[0]), y4.shape)
        muls, adds = rec.mul[n, o, i, j], rec.add[n, o, i, j]
        for m in muls[muls >= 0].tolist() + adds[adds >= 0].tolist():
            shown.add(m)
            shown |= set(pred[m])
        k = int((muls >= 0).sum())
        return shown, elided, (f"{trace.label(node)}: its {k} multiply-add{'s' * (k != 1)}, input patch "
                               f"and kernel")
    if name == rec.x.name or name == rec.w.name:
        muls = [m for m in succ[node] if graph._node[m]["op"] == "mul"]
        where = np.isin(rec.mul, muls)  # (N, O, OH, OW, Cg, KH, KW)
        outs = y4[np.nonzero(where)[:4]].tolist()
        ids = rec.mul[where].tolist()
        by_mul = dict(zip(ids, outs))
        for m in muls:
            shown.add(m)
            shown |= set(pred[m])
            y = by_mul[m]
            shown.add(y)
            for a in succ[m]:
                shown.add(a)
                if a != y:
                    elided.append((a, y))
        k = len(muls)
        if name == rec.w.name:
            what = (f"{trace.label(node)}: the {k} multipl{'ies' if k != 1 else 'y'} that share it; "
                    f"d{trace.label(node)} is the sum of what they send back")
        else:
            what = (f"{trace.label(node)}: the {len(set(outs))} output{'s' * (len(set(outs)) != 1)} it feeds; "
                    f"d{trace.label(node)} gathers their gradients through the flipped kernel")
        return shown, elided, what
    # the bias: the first add of every sum of its filter
    adds = list(succ[node])
    where = np.isin(rec.add, adds)  # (N, O, OH, OW, Cg, KH, KW)
    by_add = dict(zip(rec.add[where].tolist(), y4[np.nonzero(where)[:4]].tolist()))
    for a in adds:
        shown.add(a)
        shown |= set(pred[a])
        y = by_add.get(a, a)  # an output whose taps all fall on padding: y is the add itself
        shown.add(y)
        if y != a:
            elided.append((a, y))
    return shown, elided, f"{trace.label(node)}: every sum it starts"


# ---- gradients: final, at a step, or none ---------------------------------------------------------
class _Grads:
    """The gradient of each node as the picture shows it, and the flow along each edge."""

    def __init__(self, trace, step):
        self.trace = trace
        graph = trace.graph
        self.attrs, self.succ, self.pred = graph._node, graph._succ, graph._pred
        self.step = step
        self.has = trace.has_grad or step is not None
        self.final = None
        self.cut = None
        if step is not None:
            count = len(self.attrs)
            self.cut = count - 1 - step  # steps visit node ids count-1, count-2, ...: visited <=> id >= cut
            dY = trace.dY if trace.has_grad else np.ones(trace.output.shape)
            self.seeds = dict(zip(trace.output.nodes.ravel().tolist(), np.asarray(dY, dtype=float).ravel().tolist()))
            if not trace.has_grad:
                self.final = self._backward(self.seeds)
        self._cache = {}

    def _backward(self, seeds):
        """Final gradients without touching the graph (the step view before any backward)."""
        attrs, pred = self.attrs, self.pred
        g = dict.fromkeys(attrs, 0.0)
        for n, v in seeds.items():
            g[n] = v
        for n in reversed(attrs):
            gn = g[n]
            if gn:
                for p, e in pred[n].items():
                    g[p] += gn * e["local"]
        return g

    def final_grad(self, n):
        return self.final[n] if self.final is not None else self.attrs[n]["grad"]

    def visited(self, n):
        return self.cut is not None and n >= self.cut

    def __call__(self, n):
        """The gradient node ``n`` holds in this picture (partial, in a step view, until it is visited)."""
        if self.cut is None or n >= self.cut:
            return self.final_grad(n)
        g = self._cache.get(n)
        if g is None:
            g = self.seeds.get(n, 0.0)
            for s, e in self.succ[n].items():
                if s >= self.cut:
                    g += self.final_grad(s) * e["local"]
            self._cache[n] = g
        return g

    def flow(self, u, v):
        """The gradient sent back along edge u → v: grad(v) · local, once v has been processed."""
        if self.cut is not None and v < self.cut:
            return 0.0
        return self.final_grad(v) * self.succ[u][v]["local"]


# ---- text ------------------------------------------------------------------------------------------


def _pt(slots, slot_pt):
    return slots * slot_pt


def _shape_text(shape):
    return "×".join(str(s) for s in shape)


def _caption_head(trace):
    rec = trace.conv
    if rec is None:
        return f"{trace.output.name} ({_shape_text(trace.output.shape) or 'a scalar'})"
    s = rec.spec
    extras = []
    if s.stride != (1, 1):
        extras.append(f"stride {s.stride[0]}" if s.stride[0] == s.stride[1] else f"stride {s.stride}")
    if any(s.padding):
        extras.append("padding " + ",".join(str(p) for p in sorted(set(s.padding))))
    if s.dilation != (1, 1):
        extras.append(f"dilation {s.dilation[0]}" if s.dilation[0] == s.dilation[1] else f"dilation {s.dilation}")
    if s.groups != 1:
        extras.append(f"groups {s.groups}")
    head = (f"x {_shape_text(s.x_shape)} ⊛ w {_shape_text(s.w_shape)}"
            f"{' + b' if rec.b is not None else ''} → y {_shape_text(s.y_shape)}")
    if extras:
        head += " (" + ", ".join(extras) + ")"
    if len(trace.convs) > 1 or trace.output.name != rec.y.name:
        head += f" → … → {trace.output.name}"
    return head


def _dy_text(trace, grads):
    if not grads.has:
        return None
    dY = trace.dY if trace.dY is not None else np.ones(trace.output.shape)
    name = trace.output.name
    if np.all(dY == 1):
        return f"∂loss/∂{name} = ones" if np.ndim(dY) else f"∂loss/∂{name} = 1"
    return f"∂loss/∂{name} given"


# ---- the pieces of a picture ----------------------------------------------------------------------


def _panel_frame(dg, key, box, title, slot_pt):
    """A dashed rounded outline around a panel and its title just above."""
    d = style.DIAGRAM
    x0, y0, x1, y1 = box
    pad = 0.35
    w, h = (x1 - x0 + 2 * pad) * slot_pt / 72, (y1 - y0 + 2 * pad) * slot_pt / 72
    cx, cy = (x0 + x1) / 2 * slot_pt, (y0 + y1) / 2 * slot_pt
    dg.node(f"frame{key}", label="", shape="box", style="rounded,dashed", color=d["panel_outline"],
            width=f"{w:.3f}", height=f"{h:.3f}", fixedsize="true", pos=f"{cx:.1f},{cy:.1f}!",
            penwidth="1")
    if title:
        ty = (y1 + pad) * slot_pt + d["title_font_pt"] * 0.9
        dg.node(f"title{key}", label=title, shape="plaintext", fontsize=str(d["title_font_pt"]),
                pos=f"{cx:.1f},{ty:.1f}!", width="0.1", height="0.1", margin="0.04,0.02",
                style="filled", fillcolor=style.BACKGROUND)


# ---- the full view --------------------------------------------------------------------------------
def _full(trace, shown, elided, grads, heat, caption_lines, focus_node):
    """Every node of ``shown`` at its layout position (empty stretches closed), panels framed."""
    d = style.DIAGRAM
    slot_pt = d["slot_inch"] * 72
    leaf = d["leaf_size"]
    attrs = trace.graph._node
    succ = trace.graph._succ
    shown = sorted(shown)
    shown_set = set(shown)
    lay = layout(trace, shown, leaf_size=leaf)

    # Context cells of a focus view: the rest of each touched tensor panel, greyed.
    ghosts = []
    if focus_node is not None:
        panels = [p for p in lay.panels if p.kind == "tensor" and np.isin(p.nodes, shown).any()]
        extra = [int(n) for p in panels for n in p.nodes.ravel() if n >= 0 and int(n) not in shown_set]
        if len(extra) <= _GHOST_LIMIT:
            ghosts = extra
            lay = layout(trace, shown + ghosts, leaf_size=leaf)

    edges = [(u, v) for u in shown for v in succ[u] if v in shown_set]
    # Constants (targets, literals) get no gradient use: no heat, no ∂, and out of the scale.
    const = {n for n in shown if attrs[n]["op"] == "const"}
    g = {n: grads(n) for n in shown if n not in const} if grads.has else None
    flows = {e: (0.0 if e[0] in const else grads.flow(*e)) for e in edges} if grads.has else None
    elided_flow = {(a, y): (g[a] if g else 0.0) for a, y in elided}
    if grads.has:
        scale_values = list(g.values()) + list(flows.values())
        if grads.step is not None:  # a film keeps one scale: the final gradients
            scale_values = [grads.final_grad(n) for n in shown if n not in const]
        scale = style.HeatScale.for_values(scale_values, signed=heat == "signed", spread=True)
    else:
        scale = style.HeatScale(1.0)
    numbers = Numbers([attrs[n]["value"] for n in shown] + (list(g.values()) if g else []))
    paint = Painter(scale, heat)

    dg = digraph("convgraph", caption(caption_lines))
    pos = _squeeze(lay.pos, (leaf[0] + 3.0, leaf[1] + 2.5))  # a focus view closes the empty stretches
    members = {}
    for n in pos:
        members.setdefault(lay.panel_of[n], []).append(n)
    for k in sorted(members):
        p = lay.panels[k]
        if p.title is None:  # the one-node cells of a scalar graph: no frame
            continue
        half = (leaf[0] / 2, leaf[1] / 2) if p.kind == "tensor" else (0.5, 0.5)
        xs = [pos[n][0] for n in members[k]]
        ys = [pos[n][1] for n in members[k]]
        box = (min(xs) - half[0], min(ys) - half[1], max(xs) + half[0], max(ys) + half[1])
        _panel_frame(dg, k, box, p.title, slot_pt)

    leaf_w = leaf[0] * d["slot_inch"] * 0.92
    leaf_h = leaf[1] * d["slot_inch"] * 0.78
    for n in ghosts:
        x, y = pos[n]
        dg.node(f"n{n}", label=esc(trace.label(n)), shape="box", style="rounded,filled",
                fillcolor=d["ghost"] + d["ghost_alpha"], color=d["ghost"], fontcolor=d["ghost_text"],
                fontsize=str(d["leaf_font_pt"] - 1), width=f"{leaf_w:.3f}", height=f"{leaf_h:.3f}",
                fixedsize="true", pos=f"{x * slot_pt:.1f},{y * slot_pt:.1f}!")
    for n in shown:
        a = attrs[n]
        x, y = pos[n]
        pin = f"{x * slot_pt:.1f},{y * slot_pt:.1f}!"
        gn = g.get(n) if g else None
        visited = grads.visited(n)
        waiting = grads.step is not None and not visited
        if grads.has and not waiting and gn is not None:
            fill, ink = paint.fill(gn)
        else:
            fill, ink = style.NO_GRAD, style.INK
        value = numbers(a["value"])
        tip = f"{trace.label(n)} = {value}" + (f", ∂ {numbers(gn)}" if gn is not None else "")
        extra = {}
        if n == focus_node:
            extra = {"penwidth": "4", "color": d["focus_outline"]}
        if grads.step is not None and n == grads.cut:
            extra = {"penwidth": "5", "color": style.CURRENT}
        if "tensor" in a:
            line2 = value if gn is None else f"{value} | ∂ {numbers(gn)}"
            label = (f'<<FONT POINT-SIZE="{d["leaf_font_pt"] + 1}"><B>{esc(trace.label(n))}</B></FONT>'
                     f'<BR/>{esc(line2)}>')
            outline = style.OP_COLORS.get(a["op"], style.OP_COLORS["output"]) if a["op"] in _LEAF_OPS \
                else style.OP_COLORS["output"]
            attrs_ = dict(shape="box", style="rounded,filled" + (",dashed" if waiting else ""), fillcolor=fill,
                          fontcolor=ink, color=outline, penwidth="2.2", fontsize=str(d["leaf_font_pt"]),
                          width=f"{leaf_w:.3f}", height=f"{leaf_h:.3f}", margin="0.03,0.02")
        else:
            sym = _OP_SYMBOL.get(a["op"], a["op"])
            size = d["op_inch"] if len(sym) == 1 else d["op_inch"] * (0.55 + 0.28 * len(sym))
            attrs_ = dict(label=sym, shape="circle" if len(sym) == 1 else "ellipse",
                          style="filled" + (",dashed" if waiting else ""), fillcolor=fill, fontcolor=ink,
                          color=style.OP_COLORS.get(a["op"], style.INK), fontsize=str(d["op_font_pt"]),
                          width=f"{size:.3f}", height=f"{d['op_inch']:.3f}", fixedsize="true", margin="0")
            label = None
        attrs_.update(extra)
        if label is not None:
            attrs_["label"] = label
        dg.node(f"n{n}", pos=pin, tooltip=tip, **attrs_)

    for u, v in edges:
        if grads.has:
            color, width = paint.edge(flows[(u, v)])
            tip = f"{trace.label(v)} → {trace.label(u)}: ∂ {numbers(flows[(u, v)])}"
        else:
            color, width, tip = d["no_flow_edge"], d["edge_pt"][0] + 0.3, f"{trace.label(u)} → {trace.label(v)}"
        dg.edge(f"n{u}", f"n{v}", color=color, penwidth=str(width), tooltip=tip)
    for a_, y in sorted(elided):
        flow = elided_flow[(a_, y)]  # what has reached the add so far: all of y's gradient once walked
        color, width = paint.edge(flow) if grads.has else (d["no_flow_edge"], d["edge_pt"][0] + 0.3)
        dg.edge(f"n{a_}", f"n{y}", color=color, penwidth=str(width), style="dashed",
                tooltip=f"{trace.label(a_)} ⇢ … ⇢ {trace.label(y)} (the rest of the sum, not drawn)")

    if grads.has:
        _place_legend(dg, pos, slot_pt, legend(scale, heat))
    note_extent(dg, pos, slot_pt)
    return dg


def _squeeze(pos, max_gap):
    """Positions with every empty stretch wider than ``max_gap`` (x, y) shrunk to it, order kept."""
    if not pos:
        return {}
    out = {}
    maps = []
    for axis, gap in enumerate(max_gap):
        u = np.unique(np.round([p[axis] for p in pos.values()], 6))
        new = np.concatenate([[0.0], np.cumsum(np.minimum(np.diff(u), gap))]) + u[0]
        maps.append(dict(zip(u.tolist(), new.tolist())))
    mx, my = maps
    for n, (x, y) in pos.items():
        out[n] = (mx[round(x, 6)], my[round(y, 6)])
    return out


def _place_legend(dg, pos, slot_pt, label):
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    if not xs:
        xs, ys = [0.0], [0.0]
    x1, y0 = max(xs), min(ys)
    dg.node("legend", label=label, shape="plaintext", fontsize=str(style.DIAGRAM["legend_font_pt"]),
            pos=f"{(x1 - 6.0) * slot_pt:.1f},{(y0 - 3.2) * slot_pt:.1f}!", margin="0")


# ---- the collapsed view ---------------------------------------------------------------------------


# ---- the public functions -------------------------------------------------------------------------
def to_digraph(trace, *, focus=None, heat="grad", step=None, detail="auto"):
    """The DOT picture of ``trace`` with gradient heat, as a ``graphviz.Digraph`` (no program runs).

    Nodes sit where :func:`convgraph.renderers.layout.layout` puts them (pinned ``pos="x,y!"``);
    the returned Digraph renders, and shows inline in Jupyter, with ``neato -n2``.

    Parameters
    ----------
    trace : Trace
    focus : (str, tuple of int), optional
        ``("y", (i, j))``: the multiply-adds of one output, its input patch and the kernel.
        ``("w", (u, v))``: every multiply that uses one shared weight. ``("x", (i, j))``: every
        output one input element feeds. Any tensor name of the trace works; a 2-D index is enough
        when the leading axes have size 1.
    heat : {"grad", "signed", None}
        Node fill by |gradient| (viridis), by signed gradient (diverging), or no heat. One scale per
        picture, stated by the colour bar; it turns square-root when one gradient dwarfs the rest.
    step : int, optional
        Show the state after step ``step`` of ``trace.steps()``: that node outlined in red, the
        visited nodes with their (final) gradients in heat, the others plain and dashed with what
        they have received so far; arrows carry colour only once they have been walked.
    detail : {"auto", "full", "collapsed"}
        ``"full"`` draws every scalar node; ``"collapsed"`` one heat-map cell per tensor element and
        one arrow per pair of tensors; ``"auto"`` is full up to :data:`NODE_BUDGET` nodes.

    Returns
    -------
    graphviz.Digraph

    Raises
    ------
    TypeError, ValueError
        For a bad option, naming it and the value.
    """
    focus, heat, step, detail = _check(trace, focus, heat, step, detail)
    grads = _Grads(trace, step)
    count = trace.graph.number_of_nodes()
    if focus is not None:
        shown, elided, what = _focus_nodes(trace, focus)
        focus_node = focus[2]
    else:
        shown, elided, what, focus_node = None, [], None, None
    n_shown = count if shown is None else len(shown)
    collapsed = detail == "collapsed" or (detail == "auto" and n_shown > NODE_BUDGET)
    if not collapsed and n_shown > 10 * NODE_BUDGET:
        log.warning("detail='full' draws %s scalar nodes: the DOT text and Graphviz may take minutes; "
                    "detail='auto' collapses above %s", f"{n_shown:,}", f"{NODE_BUDGET:,}")

    lines = [f"<B>{esc(_caption_head(trace))}</B>"]
    if what:
        lines.append(esc("focus " + what))
    if shown is None:
        counts = trace.counts()
    else:
        counts = {}
        for n in shown:
            op = trace.graph._node[n]["op"]
            counts[op] = counts.get(op, 0) + 1
    if collapsed:
        why = (f"{n_shown:,} nodes are over the budget of {NODE_BUDGET:,}" if detail == "auto"
               else f"{n_shown:,} nodes")
        lines.append(esc(f"collapsed view ({why}): one cell per tensor element, one arrow per pair of "
                          f"tensors; detail='full' draws every node"))
    else:
        parts = ", ".join(f"{counts[op]:,} {_OP_SYMBOL.get(op, op) if op in ('mul', 'add') else op}"
                          for op in sorted(counts, key=lambda o: (o not in _LEAF_OPS, o)))
        lines.append(esc(f"{'full graph' if shown is None else 'focus view'}: {n_shown:,} of {count:,} "
                          f"scalar nodes ({parts})"))
    if step is not None:
        node = count - 1 - step
        lines.append(esc(f"step {step} of {count - 1}: processing {trace.label(node)} "
                          f"(∂ {grads(node):.4g}); {step} nodes done, outlined dashed = still waiting"))
    if grads.has:
        lines.append(esc(f"after backward with {_dy_text(trace, grads)}"))
    else:
        lines.append(esc("before backward: no gradients yet (run trace.backward() to see the heat)"))

    if collapsed:
        return collapsed_view(trace, shown, grads, heat, lines, focus_node)
    nodes = range(count) if shown is None else shown
    return _full(trace, nodes, elided, grads, heat, lines, focus_node)


def _png_dpi(dg):
    """The diagram's PNG resolution, lowered for a big drawing so its longer side stays bounded."""
    d = style.DIAGRAM
    w, h = getattr(dg, "convgraph_extent_inch", (1.0, 1.0))
    return max(min(d["png_dpi"], d["png_max_px"] / max(w, h, 1e-9)), 24)


def render_graph(trace, path, **options):
    """Write the picture of :func:`to_digraph` to ``path``: .svg, .png, .pdf, or .dot/.gv (DOT text).

    The file is written under a temporary name and renamed into place. ``.dot``/``.gv`` need no
    program; the other formats run Graphviz (``dot -Kneato -n2``).

    Parameters
    ----------
    trace : Trace
    path : str or os.PathLike
    **options
        ``focus``, ``heat``, ``step``, ``detail``, as for :func:`to_digraph`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an unknown suffix or a bad option.
    FileNotFoundError
        When the folder of ``path`` does not exist.
    MissingProgramError
        When Graphviz's ``dot`` is needed and not installed (the message says how to install it).
    RuntimeError
        When Graphviz fails.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"path must end in one of {', '.join(FORMATS)}, got {str(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    unknown = set(options) - {"focus", "heat", "step", "detail"}
    if unknown:
        raise TypeError(f"render_graph got unexpected option(s) {sorted(unknown)}; "
                        f"expected focus, heat, step, detail")
    dg = to_digraph(trace, **options)
    source = dg.source
    with into_place(path) as tmp:
        if suffix in (".dot", ".gv"):
            tmp.write_text(source, encoding="utf-8")
        else:
            fmt = suffix[1:]
            cmd = ["dot", "-Kneato", "-n2", f"-T{fmt}", "-o", str(tmp)]
            if fmt == "png":
                cmd.insert(3, f"-Gdpi={_png_dpi(dg):.0f}")
            try:
                done = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True)
            except FileNotFoundError as e:
                raise MissingProgramError(
                    f"writing {suffix} needs Graphviz's 'dot' program, which is not on PATH; {_INSTALL}. "
                    f"(.dot and .gv files need no program.)") from e
            if done.returncode != 0 or not tmp.exists():
                message = done.stderr.decode("utf-8", "replace").strip()
                raise RuntimeError(f"Graphviz failed writing {path.name} (exit {done.returncode}): {message}")
            if done.stderr:
                log.info("Graphviz: %s", done.stderr.decode("utf-8", "replace").strip())
    return path
