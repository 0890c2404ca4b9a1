"""Backprop steps as text: the chain rule with real numbers, running gradients and small grids.

The terminal stepper, ``convgraph step`` and ``convgraph trace`` print what this module writes. It
reads the trace and its steps and never changes them.
"""

from __future__ import annotations

import bisect

import numpy as np

__all__ = ["StepText", "fmt", "format_grid", "format_summary", "to_ascii"]

_ASCII = str.maketrans({"·": "*", "→": "->", "Σ": "sum ", "×": "x", "∂": "d", "…": "...", "⊛": "*",
                        "─": "-", "│": "|", "▸": ">", "✓": "ok"})


def to_ascii(text):
    """``text`` with the few non-ASCII symbols this module uses spelled in ASCII: ``·`` → ``*`` in a
    product, `` · `` → `` - `` between parts of a line.

    >>> to_ascii("step 2 · mul#5 = w[0,1]·x[1,1] → w[0,1] += 1.00·2.00")
    'step 2 - mul#5 = w[0,1]*x[1,1] -> w[0,1] += 1.00*2.00'
    """
    return text.replace(" · ", " - ").translate(_ASCII)


def fmt(value, digits=2):
    """A number as the stepper prints it: fixed ``digits`` decimals, ``g`` format when tiny or huge.

    >>> fmt(0.3712), fmt(-2.0), fmt(-0.0), fmt(3.7e-05), fmt(12345678.0)
    ('0.37', '-2.00', '0.00', '3.7e-05', '1.23e+07')
    """
    v = float(value)
    if v == 0:
        return f"{0.0:.{digits}f}"
    a = abs(v)
    if a < 0.5 * 10.0 ** -digits or a >= 1e6:
        return f"{v:.{digits + 1}g}"
    return f"{v:.{digits}f}"


def _factor(value, digits):
    """A factor in a product: negatives in parentheses, ``1.00·(-2.00)``."""
    s = fmt(value, digits)
    return f"({s})" if s.startswith("-") else s


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
        Decimals per number.
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
    ['  1.00   2.00 ', '  3.00 [40.00]']
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
        s = conv.spec
        t, b, l, r = s.padding
        pad = _pair_text((t, l)) if (t, l) == (b, r) else f"top {t}, bottom {b}, left {l}, right {r}"
        lines.append(f"conv2d: x {s.x_shape} ⊛ w {s.w_shape}{' + b' if s.has_bias else ''} → y {s.y_shape}"
                     f"   stride {_pair_text(s.stride)}, padding {pad}, dilation {_pair_text(s.dilation)}, "
                     f"groups {s.groups}")
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
        dY = trace.dY
        kind = "ones" if np.all(dY == 1) else "given"
        lines.append(f"gradients, after backprop of dY ({kind}):")
        for name, arr in trace.gradients().items():
            if arr is None or name == trace.output.name:
                continue
            lines.append(f"d{name.upper() if name in ('x', 'w', 'y') else name} {arr.shape} =")
            lines.append(_indent(np.array2string(arr, **opts)))
    else:
        lines.append("gradients: not computed (no backward pass yet)")
    return "\n".join(lines)


def _pair_text(pair):
    """(2, 2) -> '2', (1, 2) -> '1,2': as the command line takes them."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _indent(text, by="  "):
    return "\n".join(by + line for line in text.splitlines())


class StepText:
    """Text for the steps of one backward pass over ``trace``.

    Precomputes, from the immutable step records, how many contributions each operand has received at
    each push and the history of every leaf's gradient, so any step can be shown in any order (the
    interactive stepper goes back and jumps).

    Parameters
    ----------
    trace : Trace
    steps : sequence of Step
        ``trace.step_list(dY)``, in order.
    digits : int
        Decimals of every printed number.
    ascii : bool
        Spell ``·``, ``→``, ``Σ`` in ASCII (for terminals that cannot show them).
    color : bool
        Mark touched grid cells with ANSI reverse video instead of brackets.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(4.0).reshape(2, 2), np.ones((2, 2)))
    >>> st = StepText(t, t.step_list())
    >>> st.chain(st.steps[1])
    'mul#13 = w[1,1]·x[1,1]   grad 1.00 → w[1,1] += 1.00·3.00, x[1,1] += 1.00·1.00'
    """

    def __init__(self, trace, steps, *, digits=2, ascii=False, color=False):
        self.trace = trace
        self.steps = list(steps)
        self.digits = digits
        self.ascii = ascii
        self.color = color
        graph = trace.graph
        self._node = graph.nodes
        # For each push: which contribution it is (1st, 2nd, ...) to its operand, of how many in all.
        seen = {}
        self._ordinal = []
        self._history = {}  # leaf node -> ([step index, ...], [gradient after, ...], [amount pushed, ...])
        for step in self.steps:
            ords = []
            for p in step.pushes:
                k = seen.get(p.node, 0) + 1
                seen[p.node] = k
                ords.append(k)
                if "tensor" in self._node[p.node] and not graph.pred[p.node]:
                    idx, tot, amounts = self._history.setdefault(p.node, ([], [], []))
                    idx.append(step.index)
                    tot.append(p.total)
                    amounts.append(p.amount)
            self._ordinal.append(tuple(ords))
        self._roles = self._conv_roles()

    # ---- labels ---------------------------------------------------------------------------
    def _t(self, text):
        return to_ascii(text) if self.ascii else text

    def label(self, n):
        """``x[1,2]`` for tensor elements, else ``mul#42``."""
        return self.trace.label(n)

    def _conv_roles(self):
        """node -> (y label, w label) for every multiply and add of every traced convolution."""
        roles = {}
        for conv in self.trace.convs:
            s = conv.spec
            y4 = conv.y.nodes.reshape(s.N, s.O, s.OH, s.OW)
            w4 = conv.w.nodes.reshape(s.O, s.Cg, s.KH, s.KW)
            taps = s.Cg * s.KH * s.KW
            for ids in (conv.mul, conv.add):
                for idx in zip(*np.nonzero(ids >= 0)):
                    n_, o, i, j, c, u, v = (int(k) for k in idx)
                    roles[int(ids[idx])] = (int(y4[n_, o, i, j]), int(w4[o, c, u, v]),
                                            (c * s.KH + u) * s.KW + v + 1, taps)
        return roles

    def role(self, n):
        """Where node ``n`` sits in a convolution, e.g. ``part of y[1,2]: tap w[0,1] (2 of 9)``; or ''."""
        if n not in self._roles:
            return ""
        y, w, k, taps = self._roles[n]
        return f"part of {self.label(y)}: tap {self.label(w)} ({k} of {taps})"

    # ---- one step ---------------------------------------------------------------------------
    def _definition(self, step):
        """``mul#42 = w[1,1]·x[2,3]``, ``add#43 = add#41 + mul#42``, ``relu#7 = relu(y[0,0])``."""
        preds = [self.label(p.node) for p in step.pushes]
        name = self.label(step.node)
        if step.op == "mul" and len(preds) == 2:
            return f"{name} = {preds[0]}·{preds[1]}"
        if step.op == "add" and len(preds) == 2:
            return f"{name} = {preds[0]} + {preds[1]}"
        if step.op == "sub" and len(preds) == 2:
            return f"{name} = {preds[0]} - {preds[1]}"
        return f"{name} = {step.op}({', '.join(preds)})"

    def chain(self, step):
        """The chain rule of ``step`` in one line, with its numbers:
        ``mul#42 = w[1,1]·x[2,3]   grad 1.00 → w[1,1] += 1.00·0.37, x[2,3] += 1.00·1.00``."""
        d = self.digits
        g = fmt(step.grad, d)
        if not step.pushes:
            kind = self._node[step.node]["op"]
            return self._t(f"{self.label(step.node)}   grad {g}   ({kind}, a leaf: nothing to push; "
                           f"this is its final gradient)")
        pushes = ", ".join(f"{self.label(p.node)} += {g}·{_factor(p.local, d)}" for p in step.pushes)
        return self._t(f"{self._definition(step)}   grad {g} → {pushes}")

    def running(self, step, *, short=False):
        """One line per leaf the step pushes into: its running gradient and how many contributions
        it has received, e.g. ``w[1,1].grad = 26.00   (3rd of 9 contributions)``; with ``short``,
        ``w[1,1].grad 26.00 (3/9)``."""
        lines = []
        graph = self.trace.graph
        if not step.pushes:  # a leaf: its gradient is the finished sum of what it received
            amounts = self._history.get(step.node, ((), (), ()))[2]
            if len(amounts) < 2:
                return []
            terms = " + ".join(_factor(a, self.digits) for a in amounts) + " = " if 1 < len(amounts) <= 12 else ""
            if short:
                return [self._t("= " + terms[:-3])] if terms else []
            return [self._t(f"{self.label(step.node)}.grad = {terms}{fmt(step.grad, self.digits)}   "
                            f"(all {len(amounts)} contributions)")]
        for p, k in zip(step.pushes, self._ordinal[step.index]):
            attrs = self._node[p.node]
            if "tensor" not in attrs or graph.pred[p.node]:
                continue
            total = graph.out_degree(p.node)
            done = "  ✓ final" if k == total else ""
            if short:
                lines.append(f"{self.label(p.node)}.grad {fmt(p.total, self.digits)} ({k}/{total}{done[1:]})")
                continue
            terms = ""
            if attrs["op"] in ("weight", "bias") and 1 < k <= 12:  # a shared parameter: show the sum so far
                amounts = self._history[p.node][2][:k]
                terms = " + ".join(_factor(a, self.digits) for a in amounts) + " = "
            lines.append(f"{self.label(p.node)}.grad = {terms}{fmt(p.total, self.digits)}   "
                         f"({_ordinal(k)} of {total} contribution{'s' if total != 1 else ''}){done}")
        return [self._t(line) for line in lines]

    def headline(self, step):
        """``step 5 of 187 · mul#182 · part of y[2,2]: tap w[2,2] (9 of 9)``."""
        parts = [f"step {step.index + 1} of {len(self.steps)}", self.label(step.node)]
        attrs = self._node[step.node]
        if attrs.get("tensor") == self.trace.output.name:
            parts.append(f"an output: its grad is the seed dY{self._index(attrs)}")
        elif self.role(step.node):
            parts.append(self.role(step.node))
        return self._t(" · ".join(parts))

    @staticmethod
    def _index(attrs):
        return "[" + ",".join(str(i) for i in attrs.get("index", ())) + "]"

    def line(self, step):
        """The one-line form ``convgraph step`` prints when not interactive: chain rule and running
        gradients of the leaves it touched."""
        run = self.running(step, short=True)
        return f"{step.index + 1:>{len(str(len(self.steps)))}}  {self.chain(step)}" + (
            self._t("   │ ") + ", ".join(run) if run else "")

    def block(self, step, *, grids=True):
        """The interactive view of one step: headline, chain rule, running gradients, and the dW and
        dX grids as they stand after this step (small 2-D tensors only), touched cells marked."""
        lines = [self.headline(step), "  " + self.chain(step)]
        lines += ["  " + r for r in self.running(step)]
        if grids:
            g = self.grids(step.index, touched={p.node for p in step.pushes} | {step.node})
            if g:
                lines.append("")
                lines += ["  " + r for r in g]
        return lines

    # ---- state after a step -------------------------------------------------------------------
    def grad_after(self, node, k):
        """Gradient of leaf ``node`` after step ``k`` (0-based), replayed from the step records."""
        idx, tot = self._history.get(node, ((), (), ()))[:2]
        i = bisect.bisect_right(idx, k)
        return tot[i - 1] if i else 0.0

    def grids(self, k, touched=(), max_cells=10, max_slices=8, line_width=100):
        """Grids of the gradients of each leaf tensor after step ``k``, side by side in rows of at most
        ``line_width`` characters.

        Only tensors whose last two axes fit in ``max_cells`` × ``max_cells`` and with at most
        ``max_slices`` such slices (one per filter and channel) are drawn; returns [] when there is
        nothing small enough.
        """
        blocks = []
        order = {"weight": 0, "bias": 1, "input": 2}
        leaves = [(order[op], name, t) for name, t in self.trace.tensors.items() if t.nodes.size
                  and (op := self._node[int(t.nodes.flat[0])]["op"]) in order]
        for _, name, t in sorted(leaves, key=lambda e: e[0]):
            nodes = t.nodes
            arr = nodes.reshape((1,) * max(0, 2 - nodes.ndim) + nodes.shape)
            arr = arr.reshape((-1,) + arr.shape[-2:])
            if arr.shape[0] > max_slices or max(arr.shape[1:]) > max_cells:
                continue
            # One width per tensor, from its final gradients, so the grid stands still while it fills.
            width = max(len(fmt(self.grad_after(int(n), len(self.steps)), self.digits)) for n in nodes.flat)
            for s, sl in enumerate(arr):
                vals = np.array([[self.grad_after(int(n), k) for n in row] for row in sl])
                marks = [tuple(ix) for ix in zip(*np.nonzero(np.isin(sl, list(touched))))]
                lead = "" if arr.shape[0] == 1 else f"[{','.join(map(str, np.unravel_index(s, nodes.shape[:-2])))}]"
                title = f"d{name.upper() if name in ('x', 'w') else name}{lead}" + ("" if lead else f" {tuple(nodes.shape)}")
                blocks.append(format_grid(vals, digits=self.digits, highlight=marks, title=title,
                                          color=self.color, width=width))
        rows, row, used = [], [], 0
        for b in blocks:  # fill each row of blocks up to line_width, then start another
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
        return [self._t(line) for line in lines]

    # ---- finding steps ------------------------------------------------------------------------
    def feeding(self, node):
        """Indices of the steps that push gradient into ``node`` (e.g. the multiplies using a weight)."""
        return [s.index for s in self.steps if any(p.node == node for p in s.pushes)]

    def find(self, name, index):
        """Node id of element ``index`` of tensor ``name``; the short 2-D index is accepted for
        tensors with leading axes of size one (``w`` (1,1,3,3) and ``(1, 1)``).

        Raises
        ------
        ValueError
            Naming the tensor, the index and its shape when there is no such element.
        """
        if name not in self.trace.tensors:
            raise ValueError(f"no tensor named {name!r}; have {', '.join(self.trace.tensors)}")
        nodes = self.trace.tensors[name].nodes
        index = given = tuple(int(i) for i in index)
        if len(index) < nodes.ndim and all(d == 1 for d in nodes.shape[:nodes.ndim - len(index)]):
            index = (0,) * (nodes.ndim - len(index)) + index
        if len(index) != nodes.ndim or any(not 0 <= i < d for i, d in zip(index, nodes.shape)):
            raise ValueError(f"{name} has shape {nodes.shape}; there is no {name}[{','.join(map(str, given))}]")
        return int(nodes[index])
