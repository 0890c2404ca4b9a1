"""Grid-anchored node positions shared by every picture of a Trace: tensors keep their 2-D grids.

Coordinates are in *slots*, with y pointing up: one slot holds one small op node (a ``×`` or a
``+``); one tensor element's cell is ``leaf_size`` slots (default 3 × 1.5, room for a label such as
``x[1,2]  0.37 | ∂ 1.00``). Renderers scale slots to their own units (the Graphviz diagram uses
``style.DIAGRAM["slot_inch"]``); pass ``leaf_size=(1, 1)`` for square cells.

Full view (``collapsed=False``), for each traced convolution, left to right::

    x panels            w panels: one row per filter o, one column per channel c; then b    y panels
    one per (n, c),     imprint bands, one per (n, o): an OH × OW grid of blocks.           one per (n, o),
    centred on the      Block (i, j) holds the multiplies of y[i,j], each at its kernel     level with its
    bands               tap (c, u, v) -- one imprint of the stamp -- and each add half a    band
                        slot below-right of the multiply it adds in.

An output element ``y[i,j]`` is the last add of its sum and sits in the y grid, not in its block.
Nodes outside convolutions (relu, pooling, losses, plain scalar graphs) follow in columns to the
right, one column per topological depth: a named tensor gets its own panels; an elementwise op
takes the cell of its most recent operand in a panel of its own (a running sum over a grid fills
one panel cell by cell); a leaf constant sits next to the node it feeds; a scalar graph with no
grid at all gets one cell per node, by topological generation.

Collapsed view (``collapsed=True``): the panels of tensors only -- x and y side by side with w
(and b) above the gap between them, then later tensors; no multiply, add or intermediate nodes -- for pictures that draw one cell per tensor element and
one edge per pair of panels (see :attr:`Panel.nodes`).

The result is deterministic and costs O(nodes) (vectorised over each convolution's multiply-adds):
about 0.3 s for the 385,000 nodes of 1×3×32×32 ⊛ 8×3×3×3, a few milliseconds with ``nodes=``
(only those positions are built).

>>> import numpy as np, convgraph as cg
>>> t = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
>>> lay = layout(t)
>>> sorted(lay.regions)
['w', 'x', 'y', '× and + of y']
>>> len(lay.pos) == t.graph.number_of_nodes()
True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Layout", "Panel", "layout", "LEAF_SIZE"]

#: Default size of one tensor element's cell, in slots (width, height).
LEAF_SIZE = (3.0, 1.5)
_GAP = 1.0  # between blocks in a band, in slots
_PANEL_GAP = 2.0  # between panels (leaves room for a title above each)
_COLUMN_GAP = 3.0  # between columns of panels


@dataclass(frozen=True)
class Panel:
    """One titled box of a layout.

    Attributes
    ----------
    title : str or None
        ``"x[c=0]"``, ``"w[o=1,c=2]"``, ``"× and + of y[o=0]"``, ``"relu"``, ``"sub"``; None for the
        one-node cells of a scalar graph.
    kind : str
        ``"tensor"`` (elements of a named tensor), ``"imprint"`` (the multiply-adds of one (n, o)
        output map) or ``"ops"`` (other intermediate nodes).
    tensor : str or None
        The tensor's name for ``"tensor"`` panels.
    lead : tuple of int
        The leading index of a tensor panel (``(c,)`` for x (C, H, W), ``(n, c)`` for (N, C, H, W)).
    nodes : numpy.ndarray or None
        Node ids of a tensor panel as a (rows, cols) grid (-1 where an element belongs to an
        earlier tensor); None for other panels.
    box : tuple of float
        ``(x0, y0, x1, y1)`` in slots, y up; the title goes just above ``y1``.
    """

    title: str | None
    kind: str
    tensor: str | None
    lead: tuple
    nodes: np.ndarray | None
    box: tuple


@dataclass(frozen=True)
class Layout:
    """Positions of a trace's nodes and the boxes of its panels (see the module docstring).

    Attributes
    ----------
    pos : dict
        node id -> (x, y) in slots, y up.
    regions : dict
        panel title -> box ``(x0, y0, x1, y1)``, for every titled panel, in drawing order.
    panels : tuple of Panel
        Every panel, titled or not, in drawing order.
    leaf_size : tuple of float
        Cell size of a tensor element, in slots.
    collapsed : bool
        True for the collapsed view (tensor panels only; ``pos`` holds tensor elements only).
    bbox : tuple of float
        ``(x0, y0, x1, y1)`` around every panel.
    panel_of : dict
        node id -> index into ``panels`` of the panel it sits in (for the nodes in ``pos``).
    """

    pos: dict
    regions: dict
    panels: tuple
    leaf_size: tuple
    collapsed: bool
    bbox: tuple = field(default=(0.0, 0.0, 0.0, 0.0))
    panel_of: dict = field(default_factory=dict)

    def xy(self, nodes):
        """Positions of ``nodes`` as a float array (k, 2); raises KeyError for an unplaced node."""
        pos = self.pos
        return np.array([pos[int(n)] for n in nodes], dtype=float).reshape(-1, 2)


class _Builder:
    """A panel under construction: local coordinates (y down, origin top-left) of its nodes."""

    __slots__ = ("key", "title", "kind", "tensor", "lead", "grid", "w", "h", "ids", "lx", "ly",
                 "x0", "y0", "depth", "order")

    def __init__(self, key, title, kind, w, h, tensor=None, lead=(), grid=None, order=0):
        self.key, self.title, self.kind = key, title, kind
        self.tensor, self.lead, self.grid = tensor, lead, grid
        self.w, self.h = float(w), float(h)
        self.ids, self.lx, self.ly = [], [], []  # lists of arrays (conv) or of scalars (generic)
        self.x0 = self.y0 = 0.0
        self.depth = 0
        self.order = order

    def add(self, ids, lx, ly):
        self.ids.append(np.asarray(ids, dtype=np.int64).ravel())
        self.lx.append(np.asarray(lx, dtype=float).ravel())
        self.ly.append(np.asarray(ly, dtype=float).ravel())


def _title(name, lead, names):
    """``x``, ``x[c=0]`` with index names, or ``relu[0,1]`` without."""
    if not lead:
        return name
    if names is None or len(names) != len(lead):
        return f"{name}[" + ",".join(str(int(i)) for i in lead) + "]"
    return f"{name}[" + ",".join(f"{a}={int(i)}" for a, i in zip(names, lead)) + "]"


def _grid(nodes, dims=2):
    """A tensor's node array as (lead index, (rows, cols) grid) pairs: its 2-D slices, or with
    ``dims=1`` (a trace of conv1d) its rows."""
    if nodes.ndim == 0:
        return [((), nodes.reshape(1, 1))]
    if nodes.ndim == 1:
        return [((), nodes.reshape(1, -1))]
    if dims == 1:
        return [(lead, nodes[lead].reshape(1, -1)) for lead in np.ndindex(*nodes.shape[:-1])]
    return [(lead, nodes[lead]) for lead in np.ndindex(*nodes.shape[:-2])]


def _tensor_panels(t, names, leaf, order, owner, dims=2):
    """One builder per 2-D slice (``dims=1``: per row) of tensor ``t``; elements owned by an earlier
    tensor are -1. ``leaf`` maps a tensor name to its cell size."""
    lw, lh = leaf(t.name)
    out = []
    for lead, grid in _grid(t.nodes, dims):
        grid = np.where(owner[grid] == t.name, grid, -1) if owner is not None else grid
        rows, cols = grid.shape
        b = _Builder(("tensor", t.name, lead), _title(t.name, lead, names), "tensor", cols * lw, rows * lh,
                     tensor=t.name, lead=tuple(int(i) for i in lead), grid=grid, order=order)
        r, c = np.indices(grid.shape)
        keep = grid >= 0
        b.add(grid[keep], (c[keep] + 0.5) * lw, (r[keep] + 0.5) * lh)
        out.append(b)
    return out


def _stack_height(panels, gap=_PANEL_GAP, wrap=False):
    if wrap and len(panels) > 4:
        rows = math.ceil(math.sqrt(len(panels)))
        return rows * max(p.h for p in panels) + (rows - 1) * gap
    return sum(p.h for p in panels) + gap * max(len(panels) - 1, 0)


def _stack(panels, x0, y_center, gap=_PANEL_GAP, wrap=False):
    """Place panels in one column, top to bottom, centred on ``y_center``; return the column width.
    With ``wrap``, more than four panels go into a grid of about sqrt(count) rows, row by row."""
    if not panels:
        return 0.0
    if wrap and len(panels) > 4:
        rows = math.ceil(math.sqrt(len(panels)))
        cols = math.ceil(len(panels) / rows)
        pw, ph = max(p.w for p in panels), max(p.h for p in panels)
        top = y_center - (rows * ph + (rows - 1) * gap) / 2
        for k, p in enumerate(panels):
            r, c = divmod(k, cols)
            p.x0, p.y0 = x0 + c * (pw + gap) + (pw - p.w) / 2, top + r * (ph + gap)
        return cols * pw + (cols - 1) * gap
    height = sum(p.h for p in panels) + gap * (len(panels) - 1)
    width = max(p.w for p in panels)
    y = y_center - height / 2
    for p in panels:
        p.x0, p.y0 = x0 + (width - p.w) / 2, y
        y += p.h + gap
    return width


class _Section:
    """The panels of one traced convolution, placed relative to the section's top-left corner:
    x panels, then the w grid (and b) above the imprint bands, then y panels level with their bands."""

    def __init__(self, rec, leaf, collapsed, taken, owner, order, wide=False):
        self.rec, self.order = rec, order
        self.internal = rec.internal()  # every × and +
        spec = rec.spec
        self.y_names = spec.lead_names("y") if len(spec.lead_names("y")) == max(rec.y.ndim - spec.dims, 0) else None

        def panels_of(t, names):
            if t is None or t.name in taken:
                return []
            taken.add(t.name)
            return _tensor_panels(t, names, leaf, order, owner, spec.dims)

        self.xs = panels_of(rec.x, spec.lead_names("x"))
        ws = panels_of(rec.w, spec.lead_names("w"))
        self.bs = panels_of(rec.b, ())
        self.ys = panels_of(rec.y, self.y_names)
        self.y_by_band = {}  # (n, o) -> panel
        for p in self.ys:
            lead = dict(zip(self.y_names or (), p.lead))
            self.y_by_band[(lead.get("n", 0), lead.get("o", 0))] = p
        self.w_rows = {}  # w's first lead (o; c for a transposed convolution) -> its panels, one per second lead
        for p in ws:
            self.w_rows.setdefault(p.lead[0] if p.lead else 0, []).append(p)
        self.rows = spec.dims == 1 and not collapsed  # a 1-D convolution reads top to bottom
        # Its blocks no narrower than a y cell: each y element sits under the block of its sum.
        self.pitch = max(spec.Cg * (spec.KW + 0.5) + _GAP, leaf(rec.y.name)[0] + 0.5) if self.rows else None
        self.bands = [] if collapsed else self._imprint_bands()
        w_width, w_height = self._place_w_grid(collapsed, wide)
        if self.rows:
            self._place_rows(w_width, w_height)
        else:
            self._place_columns(w_width, w_height, collapsed, wide)

    def _imprint_bands(self):
        """One band per (n, o): an OH × OW grid of blocks, each multiply at its kernel tap (c, u, v)
        and each add half a slot below-right of the multiply it adds in."""
        rec, s = self.rec, self.rec.spec
        N, O, Cg, KH, KW, OH, OW = s.N, s.O, s.Cg, s.KH, s.KW, s.OH, s.OW
        bw, bh = Cg * (KW + 0.5), KH + 0.5
        px, py = self.pitch or bw + _GAP, bh + _GAP
        band_w, band_h = OW * px - _GAP, OH * py - _GAP
        i_ = np.arange(OH).reshape(1, 1, OH, 1, 1, 1, 1)
        j_ = np.arange(OW).reshape(1, 1, 1, OW, 1, 1, 1)
        c_ = np.arange(Cg).reshape(1, 1, 1, 1, Cg, 1, 1)
        u_ = np.arange(KH).reshape(1, 1, 1, 1, 1, KH, 1)
        v_ = np.arange(KW).reshape(1, 1, 1, 1, 1, 1, KW)
        full = rec.mul.shape
        inset = (px - _GAP - bw) / 2  # a block in the middle of its pitch (wider only in a 1-D picture)
        mx = np.broadcast_to(j_ * px + inset + c_ * (KW + 0.5) + v_ + 0.5, full)  # multiply at its tap
        my = np.broadcast_to(i_ * py + u_ + 0.5, full)
        y4 = rec.nodes4("y")[..., None, None, None]
        mul_ok = (rec.mul >= 0) & (rec.mul != y4)  # an output element sits in the y grid, not its block
        add_ok = (rec.add >= 0) & (rec.add != y4)
        bands = []
        for n in range(N):
            for o in range(O):
                p = self.y_by_band.get((n, o))
                yt = p.title if p is not None else f"{rec.y.name}[n={n},o={o}]"
                b = _Builder(("imprint", rec.y.name, n, o), f"× and + of {yt}", "imprint", band_w, band_h,
                             order=self.order)
                m_ok, a_ok = mul_ok[n, o], add_ok[n, o]
                b.add(rec.mul[n, o][m_ok], mx[n, o][m_ok], my[n, o][m_ok])
                b.add(rec.add[n, o][a_ok], mx[n, o][a_ok] + 0.5, my[n, o][a_ok] + 0.5)
                bands.append(((n, o), b))
        return bands

    def _place_w_grid(self, collapsed, wide=False):
        """The w grid from the top, one row per value of w's first lead (o for a convolution, c for a
        transposed one), one column per second, b beside it (below it when collapsed). Collapsed and
        ``wide`` with more rows than columns: transposed (a wider, shorter grid)."""
        rows = [self.w_rows[o] for o in sorted(self.w_rows)]
        if wide and collapsed and rows and len({len(r) for r in rows}) == 1 and len(rows) > len(rows[0]):
            rows = [list(r) for r in zip(*rows)]
        w_width, cursor_y = 0.0, 0.0
        for row in rows:
            x = 0.0
            for p in row:
                p.x0, p.y0 = x, cursor_y
                x += p.w + _PANEL_GAP
            w_width = max(w_width, x - _PANEL_GAP)
            cursor_y += max(p.h for p in row) + _PANEL_GAP
        if self.bs:
            if collapsed or not self.w_rows:
                for p in self.bs:
                    p.x0, p.y0 = 0.0, cursor_y
                    cursor_y += p.h + _PANEL_GAP
                    w_width = max(w_width, p.w)
            else:
                x = w_width + _PANEL_GAP
                for p in self.bs:
                    p.x0, p.y0 = x, 0.0
                    x += p.w + _PANEL_GAP
                w_width = x - _PANEL_GAP
        return w_width, max(cursor_y - _PANEL_GAP, 0.0)

    def _place_rows(self, w_width, w_height):
        """A 1-D convolution, top to bottom: the x rows side by side, then each output row's band of
        multiply-adds with its y row right under it (y[j] under block j), the w grid (and b) to the
        left of the bands, so that no arrow crosses a row of boxes."""
        gap = _PANEL_GAP
        left = w_width + _COLUMN_GAP if w_width else 0.0
        y = 0.0
        for p in self.xs:  # one row per (n, c), stacked
            p.x0, p.y0 = 0.0, y
            y += p.h + gap / 2
        x_right = max((p.w for p in self.xs), default=0.0) + gap
        y += 1.5 * gap - gap / 2 if self.xs else 0.0
        top, pitch = y, self.pitch
        for key, b in self.bands:
            b.x0, b.y0 = left, y
            y += b.h + gap
            p = self.y_by_band.get(key)
            if p is not None:  # cells at the pitch of the blocks
                keep = p.grid >= 0
                p.lx = [((np.indices(p.grid.shape)[1][keep] + 0.5) * pitch - _GAP / 2).astype(float)]
                p.w = p.grid.shape[1] * pitch - _GAP
                p.x0, p.y0 = left, y
                y += p.h + 1.5 * gap
        for p in [p for p in self.ys if p not in self.y_by_band.values()]:
            p.x0, p.y0 = left, y
            y += p.h + gap
        body = max([b.w for _, b in self.bands] + [p.w for p in self.ys] + [0.0])
        shift = left + max((body - (x_right - gap)) / 2, 0.0)  # the x rows centred over the bands
        for p in self.xs:
            p.x0 += shift
        w_panels = [p for o in sorted(self.w_rows) for p in self.w_rows[o]]
        middle = (top + y) / 2 - w_height / 2  # the w grid level with the middle of the bands
        for p in w_panels + self.bs:
            p.y0 += max(middle, top)
        self.panels = self.xs + w_panels + self.bs + [b for _, b in self.bands] + self.ys
        self.width = max(left + body, x_right - gap + shift)
        self.height = max((p.y0 + p.h for p in self.panels), default=0.0)

    def _place_columns(self, w_width, w_height, collapsed, wide=False):
        """Column 1: x panels. Column 2: the w grid (+ b) on top of the bands. Column 3: y panels.
        Collapsed and ``wide``: the three columns side by side, each centred on one line."""
        xs, ys, bands = self.xs, self.ys, self.bands
        if bands:
            y = w_height + (_PANEL_GAP if w_height else 0.0)
            mid_w = max(w_width, max(b.w for _, b in bands))
            for _, b in bands:
                b.x0, b.y0 = 0.0, y
                y += b.h + _PANEL_GAP
            mid_h = y - _PANEL_GAP
            body_top = w_height + (_PANEL_GAP if w_height else 0.0)
            center = (body_top + mid_h) / 2
        else:  # collapsed: x and y side by side below w, so the arrow x → y passes under w
            mid_w, mid_h = w_width, w_height
            col_h = max(_stack_height(xs, wrap=True), _stack_height(ys, wrap=True))
            center = (mid_h + 1.5 * _PANEL_GAP if mid_h else 0.0) + col_h / 2
            if wide:  # x | w | y level with each other: half the height, for a 16:9 slide
                center = max(mid_h, col_h) / 2
                for p in [p for o in sorted(self.w_rows) for p in self.w_rows[o]] + self.bs:
                    p.y0 += center - mid_h / 2

        x_w = _stack(xs, 0.0, center, wrap=collapsed) if xs else 0.0
        mid_x = x_w + (_COLUMN_GAP if xs else 0.0)
        w_panels = [p for o in sorted(self.w_rows) for p in self.w_rows[o]]
        for p in w_panels + self.bs + [b for _, b in bands]:
            p.x0 += mid_x
        y_x = mid_x + mid_w + _COLUMN_GAP
        y_w = 0.0
        if bands:
            centers = {k: b.y0 + b.h / 2 for k, b in bands}
            for k, p in self.y_by_band.items():
                p.x0, p.y0 = y_x, centers.get(k, center) - p.h / 2
                y_w = max(y_w, p.w)
            leftover = [p for p in ys if p not in self.y_by_band.values()]
            if leftover:
                y_w = max(y_w, _stack(leftover, y_x, center))
        elif ys:
            y_w = _stack(ys, y_x, center, wrap=collapsed)
        self.panels = xs + w_panels + self.bs + [b for _, b in bands] + ys
        top = min(p.y0 for p in self.panels) if self.panels else 0.0
        for p in self.panels:
            p.y0 -= top
        self.width = y_x + y_w if ys else mid_x + mid_w
        self.height = max((p.y0 + p.h for p in self.panels), default=0.0)


class _Generic:
    """Everything the convolution sections did not place: later tensors, then every other node in
    creation order, in columns by topological depth (see the module docstring)."""

    def __init__(self, trace, leaf, cell_size, owner, placed, sections, taken):
        self.trace, self.leaf, self.owner = trace, leaf, owner
        self.lw, self.lh = cell_size
        self.pred, self.succ = trace.graph.pred, trace.graph.succ
        self.count = trace.graph.number_of_nodes()
        self.placed = placed  # the sections' builders
        self.section_ids = {id(b) for b in placed}
        self.taken = taken
        self.generic = []
        self.cell = {}  # node -> (builder, row, col): anchors for elementwise ops
        self.occupied = set()
        self.done = np.zeros(self.count, dtype=bool)
        for s in sections:
            self.done[s.internal] = True
        for b in placed:
            for ids in b.ids:
                self.done[ids] = True
            if b.kind == "tensor":
                self._anchor(b)
        self.by_key = {b.key: b for b in placed}
        self.titles = set()

    def _anchor(self, b):
        rows, cols = np.nonzero(b.grid >= 0)
        for n, r, c in zip(b.grid[rows, cols].tolist(), rows.tolist(), cols.tolist()):
            self.cell[n] = (b, r, c)

    def place(self):
        """Place every remaining node; returns the new builders (depth decided, position not yet)."""
        self._later_tensors()
        self.titles = {b.title for b in self.by_key.values()}
        sources = self._walk_ops()
        self._place_sources(sources)
        self._settle_depths()
        return self.generic

    def _later_tensors(self):
        """Named tensors no convolution placed; one shaped like the last conv output borrows its
        index names."""
        trace = self.trace
        for name, t in trace.tensors.items():
            if name in self.taken:
                continue
            names = None
            if trace.convs and t.ndim == trace.convs[-1].y.ndim:
                names = trace.convs[-1].spec.lead_names("y")
            for b in _tensor_panels(t, names, self.leaf, len(self.placed) + len(self.generic), self.owner,
                                    trace.spatial_dims):
                b.depth = -1  # decided by the walk
                self.by_key[b.key] = b
                self.generic.append(b)
                self._anchor(b)
                self.done[b.grid[b.grid >= 0]] = True
            self.taken.add(name)

    def _depth_of(self, b):
        return 0 if id(b) in self.section_ids else b.depth

    def _ops_panel(self, base, op, r, c, shape):
        """The panel of op ``op`` anchored on panel key ``base`` whose cell (r, c) is still free."""
        k = 0
        while (("ops", base, op, k), r, c) in self.occupied:
            k += 1
        key = ("ops", base, op, k)
        b = self.by_key.get(key)
        if b is None:
            rows, cols = shape
            root = self.by_key.get(base) if isinstance(base, tuple) else None
            while root is not None and root.kind == "ops":
                root = self.by_key.get(root.key[1])
            suffix = root.title[len(root.tensor):] if root is not None and root.tensor else ""
            title = op + suffix if k == 0 else f"{op}{suffix} ({k + 1})"
            while title in self.titles:
                title += "'"
            self.titles.add(title)
            b = _Builder(key, title if shape != (1, 1) else None, "ops", cols * self.lw, rows * self.lh,
                         grid=None, order=len(self.placed) + len(self.generic))
            b.grid = np.full(shape, -1, dtype=np.int64)
            b.depth = -1
            self.by_key[key] = b
            self.generic.append(b)
        self.occupied.add((key, r, c))
        return b

    def _put(self, n, b, r, c):
        b.grid[r, c] = n
        b.add([n], [(c + 0.5) * self.lw], [(r + 0.5) * self.lh])
        self.cell[n] = (b, r, c)

    def _deepen(self, b, ps):
        d = max((self._depth_of(self.cell[p][0]) for p in ps if p in self.cell and self.cell[p][0] is not b),
                default=-1)
        b.depth = max(b.depth, d + 1)

    def _walk_ops(self):
        """Every unplaced node in creation order: an elementwise op takes the cell of its most recent
        operand in a panel of its own. Returns the sources (leaves) left for later."""
        nodes = self.trace.graph.nodes
        sources = []
        tensor_nodes = [n for b in self.generic for n in b.grid[b.grid >= 0].tolist()]
        for n in sorted(set(np.flatnonzero(~self.done).tolist()) | set(tensor_nodes)):
            ps = list(self.pred[n])
            if n in self.cell:  # an element of a later tensor: only its depth
                self._deepen(self.cell[n][0], ps)
                continue
            if not ps:
                sources.append(n)
                continue
            op = nodes[n]["op"]
            gp = [p for p in ps if p in self.cell]
            if gp:
                same = [p for p in gp if self.cell[p][0].kind == "ops" and self.cell[p][0].key[2] == op]
                others = [p for p in gp if p not in same]
                if same and others:  # a running sum over a grid fills one panel cell by cell
                    base_b = self.cell[same[-1]][0]
                    _, r, c = self.cell[max(others)]
                    b = self._ops_panel(base_b.key[1], op, r, c, base_b.grid.shape)
                else:
                    ab, r, c = self.cell[max(gp)]
                    b = self._ops_panel(ab.key, op, r, c, ab.grid.shape)
            else:
                b = self._ops_panel(("node", n), op, 0, 0, (1, 1))
                r = c = 0
            self._put(n, b, r, c)
            self._deepen(b, ps)
        return sources

    def _place_sources(self, sources):
        """A leaf constant sits next to the node it feeds, one column to the left."""
        nodes = self.trace.graph.nodes
        for s in sources:
            consumers = [m for m in self.succ[s] if m in self.cell]
            if consumers:
                cb, r, c = self.cell[min(consumers)]
                b = self._ops_panel(("src", cb.key), nodes[s]["op"], r, c, cb.grid.shape)
                self._put(s, b, r, c)
                b.depth = min(b.depth if b.depth >= 0 else 10**9, self._depth_of(cb) - 1)
            else:
                b = self._ops_panel(("node", s), nodes[s]["op"], 0, 0, (1, 1))
                self._put(s, b, 0, 0)

    def _settle_depths(self):
        for b in self.generic:  # a tensor of leaves (a target): just left of what it feeds
            if b.depth < 0:
                ds = [self._depth_of(self.cell[m][0]) for n in b.grid[b.grid >= 0].tolist()
                      for m in self.succ[n] if m in self.cell]
                b.depth = min(ds, default=2) - 1
        if self.trace.convs:
            for b in self.generic:
                b.depth = max(b.depth, 1)


def _cell_sizes(leaf_size, leaf_sizes):
    """The default cell size and the per-tensor ones, checked."""
    if (not isinstance(leaf_size, (tuple, list)) or len(leaf_size) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in leaf_size)):
        raise TypeError(f"leaf_size must be a pair of numbers (width, height) in slots, got {leaf_size!r}")
    if min(leaf_size) <= 0:
        raise ValueError(f"leaf_size must be positive, got {leaf_size!r}")
    default = (float(leaf_size[0]), float(leaf_size[1]))
    sizes = {}
    if leaf_sizes is not None:
        if not isinstance(leaf_sizes, dict):
            raise TypeError(f"leaf_sizes must be a dict of tensor name -> (width, height), got {leaf_sizes!r}")
        for name, size in leaf_sizes.items():
            if (not isinstance(size, (tuple, list)) or len(size) != 2
                    or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0 for v in size)):
                raise ValueError(f"leaf_sizes[{name!r}] must be a pair of positive numbers, got {size!r}")
            sizes[name] = (float(size[0]), float(size[1]))
    return default, sizes


def _owners(trace):
    """Which tensor owns each element node: the first that named it (None for other nodes)."""
    nodes = trace.graph.nodes
    owner = np.full(trace.graph.number_of_nodes(), None, dtype=object)
    for name, t in trace.tensors.items():
        for n in t.nodes.ravel().tolist():
            if owner[n] is None and nodes[n].get("tensor") == name:
                owner[n] = name
    return owner


def _place_sections(trace, leaf, collapsed, owner, taken, wide=False):
    """The convolution sections left to right, centred on one line. Returns (sections, builders,
    right edge, centre line)."""
    sections = [_Section(rec, leaf, collapsed, taken, owner, k, wide) for k, rec in enumerate(trace.convs)]
    center = max((s.height for s in sections), default=0.0) / 2
    x, builders = 0.0, []
    for s in sections:
        for p in s.panels:
            p.x0 += x
            p.y0 += center - s.height / 2
        builders += s.panels
        x += s.width + _COLUMN_GAP
    return sections, builders, x, center


def _place_columns(generic, x, center):
    """Columns by depth, to the right of the sections."""
    columns = {}
    for b in sorted(generic, key=lambda b: (b.depth, b.order)):
        columns.setdefault(b.depth, []).append(b)
    for d in sorted(columns):
        x += _stack(columns[d], x, center) + _COLUMN_GAP


def _wanted(nodes, count):
    if nodes is None:
        return None
    want = np.zeros(count, dtype=bool)
    idx = np.fromiter((int(n) for n in nodes), dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= count):
        bad = idx[(idx < 0) | (idx >= count)][0]
        raise ValueError(f"nodes must be node ids of this trace (0..{count - 1}), got {bad}")
    want[idx] = True
    return want


def _assemble(builders, want, collapsed, cell_size):
    """Global coordinates (y up) of the wanted nodes, and the panels' boxes."""
    ids_all, xs_all, ys_all, which = [], [], [], []
    panels = []
    for b in builders:
        if collapsed and b.kind != "tensor":
            continue
        for ids, lx, ly in zip(b.ids, b.lx, b.ly):
            if want is not None:
                k = want[ids]
                ids, lx, ly = ids[k], lx[k], ly[k]
            ids_all.append(ids)
            which.append(np.full(len(ids), len(panels), dtype=np.int64))
            xs_all.append(b.x0 + lx)
            ys_all.append(-(b.y0 + ly))
        grid = None if b.kind != "tensor" else b.grid.copy()
        if grid is not None:
            grid.flags.writeable = False
        panels.append(Panel(b.title, b.kind, b.tensor, b.lead, grid, (b.x0, -(b.y0 + b.h), b.x0 + b.w, -b.y0)))
    pos, panel_of = {}, {}
    if ids_all:
        ids = np.concatenate(ids_all).tolist()
        pos = dict(zip(ids, zip(np.concatenate(xs_all).tolist(), np.concatenate(ys_all).tolist())))
        panel_of = dict(zip(ids, np.concatenate(which).tolist()))
    regions = {p.title: p.box for p in panels if p.title is not None}
    bbox = (0.0, 0.0, 0.0, 0.0)
    if panels:
        bbox = (min(p.box[0] for p in panels), min(p.box[1] for p in panels),
                max(p.box[2] for p in panels), max(p.box[3] for p in panels))
    return Layout(pos, regions, tuple(panels), cell_size, collapsed, bbox, panel_of)


def layout(trace, nodes=None, *, collapsed=False, leaf_size=LEAF_SIZE, leaf_sizes=None, wide=False):
    """Compute grid-anchored positions for ``trace``'s nodes (see the module docstring).

    Parameters
    ----------
    trace : Trace
    nodes : iterable of int, optional
        Only build positions for these nodes (the panels are always complete). Default: all.
    collapsed : bool
        Tensor panels only (``pos`` then holds tensor elements only).
    leaf_size : (float, float)
        Cell of one tensor element, in slots (width, height).
    leaf_sizes : dict, optional
        Cell sizes of particular tensors by name (say bigger cells for a small kernel).
    wide : bool
        Collapsed view only: x, w and y panels side by side, level with each other (a wide picture
        for a 16:9 slide), instead of x and y below the w grid.

    Returns
    -------
    Layout

    Raises
    ------
    TypeError
        If ``trace`` is not a Trace or ``leaf_size`` is not a pair of numbers.
    ValueError
        If ``leaf_size`` is not positive.
    """
    from ..tracer.trace import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a convgraph Trace, got {type(trace).__name__}")
    default, sizes = _cell_sizes(leaf_size, leaf_sizes)

    def leaf(name):
        return sizes.get(name, default)

    collapsed = bool(collapsed)
    owner = _owners(trace)
    taken = set()
    sections, builders, conv_right, center = _place_sections(trace, leaf, collapsed, owner, taken, bool(wide))
    generic = _Generic(trace, leaf, default, owner, builders, sections, taken).place()
    if collapsed:
        generic = [b for b in generic if b.kind == "tensor"]
    _place_columns(generic, conv_right, center)
    want = _wanted(nodes, trace.graph.number_of_nodes())
    return _assemble(builders + generic, want, collapsed, default)
