"""Backprop steps as text: the chain rule with real numbers, running gradients and small grids.

The terminal stepper, the notebook widget, ``convgraph step`` and ``convgraph trace`` print what
this module writes. It reads the trace and a walk of it (:meth:`Trace.walk
<convgraph.tracer.trace.Trace.walk>`) and never changes them.
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from ...tracer.walk import seed_text
from .. import words
from ..numbers import factor, fmt

__all__ = ["StepText", "fmt", "format_grid", "format_summary", "to_ascii", "wrap"]

_ASCII = str.maketrans({"·": "*", "→": "->", "Σ": "sum ", "×": "x", "∂": "d", "…": "...", "⊛": "*",
                        "─": "-", "│": "|", "▸": ">", "✓": "ok"})


def to_ascii(text):
    """``text`` with the few non-ASCII symbols this module uses spelled in ASCII: ``·`` → ``*`` in a
    product, `` · `` → `` - `` between parts of a line.

    >>> to_ascii("step 2 · w[0,1]·x[1,1] → w[0,1] += 1·2")
    'step 2 - w[0,1]*x[1,1] -> w[0,1] += 1*2'
    """
    return text.replace(" · ", " - ").translate(_ASCII)


def _width(width):
    if width is None:
        return None
    if isinstance(width, bool) or not isinstance(width, numbers.Integral):
        raise TypeError(f"width must be an int or None, got {width!r}")
    if width < 20:
        raise ValueError(f"width must be at least 20 characters, got {width!r}")
    return int(width)


#: Where a step line breaks best: between its parts (two or more spaces), after a comma, before an
#: arrow, a separator or an equals sign.
_BREAKS = re.compile(r" {2,}|(?<=,) | (?=[→│·=-] )|(?<=->) ")
#: Else between words, but never right after an operator (``+= 1``, ``grad 1`` stay together).
_WORDS = re.compile(r"(?<![=+→·│>*-])(?<!grad) ")


def _cut(text, room):
    """(end of this line, start of the next) for ``text`` in ``room`` characters, or None. Words
    inside parentheses (``(5 of 9)``) stay together unless nothing else fits."""
    strong = [(m.start(), m.end()) for m in _BREAKS.finditer(text) if 0 < m.start() <= room]
    weak = [(m.start(), m.end()) for m in _WORDS.finditer(text)
            if 0 < m.start() <= room and text.count("(", 0, m.start()) <= text.count(")", 0, m.start())]
    if strong and (strong[-1][0] >= 0.6 * room or not weak):
        return strong[-1]
    if weak:
        return weak[-1]
    spaces = [(m.start(), m.end()) for m in re.finditer(" ", text) if 0 < m.start() <= room]
    if spaces:  # no good break: any space beats running past the width
        return spaces[-1]
    later = re.search(" ", text[room:])  # a word longer than the line stays whole
    return None if later is None else (room + later.start(), room + later.end())


def wrap(line, width, hang=None):
    """``line`` broken into lines of at most ``width`` characters, with a hanging indent: each
    continuation starts ``hang`` spaces in (default: the line's own indent plus 4). Breaks fall
    between the line's parts where they can (``   ``, ``, ``, `` → ``, `` = ``), else between
    words; a word longer than a line stays whole. ``width=None`` leaves the line as it is.

    >>> wrap("  w[1,1].grad = 18 + 17 + 16 = 51   (3rd of 9 contributions)", 40)
    ['  w[1,1].grad = 18 + 17 + 16 = 51', '      (3rd of 9 contributions)']

    Raises
    ------
    TypeError, ValueError
        If ``width`` is not an int of at least 20 (or None).
    """
    width = _width(width)
    if width is None or len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    hang = min(lead + 4 if hang is None else hang, width // 2)
    out, indent, rest = [], line[:lead], line[lead:]
    while len(indent) + len(rest) > width:
        cut = _cut(rest, width - len(indent))
        if cut is None:
            break
        out.append(indent + rest[:cut[0]].rstrip(" "))
        indent, rest = " " * hang, rest[cut[1]:].lstrip(" ")
    return out + [indent + rest]


def _ordinal(k):
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def format_grid(array, *, digits=2, highlight=(), title=None, color=False, width=None):
    """Lines of a small 2-D array, right-aligned columns; cells in ``highlight`` are marked.

    Marked cells are drawn in reverse video when ``color`` is true, else between ``[`` and ``]``.

    Parameters
    ----------
    array : array-like, 2-D
    digits : int
        Precision: ``digits + 1`` significant digits (see :func:`~convgraph.renderers.numbers.fmt`).
    highlight : iterable of (row, col)
    title : str, optional
        A first line above the grid.
    color : bool
        Use ANSI reverse video for marked cells.
    width : int, optional
        Characters per number (default: the widest); fixing it keeps a grid still while it fills.

    Returns
    -------
    list of str
        All of the same visible width.

    >>> format_grid([[1, 2], [3, 40]], highlight=[(1, 1)])
    ['  1   2 ', '  3 [40]']
    """
    arr = np.asarray(array, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"array must be 2-D, got shape {arr.shape}")
    cells = [[fmt(v, digits) for v in row] for row in arr]
    width = max([len(c) for row in cells for c in row] + [width or 1])
    marked = {tuple(int(i) for i in h) for h in highlight}
    lines = []
    for i, row in enumerate(cells):
        parts = []
        for j, c in enumerate(row):
            c = c.rjust(width)
            if (i, j) in marked:
                parts.append(f"\x1b[7m {c} \x1b[0m" if color else f"[{c}]")
            else:
                parts.append(f" {c} ")
        lines.append("".join(parts))
    if title is not None:
        lines.insert(0, title.ljust((width + 2) * arr.shape[1]))
    return lines


def _visible(s):
    """Width on screen: ANSI codes do not count."""
    return len(s.replace("\x1b[7m", "").replace("\x1b[0m", ""))


def _side_by_side(blocks, gap=4):
    """Join blocks of lines (each a list of str) into columns."""
    visible = _visible
    widths = [max((visible(line) for line in b), default=0) for b in blocks]
    height = max((len(b) for b in blocks), default=0)
    rows = []
    for r in range(height):
        parts = []
        for b, w in zip(blocks, widths):
            line = b[r] if r < len(b) else ""
            parts.append(line + " " * (w - visible(line)))
        rows.append((" " * gap).join(parts).rstrip())
    return rows


def format_summary(trace, *, digits=2):
    """What ``convgraph trace`` prints: the convolution, node and edge counts by op, y and the gradients.

    Parameters
    ----------
    trace : Trace
        Gradients are printed when a backward pass has run (``trace.has_grad``).
    digits : int

    Returns
    -------
    str
    """
    g = trace.graph
    lines = []
    conv = trace.conv
    if conv is not None:
        lines.append(f"{conv.spec.op}: {trace.describe()}")
        lines.append("  " + ", ".join(conv.spec.options(every=True)))
    counts = trace.counts()
    edge_counts = {}
    for _, v in g.edges():
        op = g.nodes[v]["op"]
        edge_counts[op] = edge_counts.get(op, 0) + 1
    lines.append(f"graph: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges")
    width = max(len(op) for op in counts)
    for op, n in counts.items():
        into = edge_counts.get(op, 0)
        lines.append(f"  {op.ljust(width)}  {n:>8,} node{'s' if n != 1 else ' '}" + (f"  {into:>8,} edges in" if into else ""))
    opts = dict(precision=digits, suppress_small=True, floatmode="fixed", max_line_width=100)
    lines.append(f"y {trace.y.shape} =")
    lines.append(_indent(np.array2string(trace.y, **opts)))
    if trace.has_grad:
        lines.append(f"gradients, after backprop of dY ({seed_text(trace.dY)}):")
        for name, arr in trace.gradients().items():
            if arr is None or name == trace.output.name:
                continue
            lines.append(f"d{name.upper() if name in ('x', 'w', 'y') else name} {arr.shape} =")
            lines.append(_indent(np.array2string(arr, **opts)))
    else:
        lines.append("gradients: not computed (no backward pass yet)")
    return "\n".join(lines)


def _indent(text, by="  "):
    return "\n".join(by + line for line in text.splitlines())


class StepText:
    """Text for the steps of one backward pass (a :class:`~convgraph.tracer.walk.Walk`) over ``trace``.

    Any step can be shown in any order (the interactive stepper goes back and jumps): everything
    it says (the step's node, its gradient, what each operand has received so far and of how many)
    comes from the walk.

    Parameters
    ----------
    trace : Trace
    walk : Walk
        ``trace.walk(dY)``.
    digits : int
        Precision of every printed number: whole numbers bare, others with ``digits + 1``
        significant digits (default 2: ``0.371``, ``12.3``; see :func:`~convgraph.renderers.numbers.fmt`).
    ascii : bool
        Spell ``·``, ``→``, ``Σ`` in ASCII (for terminals that cannot show them).
    color : bool
        Mark touched grid cells with ANSI reverse video instead of brackets.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(4.0).reshape(2, 2), np.ones((2, 2)))
    >>> st = StepText(t, t.walk())
    >>> st.chain(st.walk.step(2))
    'w[1,1]·x[1,1]   grad 1 → w[1,1] += 1·3, x[1,1] += 1·1'
    >>> st.headline(st.walk.step(1))
    'step 1 of 15 · y[0,0] · an output: its grad is the seed dY[0,0]'
    """

    def __init__(self, trace, walk, *, digits=2, ascii=False, color=False):
        self.trace = trace
        self.walk = walk
        self.digits = digits
        self.ascii = ascii
        self.color = color
        self._nodes = trace.graph.nodes
        self._operands = trace.graph.pred

    def __len__(self):
        return len(self.walk)

    # ---- labels ---------------------------------------------------------------------------
    def say(self, text):
        """``text`` as this stepper prints it (ASCII when asked for)."""
        return to_ascii(text) if self.ascii else text

    def label(self, n):
        """``x[1,2]`` for tensor elements, else ``mul#42``."""
        return self.trace.label(n)

    def role(self, n):
        """Where node ``n`` sits in a convolution, e.g. ``part of y[1,2]: tap w[0,1] (2 of 9)``; or ''."""
        return words.role(self.trace, n)

    def _is_leaf_element(self, n):
        return "tensor" in self._nodes[n] and not self._operands[n]

    # ---- one step ---------------------------------------------------------------------------
    def chain(self, step):
        """The chain rule of ``step`` in one line, with its numbers, each node named as a slide names
        it: ``w[1,1]·x[2,3]   grad 1 → w[1,1] += 1·0.371, x[2,3] += 1·1`` for a multiply of the
        convolution, ``y[1,1] after 3 of 9 taps = y[1,1] after 2 of 9 taps + w[0,2]·x[1,3]   grad 1 → …``
        for an add of its running sum, ``relu#7 = relu(y[0,0])   …`` for other ops."""
        return self.say(words.chain(self.trace, step, self.digits, readable=True))

    def _terms(self, node, upto=None):
        """``a + b + c`` of the first ``upto`` amounts pushed into ``node`` (all by default)."""
        amounts = [p.amount for _, p in self.walk.contributions(node)][:upto]
        return " + ".join(factor(a, self.digits) for a in amounts)

    def running(self, step, *, short=False):
        """One line per leaf the step pushes into: its running gradient and how many contributions
        it has received, e.g. ``w[1,1].grad = 26   (3rd of 9 contributions)``; with ``short``,
        ``w[1,1].grad 26 (3/9)``."""
        if not step.pushes:  # a leaf: its gradient is the finished sum of what it received
            count = self.walk.received(step.node) if "tensor" in self._nodes[step.node] else 0
            if count < 2:
                return []
            terms = self._terms(step.node) + " = " if count <= 12 else ""
            if short:
                return [self.say("= " + terms[:-3])] if terms else []
            return [self.say(f"{self.label(step.node)}.grad = {terms}{fmt(step.grad, self.digits)}   "
                             f"(all {count} contributions)")]
        lines = []
        for p in step.pushes:
            if not self._is_leaf_element(p.node):
                continue
            k, total = p.ordinal, p.received
            done = "  ✓ final" if k == total else ""
            if short:
                lines.append(f"{self.label(p.node)}.grad {fmt(p.total, self.digits)} ({k}/{total}{done[1:]})")
                continue
            terms = ""
            if self._nodes[p.node]["op"] in ("weight", "bias") and 1 < k <= 12:  # a shared parameter: the sum so far
                terms = self._terms(p.node, k) + " = "
            lines.append(f"{self.label(p.node)}.grad = {terms}{fmt(p.total, self.digits)}   "
                         f"({_ordinal(k)} of {total} contribution{'s' if total != 1 else ''}){done}")
        return [self.say(line) for line in lines]

    def headline(self, step):
        """``step 5 of 187 · w[2,2]·x[4,3] · part of y[2,2]: tap w[2,2] (9 of 9)``."""
        return self.say(words.headline(self.trace, self.walk, step))

    def before(self):
        """What step 0 (nothing visited yet) says."""
        return self.say(words.before(self.trace, self.walk))

    def line(self, step, width=None):
        """The one-line form ``convgraph step`` prints when not interactive: chain rule and running
        gradients of the leaves it touched. With ``width`` (a terminal's), the line is wrapped at
        spaces to that many characters, continuations indented under the chain rule."""
        run = self.running(step, short=True)
        number = f"{step.number:>{len(str(len(self.walk)))}}  "
        text = number + self.chain(step) + (self.say("   │ ") + ", ".join(run) if run else "")
        return "\n".join(wrap(text, width, hang=len(number) + 2))

    def block(self, step, *, grids=True, width=None):
        """The interactive view of one step: headline, chain rule, running gradients, and the dW and
        dX grids as they stand after this step (small 2-D tensors only), touched cells marked.

        ``width`` (a terminal's, in characters): text lines are wrapped to it with a hanging indent
        and the grids are laid out in rows no wider (a grid wider than that stays whole)."""
        width = _width(width)
        lines = wrap(self.headline(step), width)
        for line in ["  " + self.chain(step)] + ["  " + r for r in self.running(step)]:
            lines += wrap(line, width)
        if grids:
            g = self.grids(step.number, touched={p.node for p in step.pushes} | {step.node},
                           line_width=100 if width is None else width - 2)
            if g:
                lines.append("")
                lines += ["  " + r for r in g]
        return lines

    # ---- state after a step -------------------------------------------------------------------
    def grids(self, k, touched=(), max_cells=10, max_slices=8, line_width=100):
        """Grids of the gradients of each leaf tensor after step ``k`` (0 … N), side by side in rows of
        at most ``line_width`` characters.

        Only tensors whose last two axes fit in ``max_cells`` × ``max_cells`` and with at most
        ``max_slices`` such slices (one per filter and channel) are drawn; returns [] when there is
        nothing small enough.
        """
        grads, final = self.walk.grads_after(k), self.walk.final
        order = {"weight": 0, "bias": 1, "input": 2}
        leaves = [(order[op], name, t) for name, t in self.trace.tensors.items() if t.nodes.size
                  and (op := self._nodes[int(t.nodes.flat[0])]["op"]) in order]
        blocks = []
        for _, name, t in sorted(leaves, key=lambda e: e[0]):
            nodes = t.nodes
            arr = nodes.reshape((1,) * max(0, 2 - nodes.ndim) + nodes.shape)
            arr = arr.reshape((-1,) + arr.shape[-2:])
            if arr.shape[0] > max_slices or max(arr.shape[1:]) > max_cells:
                continue
            # One width per tensor, from its final gradients, so the grid stands still while it fills.
            width = max(len(fmt(final[n], self.digits)) for n in nodes.flat)
            for s, sl in enumerate(arr):
                marks = [tuple(ix) for ix in zip(*np.nonzero(np.isin(sl, list(touched))))]
                lead = "" if arr.shape[0] == 1 else f"[{','.join(map(str, np.unravel_index(s, nodes.shape[:-2])))}]"
                title = f"d{name.upper() if name in ('x', 'w') else name}{lead}" + ("" if lead else f" {tuple(nodes.shape)}")
                blocks.append(format_grid(grads[sl], digits=self.digits, highlight=marks, title=title,
                                          color=self.color, width=width))
        return [self.say(line) for line in _rows_of_blocks(blocks, line_width)]

    # ---- finding steps ------------------------------------------------------------------------
    def feeding(self, node):
        """Step numbers of the steps that push gradient into ``node`` (e.g. the multiplies using a weight)."""
        return self.walk.feeding(node)

    def find(self, name, index):
        """Node id of element ``index`` of tensor ``name`` (see :meth:`Trace.element
        <convgraph.tracer.trace.Trace.element>`).

        Raises
        ------
        ValueError
            Naming the tensor, the index and its shape when there is no such element.
        """
        return self.trace.element(name, tuple(index))


def _rows_of_blocks(blocks, line_width):
    """Fill each row of blocks up to ``line_width`` characters, then start another."""
    rows, row, used = [], [], 0
    for b in blocks:
        w = _visible(b[0]) + 4
        if row and used + w > line_width:
            rows.append(row)
            row, used = [], 0
        row.append(b)
        used += w
    if row:
        rows.append(row)
    lines = []
    for r in rows:
        lines += ([""] if lines else []) + _side_by_side(r)
    return lines
