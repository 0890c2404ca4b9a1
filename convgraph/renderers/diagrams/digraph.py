"""The DOT picture of a Trace: options, the caption, and which view draws it (full or collapsed).

>>> import numpy as np, convgraph as cg
>>> trace = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
>>> _ = trace.backward()
>>> dg = to_digraph(trace, focus=("w", (1, 1)))
>>> dg.source.count('label="×"')
9
"""

from __future__ import annotations

import math

import logging
import numbers

import numpy as np

from ... import tracer
from .. import style
from ..numbers import Numbers, fmt
from .collapsed import collapsed_view
from .dot import esc
from .full import LEAF_OPS, OP_SYMBOL, full_view
from .state import GradState

__all__ = ["to_digraph", "NODE_BUDGET"]

log = logging.getLogger(__name__)

#: ``detail="auto"`` draws every scalar node up to this many, and the collapsed view above it.
NODE_BUDGET = style.NODE_BUDGET
_HEATS = ("grad", "signed", None)
_DETAILS = ("auto", "full", "collapsed")


def _check(trace, focus, heat, step, detail):
    if not isinstance(trace, tracer.Trace):
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
            raise TypeError(f"step must be an int (step k of trace.walk(), 0 before the first), got {step!r}")
        if not 0 <= step <= count:
            raise ValueError(f"step must be in 0..{count} (one step per node, 0 before the first), got {step}")
        step = int(step)
    if focus is not None:
        focus = tracer.focus(trace, focus)
    return focus, heat, step, detail


def _counts_text(trace, shown, n_shown):
    nodes = trace.graph.nodes
    if shown is None:
        counts = trace.counts()
    else:
        counts = {}
        for n in shown:
            op = nodes[n]["op"]
            counts[op] = counts.get(op, 0) + 1
    parts = ", ".join(f"{counts[op]:,} {OP_SYMBOL.get(op, op) if op in ('mul', 'add') else op}"
                      for op in sorted(counts, key=lambda o: (o not in LEAF_OPS, o)))
    return (f"{'full graph' if shown is None else 'focus view'}: {n_shown:,} of {trace.graph.number_of_nodes():,} "
            f"scalar nodes ({parts})")


def _step_text(trace, grads):
    walk, k = grads.walk, grads.step
    if k == 0:
        return f"{walk.text(0)}: nothing visited yet, dY seeds the outputs; dashed = still waiting"
    n = grads.current
    return (f"{walk.text(k)}: processing {trace.name(n)} (∂ {fmt(grads(n))}); "
            f"{k} of {len(walk)} nodes visited, dashed = still waiting")


def _wrap(text, width=96):
    """``text`` broken after a `` + `` or `` − `` so no line passes ``width`` characters."""
    lines, line = [], ""
    for part in text.replace(" + ", " +\0").replace(" − ", " −\0").split("\0"):
        if line and len(line) + len(part) > width:
            lines.append(line.rstrip())
            line = "    "
        line += part + " "
    return lines + [line.rstrip()]


def _signed_sum(values, fmt):
    """``6 + 7 − 2 + … + 18``: the terms in order, subtraction written as such; past 12 terms the
    first 8 and last 2 with the count."""
    shown = list(values) if len(values) <= 12 else list(values[:8]) + [None] + list(values[-2:])
    out = ""
    for k, v in enumerate(shown):
        if v is None:
            out += " + …"
            continue
        text = fmt(abs(v))
        out += (("-" if v < 0 and fmt(v) != fmt(0.0) else "") + text if k == 0
                else (" − " if v < 0 and fmt(v) != fmt(0.0) else " + ") + text)
    return out + (f"  ({len(values)} terms)" if len(values) > 12 else "")


def sum_lines(trace, focus, grads):
    """A weight, input or bias focus after backward states its gradient as the sum of what each
    arrow sends back: ``∂loss/∂w[1,1] = 6 + 7 + 8 + 11 + 12 + 13 + 16 + 17 + 18 = 108``, after a
    line saying what each term is (for an input: ``dY[0,0]·w[2,2] + dY[0,1]·w[2,1] + …``, the
    kernel read in rotated order)."""
    if focus is not None and focus.kind == "output" and trace.conv_of(focus.tensor) is not None:
        return _forward_sum(trace, focus)
    if focus is None or not grads.has or grads.step is not None or focus.kind not in ("weight", "input", "bias"):
        return []
    node, graph = focus.node, trace.graph
    outs = sorted(graph.succ[node])
    amounts = [grads.flow(node, v, graph.succ[node][v]["local"]) for v in outs]
    fmt = Numbers(amounts + [grads(node)])
    name = trace.label(node)
    roles = [trace.conv_role(v) for v in outs]
    up = (lambda y: "dY[" + ",".join(map(str, graph.nodes[y]["index"])) + "]"
          if graph.nodes[y].get("tensor") == trace.output.name else f"∂loss/∂{trace.label(y)}")
    total = fmt(grads(node)) if len(amounts) == 1 else f"{_signed_sum(amounts, fmt)} = {fmt(grads(node))}"
    if focus.kind == "input" and all(roles):
        names = _signed_sum_names([f"{up(r.y)}·{trace.label(r.w)}" for r in roles])
        return _wrap(f"∂loss/∂{name} = {names}") + _wrap(f"= {total}")
    if focus.kind == "weight" and all(roles):
        what = f"(one term per position: dY there times the x that {name} reads, the label on its arrow)"
    else:
        what = f"(one term per arrow: what it sends back, its label)"
    return _wrap(f"∂loss/∂{name} = {total}") + [what]


def _forward_sum(trace, focus):
    """An output's focus states its dot product: ``y[1,1] = 2·1 + 6·0 + 8·(-1) + … = -16``."""
    rec = trace.conv_of(focus.tensor)
    taps = rec.taps()
    rows = np.flatnonzero(taps.y == focus.node)
    values = trace.graph.nodes
    pairs = [(values[int(w)]["value"], values[int(x)]["value"]) for w, x in zip(taps.w[rows], taps.x[rows])]
    fmt = Numbers([v for pair in pairs for v in pair] + [values[focus.node]["value"]])
    terms = [f"{fmt(w) if w >= 0 else '(' + fmt(w) + ')'}·{fmt(x) if x >= 0 else '(' + fmt(x) + ')'}" for w, x in pairs]
    if len(terms) > 12:
        terms = terms[:8] + ["…"] + terms[-2:]
    if rec.b is not None and rows.size:
        b = int(rec.b.nodes.ravel()[int(taps.out[rows[0]][1])])
        terms.append(f"{trace.label(b)} {fmt(values[b]['value'])}")
    return _wrap(f"{trace.label(focus.node)} = Σ w·x{' + b' if rec.b is not None else ''} = "
                 f"{' + '.join(terms) or '0'} = {fmt(values[focus.node]['value'])}")


def _signed_sum_names(names):
    if len(names) > 12:
        names = names[:8] + ["…"] + names[-2:]
    return " + ".join(names)


def _caption_lines(trace, focus, shown, n_shown, collapsed, detail, grads):
    lines = [f"<B>{esc(trace.describe())}</B>"]
    if focus is not None:
        lines.append(esc("focus " + focus.description))
        lines += [esc(line) for line in sum_lines(trace, focus, grads)]
    if collapsed:
        why = (f"{n_shown:,} nodes are over the budget of {NODE_BUDGET:,}" if detail == "auto" and n_shown > NODE_BUDGET
               else f"{n_shown:,} nodes are too many to read on a slide" if detail == "auto" else f"{n_shown:,} nodes")
        lines.append(esc(f"collapsed view ({why}): one cell per tensor element, one arrow per pair of "
                         f"slices that feed each other; detail='full' draws every node"))
    else:
        lines.append(esc(_counts_text(trace, shown, n_shown)))
    if grads.step is not None:
        lines.append(esc(_step_text(trace, grads)))
    if grads.has:
        lines.append(esc(f"after backward with {grads.seed_text(trace)}"))
    else:
        lines.append(esc("before backward: no gradients yet (run trace.backward() to see the heat)"))
    return lines


def to_digraph(trace, *, focus=None, heat="signed", step=None, detail="auto", dY=None, size=None):
    """The DOT picture of ``trace`` with gradient heat, as a ``graphviz.Digraph`` (no program runs).

    Nodes sit where :func:`convgraph.renderers.layout.layout` puts them (pinned ``pos="x,y!"``);
    the returned Digraph renders, and shows inline in Jupyter, with ``neato -n2``. The trace is
    only read: gradients come from the graph (after ``trace.backward()``) or from ``trace.walk()``.

    Parameters
    ----------
    trace : Trace
    focus : (str, tuple of int), optional
        ``("y", (i, j))``: the multiply-adds of one output, its input patch and the kernel.
        ``("w", (u, v))``: every multiply that uses one shared weight. ``("x", (i, j))``: every
        output one input element feeds. Any tensor name of the trace works; a 2-D index is enough
        when the leading axes have size 1 (see :func:`convgraph.focus`).
    heat : {"signed", "grad", None}
        Node fill by signed gradient (the diverging map every view uses for gradients: negative
        purple, positive orange; the default), by |gradient| (viridis), or no heat. One scale per
        picture, stated by the colour bar; it turns square-root when one gradient dwarfs the rest.
    step : int, optional
        Show the state after step ``step`` (0 … N) of ``trace.walk()`` — the same "step k of N" as
        ``convgraph step``, the HTML page and the notebook widget: that node outlined in red, the
        visited nodes with their (final) gradients in heat, the others plain and dashed with what
        they have received so far; arrows carry colour only once they have been walked. Step 0 is
        before the first step. The walk's seed is the trace's last dY, or ones.
    detail : {"auto", "full", "collapsed"}
        ``"full"`` draws every scalar node; ``"collapsed"`` one heat-map cell per tensor element and
        one arrow per pair of slices that feed each other; ``"auto"`` is full up to
        :data:`NODE_BUDGET` nodes.
    size : {None, "slide", "slide-720"}
        ``None``: the drawing's own size. ``"slide"`` (``"slide-720"``): drawn for a 16:9 slide,
        with larger type and arrows routed around the boxes; with ``detail="auto"`` the full graph
        is drawn only when every text stays at least 14 px tall on a 1920×1080 slide, else the
        collapsed view, and the caption says why. :func:`render_graph` then writes a PNG of exactly
        1920×1080 (1280×720) pixels.
    dY : array, optional
        The seed of the walk the picture shows (``trace.walk(dY)``): with ``step``, the walk it
        steps through; without, its final gradients instead of the ones on the graph. Default: the
        trace's last seed, else ones.

    Returns
    -------
    graphviz.Digraph

    Raises
    ------
    TypeError, ValueError
        For a bad option, naming it and the value.
    """
    focus, heat, step, detail = _check(trace, focus, heat, step, detail)
    size = _check_size(size)
    grads = GradState(trace, step, dY)
    with style.diagram_preset(size):
        return _draw(trace, focus, heat, grads, detail, size)


def _check_size(size):
    if size is not None and not isinstance(size, str):
        raise TypeError(f"size must be None, 'slide' or 'slide-720', got {type(size).__name__}: {size!r}")
    if size is not None and size not in style.SIZES:
        raise ValueError(f"size must be None, 'slide' or 'slide-720', got {size!r}")
    return size


def slide_text_px(dg):
    """The smallest text of diagram ``dg`` in pixels when the drawing is fitted to a 1920×1080 slide."""
    d = style.diagram()
    w, h = getattr(dg, "convgraph_page_pt", (1.0, 1.0))
    width, height = style.SIZES["slide"]
    smallest = min(d["leaf_font_pt"], d["op_font_pt"], d["legend_font_pt"], d["edge_label_font_pt"])
    return smallest * min(width / w, height / h)


def _draw(trace, focus, heat, grads, detail, size):
    count = trace.graph.number_of_nodes()
    shown = None if focus is None else set(focus.nodes)
    n_shown = count if shown is None else len(shown)
    collapsed = detail == "collapsed" or (detail == "auto" and n_shown > NODE_BUDGET)
    if not collapsed and n_shown > 10 * NODE_BUDGET:
        log.warning("detail='full' draws %s scalar nodes: the DOT text and Graphviz may take minutes; "
                    "detail='auto' collapses above %s", f"{n_shown:,}", f"{NODE_BUDGET:,}")
    lines = _caption_lines(trace, focus, shown, n_shown, collapsed, detail, grads)
    focus_node = None if focus is None else focus.node
    if not collapsed:
        elided = [] if focus is None else list(focus.elided)
        dg = full_view(trace, range(count) if shown is None else shown, elided, grads, heat, lines, focus_node)
        px = slide_text_px(dg)
        if size is None or detail == "full" or px >= style.MIN_SLIDE_TEXT_PX:
            return dg
        lines = _caption_lines(trace, focus, shown, n_shown, True, detail, grads)
        lines.insert(-1, esc(f"(drawn in full, its smallest text would be {math.floor(px * 10) / 10:g} px on a 1920×1080 slide, under "
                             f"{style.MIN_SLIDE_TEXT_PX:.0f}; a focus view or detail='full' shows every node)"))
    return collapsed_view(trace, shown, grads, heat, lines, focus_node)
