"""The interactive backprop stepper: one self-contained, offline HTML page per trace.

The page embeds, as one JSON document, the graph (node ops, values and labels; positions from the
shared grid-anchored :func:`~convgraph.renderers.layout.layout`), the steps of one backward pass
(``trace.walk(dY)``, in its step numbering: the slider's k is "step k of N" everywhere), the
convolution records (for the forward mode's sliding window) and the colours of
:mod:`~convgraph.renderers.style`. The page's script and styles live in the package data file
``page.html``; it fetches nothing, so the file works from a USB stick.

The page writes its chain-rule lines and numbers in JavaScript, a copy of
:class:`~convgraph.renderers.steppers.text.StepText` and :func:`~convgraph.renderers.numbers.fmt`
kept word for word equal by the browser tests: embedding Python's lines for every step would make
the 3×16×16 ⊛ 4×3×3×3 page 3.4 times bigger (4.3 MB to 14.7 MB).

>>> import numpy as np, convgraph as cg, tempfile, pathlib
>>> t = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
>>> with tempfile.TemporaryDirectory() as d:
...     p = render_html(t, pathlib.Path(d) / "lesson.html")
...     p.name, p.stat().st_size < 2_000_000
('lesson.html', True)
"""

from __future__ import annotations

import html
import json
import logging
import math
import numbers
import os
import re
from importlib import resources
from pathlib import Path

import numpy as np

from .. import style
from ..files import output_path, write_text
from ..layout import layout

__all__ = ["render_html", "page_data"]

log = logging.getLogger(__name__)

_TEMPLATE = "page.html"
_DATA_MARK = "/*__CONVGRAPH_DATA__*/"
_TITLE_MARK = "__CONVGRAPH_TITLE__"
_CSS_MARK = "/*__CONVGRAPH_CSS__*/"


def _int_option(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(value)


def _num(v):
    """A float for JSON: finite, shortest repr (integers print without a fraction)."""
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"the page cannot show a non-finite number, got {v!r}")
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _colour_tables():
    """Colours of style.py for the page: named colours and sampled colour maps (hex, text colour)."""
    n = style.HTML["heat_stops"]

    def table(scale):
        cols, texts = [], []
        for i in range(n):
            g = scale.value_at(i / (n - 1))
            cols.append(scale.hex(g))
            texts.append(scale.text(g))
        return {"fill": cols, "text": texts}

    return {
        "background": style.BACKGROUND, "ink": style.INK, "current": style.CURRENT, "halo": style.HALO,
        "visited": style.VISITED, "no_grad": style.NO_GRAD, "op": dict(style.OP_COLORS),
        "focus": style.HTML["focus_outline"], "window": style.HTML["window_outline"],
        "muted": style.HTML["muted"], "edge": style.HTML["edge"],
        "panel_outline": style.HTML["panel_outline"], "panel_fill": style.HTML["panel_fill"],
        "signed": table(style.HeatScale(1.0, signed=True)),
    }


def _css():
    """CSS custom properties from style.py (the template's stylesheet reads only these)."""
    h = style.HTML
    c = _colour_tables()
    props = {
        "--font": f"'{style.FONT}', 'DejaVu Sans', Verdana, sans-serif",
        "--mono": f"'{style.MONO_FONT}', 'DejaVu Sans Mono', Menlo, Consolas, monospace",
        "--font-px": f"clamp({h['font_px'][0]}px, {h['font_vw']}vw, {h['font_px'][1]}px)",
        "--chain-px": f"{h['chain_font_em']}rem", "--title-px": f"{h['title_font_em']}rem",
        "--cell-min": f"{h['cell_em'][0]}rem", "--cell-h": f"{h['cell_em'][1]}rem",
        "--bg": c["background"], "--ink": c["ink"], "--current": c["current"], "--halo": c["halo"], "--focus": c["focus"],
        "--window": c["window"], "--muted": c["muted"], "--visited": c["visited"],
        "--no-grad": c["no_grad"], "--edge": c["edge"], "--panel-outline": c["panel_outline"],
        "--panel-fill": c["panel_fill"],
    }
    return ":root {\n" + "".join(f"  {k}: {v};\n" for k, v in props.items()) + "}"


def _check(trace, digits, title, node_budget, max_nodes):
    from ...tracer import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a convgraph Trace, got {type(trace).__name__}")
    digits = _int_option("digits", digits, 0, 8)
    node_budget = _int_option("node_budget", node_budget, 0)
    max_nodes = _int_option("max_nodes", max_nodes, 1)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {title!r}")
    count = trace.graph.number_of_nodes()
    if count > max_nodes:
        raise ValueError(f"the trace has {count:,} nodes, more than max_nodes={max_nodes:,}; the page "
                         f"would be too big to open: trace a smaller input or raise max_nodes")
    return digits, node_budget


def _nodes_part(trace):
    """Per node: the op (as a code into ``ops``), the value, and tensor labels."""
    ops, op_code, op, val, labels = [], {}, [], [], []
    for n, a in trace.graph.nodes(data=True):
        code = op_code.setdefault(a["op"], len(ops))
        if code == len(ops):
            ops.append(a["op"])
        op.append(code)
        val.append(_num(a["value"]))
        if "tensor" in a:  # trace.label(n) is tensor[index]; the page needs both parts
            labels.append([n, a["tensor"], ",".join(str(int(i)) for i in a["index"])])
    return {"n": len(op), "ops": ops, "op": op, "val": val, "labels": labels}


def _steps_part(walk):
    """The walk: node and gradient per step; its pushes as flat arrays of operand, local derivative,
    the operand's running total after the push and which of its contributions it is."""
    arr = walk.arrays()
    return {"node": arr["node"].tolist(), "grad": [_num(g) for g in arr["grad"].tolist()],
            "pn": arr["target"].tolist(), "pl": [_num(v) for v in arr["local"].tolist()],
            "pt": [_num(v) for v in arr["total"].tolist()], "po": arr["ordinal"].tolist(),
            "off": arr["offsets"].tolist()}


def _tensors_part(trace):
    nodes = trace.graph.nodes
    leaf_ops = {"input", "weight", "bias"}
    tensors = []
    for name, t in trace.tensors.items():
        first = nodes[int(t.nodes.flat[0])]["op"] if t.nodes.size else ""
        role = ("output" if name == trace.output.name else "leaf" if first in leaf_ops else "inner")
        tensors.append({"name": name, "shape": list(t.shape), "nodes": t.nodes.ravel().tolist(),
                        "role": role, "op": first})
    return tensors


def _convs_part(trace):
    convs = []
    for rec in trace.convs:
        s = rec.spec
        convs.append({
            "shape": [s.N, s.O, s.OH, s.OW, s.Cg, s.KH, s.KW],
            "mul": rec.mul.ravel().tolist(), "add": rec.add.ravel().tolist(),
            "y": rec.y.nodes.ravel().tolist(), "w": rec.w.nodes.ravel().tolist(),
            "b": None if rec.b is None else rec.b.nodes.ravel().tolist(),
            "x": rec.x.name, "yname": rec.y.name, "wname": rec.w.name,
            "stride": list(s.stride), "dilation": list(s.dilation), "padding": list(s.padding),
            "groups": s.groups,
        })
    return convs


def _layout_part(trace, node_budget):
    collapsed = trace.graph.number_of_nodes() > node_budget
    lay = layout(trace, collapsed=collapsed, leaf_size=tuple(style.HTML["leaf_size"]))
    pos = []
    for n, (x, y) in sorted(lay.pos.items()):
        pos += [int(n), round(float(x), 3), round(float(y), 3)]
    panels = [{"title": p.title, "kind": p.kind, "tensor": p.tensor,
               "box": [round(float(v), 3) for v in p.box]} for p in lay.panels]
    return {"collapsed": collapsed, "pos": pos, "panels": panels, "leaf": list(lay.leaf_size),
            "bbox": [round(float(v), 3) for v in lay.bbox]}


def _heat_part(walk):
    """One signed heat scale for every gradient the page can show: step grads, pushes and running totals."""
    arr = walk.arrays()
    mags = np.concatenate([np.abs(arr["grad"]), np.abs(arr["amount"]), np.abs(arr["total"])])
    heat = style.HeatScale.for_values(mags.tolist() or [0.0], signed=True, spread=True)
    return {"vmax": heat.vmax, "gamma": heat.gamma, "signed": True}


def page_data(trace, *, dY=None, digits=2, title=None, node_budget=style.NODE_BUDGET,
              max_nodes=style.PAGE_MAX_NODES, quiz=False):
    """The JSON-ready document the page draws from (see :func:`render_html` for the parameters).

    Reads ``trace.walk(dY)``; writes nothing onto the trace.

    Returns
    -------
    dict
        ``n`` (nodes), ``ops``/``op``/``val``/``labels`` (per node), ``steps`` (``node``, ``grad``
        and the pushes as flat ``pn``/``pl``/``pt``/``po``/``off`` arrays: operand, local derivative,
        running total and ordinal, as the walk recorded them),
        ``seeds``, ``tensors``, ``convs``, ``layout``, ``heat``, ``colors``, ``digits``, ``title``,
        ``quiz``.
        The page names nodes from ``labels`` and ``convs`` as :meth:`Trace.name
        <convgraph.tracer.trace.Trace.name>` does.
    """
    digits, node_budget = _check(trace, digits, title, node_budget, max_nodes)
    if not isinstance(quiz, bool):
        raise TypeError(f"quiz must be True or False, got {quiz!r}")
    walk = trace.walk(dY)  # validates dY
    seeds = [[n, _num(g)] for n, g in zip(trace.output.nodes.ravel().tolist(), walk.dY.ravel().tolist())]
    return {
        "version": 1, "title": trace.describe() if title is None else title, "digits": digits,
        **_nodes_part(trace), "out": trace.output.name, "steps": _steps_part(walk), "seeds": seeds,
        "tensors": _tensors_part(trace), "convs": _convs_part(trace), "layout": _layout_part(trace, node_budget),
        "heat": _heat_part(walk), "colors": _colour_tables(), "quiz": quiz,
    }


def _template():
    return resources.files(__package__).joinpath(_TEMPLATE).read_text(encoding="utf-8")


def _fill(template, values):
    """The template with each marker replaced by its value in one pass: what is inserted is never
    searched for markers again (a title may contain one)."""
    for mark in values:
        if mark not in template:
            raise AssertionError(f"the HTML template lost its {mark} marker")
    return re.sub("|".join(re.escape(m) for m in values), lambda m: values[m.group(0)], template)


def _script_json(obj):
    """JSON safe inside a <script> element: no ``</script>``, no HTML comment openers."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(trace, path, *, dY=None, digits=2, title=None, node_budget=style.NODE_BUDGET,
                max_nodes=style.PAGE_MAX_NODES, quiz=False):
    """Write the interactive backprop stepper for ``trace`` as one self-contained HTML file.

    Open it in any browser, offline. Keys: → / ← one step, Shift+→ / Shift+← ten, Home / End,
    Space play/pause, F forward mode, B backward mode, P presentation mode (controls hidden, larger
    type; P or Escape again to leave); a slider, a speed choice, and the URL hash (``#step=12``,
    ``#forward=3``) keeps the step for links. Each step highlights its node, draws the edges it
    pushes gradient along with their amounts, prints the chain rule with the numbers (nodes named
    as on a slide: ``w[2,2]·x[4,3]``), and updates dW/dX (every leaf's gradient grid) with the
    touched cells marked. Clicking any grid cell or graph node lists every step that pushes into
    it, with the running sum, and lights those nodes in the graph. The layout fits the window
    (1280×720 and up): the grids shrink to fit beside the graph, the graph refits its panel.

    Parameters
    ----------
    trace : Trace
        From :func:`convgraph.trace_conv2d` or ``Recorder.trace``. Only read: the page's steps are
        ``trace.walk(dY)``'s.
    path : str or os.PathLike
        The file to write (``lesson.html``); missing folders on the way are created. Written to a
        temporary name in the same folder, then renamed into place.
    dY : array-like, optional
        Seed gradient shaped like the output. Default: the seed of the trace's last backward pass,
        or ones when none has run.
    digits : int
        Precision of every number on the page: whole numbers bare, others with ``digits + 1``
        significant digits (0..8; default 2: ``0.371``, ``12.3``), as in every view.
    title : str, optional
        Heading of the page (default: ``trace.describe()``, e.g. ``x 5×5 ⊛ w 3×3 → y 3×3``).
    node_budget : int
        Graphs with more nodes draw only the tensor panels (the collapsed view) in the graph panel;
        the grids carry the detail (default 1,500).
    max_nodes : int
        Refuse bigger traces (default 200,000: about 30 MB of page).
    quiz : bool
        Practice mode: every cell of dW, dX (and db) is a box the student types into, and in forward
        mode every cell of y; the page checks each value (within half a percent), marks the cell right
        or wrong, and after a wrong one lists the contributions that make it (the focus list). The
        numbers that would give the answers away (the graph's ∂ labels and running sums of those
        elements) stay hidden until the cell is answered; a score, and a button that reveals all.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``trace`` is not a Trace, ``path`` is not a path, or an option has the wrong type.
    ValueError
        If an option is out of range, ``dY`` has the wrong shape, the trace exceeds ``max_nodes``
        or holds a non-finite value, or ``path`` is a folder or runs through a file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    output_path(path)  # refuse before any work
    path = Path(path)
    data = page_data(trace, dY=dY, digits=digits, title=title, node_budget=node_budget,
                     max_nodes=max_nodes, quiz=quiz)
    page = _fill(_template(), {_CSS_MARK: _css(), _TITLE_MARK: html.escape(data["title"]),
                               _DATA_MARK: _script_json(data)})
    write_text(path, page)
    log.info("wrote %s (%d bytes, %d steps)", path, len(page.encode("utf-8")), len(data["steps"]["node"]))
    return path
