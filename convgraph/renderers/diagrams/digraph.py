"""The DOT picture of a Trace: options, the caption, and which view draws it (full or collapsed).

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

import numpy as np

from ... import tracer
from .. import style
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
    return (f"{walk.text(k)}: processing {trace.label(n)} (∂ {grads(n):.4g}); "
            f"{k} of {len(walk)} nodes visited, dashed = still waiting")


def _caption_lines(trace, focus, shown, n_shown, collapsed, detail, grads):
    lines = [f"<B>{esc(trace.describe())}</B>"]
    if focus is not None:
        lines.append(esc("focus " + focus.description))
    if collapsed:
        why = (f"{n_shown:,} nodes are over the budget of {NODE_BUDGET:,}" if detail == "auto"
               else f"{n_shown:,} nodes")
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


def to_digraph(trace, *, focus=None, heat="grad", step=None, detail="auto", dY=None):
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
    heat : {"grad", "signed", None}
        Node fill by |gradient| (viridis), by signed gradient (diverging), or no heat. One scale per
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
    grads = GradState(trace, step, dY)
    count = trace.graph.number_of_nodes()
    shown = None if focus is None else set(focus.nodes)
    n_shown = count if shown is None else len(shown)
    collapsed = detail == "collapsed" or (detail == "auto" and n_shown > NODE_BUDGET)
    if not collapsed and n_shown > 10 * NODE_BUDGET:
        log.warning("detail='full' draws %s scalar nodes: the DOT text and Graphviz may take minutes; "
                    "detail='auto' collapses above %s", f"{n_shown:,}", f"{NODE_BUDGET:,}")
    lines = _caption_lines(trace, focus, shown, n_shown, collapsed, detail, grads)
    focus_node = None if focus is None else focus.node
    if collapsed:
        return collapsed_view(trace, shown, grads, heat, lines, focus_node)
    elided = [] if focus is None else list(focus.elided)
    return full_view(trace, range(count) if shown is None else shown, elided, grads, heat, lines, focus_node)
