"""The ``"graph"`` animation: the computational graph drawn once on the shared grid-anchored layout,
then backpropagated node by node, the current node lit and gradients filling in as heat."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import style
from .scenes import num

__all__ = ["GraphFrame", "GraphFrames", "graph_frames", "GraphRenderer"]

_LEAF = (1.6, 1.6)  # a tensor element's cell in layout slots: square, room for a number


@dataclass(frozen=True)
class GraphFrame:
    """One picture of the walk: steps ``first..last`` done; ``nodes``/``totals`` are the gradients
    that changed since the previous frame; ``current`` the node processed last, ``pushed`` the
    operands it pushed into."""

    first: int
    last: int
    nodes: np.ndarray
    totals: np.ndarray
    current: int
    pushed: tuple
    title: str
    caption: str


@dataclass(frozen=True)
class GraphFrames:
    """The frames of a graph clip, the seeds (gradients before the first step) and the final gradients."""

    frames: list
    seeds: dict
    final: np.ndarray  # gradient of every node after the last frame, by node id
    vmax: float  # largest |gradient| any node holds at any time (fixes the colour scale)


def graph_frames(trace, *, dY=None, max_frames=400, stride=None):
    """Walk ``trace.steps(dY)`` and group the steps into frames (``stride`` steps each; default 1, or
    as many as keep the clip within ``max_frames``). The walk leaves the gradients on the graph.

    Raises
    ------
    TypeError, ValueError
        For a ``stride`` that is not a positive int.
    """
    from .text import StepText

    if stride is not None:
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)):
            raise TypeError(f"graph_steps must be an int, got {type(stride).__name__}: {stride!r}")
        if stride < 1:
            raise ValueError(f"graph_steps must be positive, got {stride!r}")
    if dY is None and trace.has_grad:
        dY = trace.dY
    steps = trace.step_list(dY)
    n = len(steps)
    stride = max(1, math.ceil(n / max_frames)) if stride is None else int(stride)
    text = StepText(trace, steps)
    count = trace.graph.number_of_nodes()
    seeds = {int(k): float(v) for k, v in zip(trace.output.nodes.ravel().tolist(), np.ravel(trace.dY).tolist())}
    grads = np.zeros(count)
    for k, v in seeds.items():
        grads[k] = v
    vmax = max([abs(v) for v in seeds.values()] + [0.0])
    caption = ("backprop walks the nodes in reverse creation order; each node pushes grad·local into its "
               "operands, which add it up (+=)")
    frames = []
    for start in range(0, n, stride):
        chunk = steps[start:start + stride]
        changed = {}
        for s in chunk:
            for p in s.pushes:
                changed[p.node] = p.total
                vmax = max(vmax, abs(p.total))
        last = chunk[-1]
        nodes = np.fromiter(changed.keys(), dtype=np.int64, count=len(changed))
        totals = np.fromiter(changed.values(), dtype=float, count=len(changed))
        grads[nodes] = totals
        head = f"step {last.index + 1}/{n}: " if len(chunk) == 1 else f"steps {start + 1}–{last.index + 1}/{n}, last: "
        frames.append(GraphFrame(start, last.index, nodes, totals, last.node,
                                 tuple(p.node for p in last.pushes), head + text.chain(last), caption))
    return GraphFrames(frames, seeds, grads, vmax if vmax > 0 else 1.0)


class GraphRenderer:
    """Draws :class:`GraphFrame` records over the grid-anchored layout of ``trace``, blitting.

    Parameters
    ----------
    trace : Trace
    frames : GraphFrames
    dpi : float
    numbers : bool or None
        Gradients written into tensor-element cells; default: when the cells are big enough.
    """

    def __init__(self, trace, frames, *, dpi, numbers=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        from .frames import _Glyphs, _rgba, fit_text
        from .layout import layout

        A = style.ANIM
        self.trace, self.gf = trace, frames
        lay = layout(trace, leaf_size=_LEAF)
        count = trace.graph.number_of_nodes()
        x0, y0, x1, y1 = lay.bbox
        x0, x1, y0, y1 = x0 - 1.0, x1 + 1.0, y0 - 1.0, y1 + 2.0  # room for panel titles
        span_w, span_h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        top, bottom = 0.25 + 2 * A["title_pt"] * 1.45 / 72, 1.25
        max_w, max_h = A["max_inch"]
        slot = min(max_w / span_w, (max_h - top - bottom) / span_h, 0.5)  # inches per slot
        fig_w = max(span_w * slot, 9.0)
        fig_h = span_h * slot + top + bottom
        self.fig = fig = Figure(figsize=(fig_w, fig_h), dpi=dpi, facecolor=style.BACKGROUND)
        self.canvas = FigureCanvasAgg(fig)
        ax_w = span_w * slot / fig_w
        ax = fig.add_axes(((1 - ax_w) / 2, bottom / fig_h, ax_w, span_h * slot / fig_h))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_axis_off()
        self.ax = ax
        slot_pt = slot * 72

        for p in lay.panels:
            bx0, by0, bx1, by1 = p.box
            ax.add_patch(Rectangle((bx0 - 0.3, by0 - 0.3), bx1 - bx0 + 0.6, by1 - by0 + 0.6, facecolor="#F7F7F7",
                                   edgecolor="#9A9A9A", linewidth=0.6, zorder=0))
            if p.title:
                ax.text((bx0 + bx1) / 2, by1 + 0.45, p.title, ha="center", va="bottom", color=style.INK,
                        fontsize=min(A["panel_title_pt"], max(slot_pt * 0.9, 6.0)), fontfamily=style.FONT)

        pos = np.full((count, 2), np.nan)
        for n, xy in lay.pos.items():
            pos[n] = xy
        self.pos = pos
        graph = trace.graph
        src, dst = [], []
        for u, v in graph.edges():
            src.append(u)
            dst.append(v)
        src, dst = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
        ok = np.isfinite(pos[src, 0]) & np.isfinite(pos[dst, 0])
        segs = np.stack([pos[src[ok]], pos[dst[ok]]], axis=1)  # (E, 2, 2)
        edge_w = 0.5 if len(segs) > 2000 else 0.8
        ax.add_collection(LineCollection(segs, colors=A["edge"], linewidths=edge_w, zorder=1))

        attrs = graph._node
        is_leaf = np.array(["tensor" in attrs[n] for n in range(count)])
        self.placed = np.isfinite(pos[:, 0])
        self.leaf_ids = np.flatnonzero(is_leaf & self.placed)
        self.op_ids = np.flatnonzero(~is_leaf & self.placed)
        leaf_pt = max(min(_LEAF) * 0.85 * slot_pt, 2.0)
        op_pt = max(min(0.7 * slot_pt, A["node_pt"][1]), 1.5)
        # The diagrams' heat scale: signed, square-root spread when one gradient dwarfs the rest.
        self.heat = style.HeatScale.for_values(np.append(frames.final, frames.vmax), signed=True, spread=True)
        from matplotlib import colormaps

        self.cmap, self.norm = colormaps[self.heat.cmap_name], Normalize(0.0, 1.0)
        self.empty = np.array(_rgba(A["empty"]))
        self.unreached_edge = np.array(_rgba(style.VISITED))
        self.op_edges = np.array([_rgba(style.OP_COLORS.get(attrs[n]["op"], style.INK)) for n in self.op_ids])
        op_edges = self.op_edges
        self.leaves = ax.scatter(pos[self.leaf_ids, 0], pos[self.leaf_ids, 1], s=leaf_pt ** 2, marker="s",
                                 linewidths=0.8, edgecolors="#666666", zorder=2)
        self.ops = ax.scatter(pos[self.op_ids, 0], pos[self.op_ids, 1], s=op_pt ** 2, marker="o",
                              linewidths=1.0 if op_pt > 5 else 0.4, edgecolors=op_edges, zorder=2)
        self.active = LineCollection([], colors=A["edge_active"], linewidths=2.2, zorder=3)
        ax.add_collection(self.active)
        self.ring = ax.scatter([], [], s=(max(leaf_pt, op_pt) * 1.6) ** 2, facecolors="none",
                               edgecolors=A["window"], linewidths=A["window_pt"], zorder=4)
        for a in (self.leaves, self.ops, self.active, self.ring):
            a.set_animated(True)

        # Colour bar, bottom centre.
        from matplotlib.cm import ScalarMappable

        cw = min(4.0, fig_w * 0.4)
        cax = fig.add_axes(((1 - cw / fig_w) / 2, 0.75 / fig_h, cw / fig_w, 0.14 / fig_h))
        cb = fig.colorbar(ScalarMappable(self.norm, self.cmap), cax=cax, orientation="horizontal")
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        cb.set_ticks(ticks, labels=[num(float(f"{self.heat.value_at(t):.2g}")) for t in ticks])
        cb.ax.tick_params(labelsize=A["tick_pt"], length=2, pad=1)
        label = "gradient ∂L/∂node" + (" (square-root scale)" if self.heat.gamma != 1 else "")
        cb.set_label(label + "; grey outline: not reached yet", fontsize=A["tick_pt"], labelpad=1)

        self._glyphs = _Glyphs(dpi)
        avail = (fig_w - 0.3) * dpi
        self.title_pt = fit_text(self._glyphs, [f.title for f in frames.frames], avail, A["title_pt"])
        self.caption_pt = fit_text(self._glyphs, [f.caption for f in frames.frames], avail, A["caption_pt"])
        self.title_top = int(round(0.18 * dpi))
        self.caption_bottom = int(round((fig_h - 0.1) * dpi))
        self.ink = np.array(_rgba(style.INK)[:3]) * 255
        self.numbers = (leaf_pt >= A["min_number_cell_pt"]) if numbers is None else bool(numbers)
        self.leaf_font = style.cell_font_pt(leaf_pt, 4)

        self.canvas.draw()
        self._bg = self.canvas.copy_from_bbox(fig.bbox)
        w, h = self.canvas.get_width_height()
        self.size = (int(h), int(w))
        # Leaf cell centres in pixels, for the numbers.
        xy = ax.transData.transform(pos[self.leaf_ids]) if len(self.leaf_ids) else np.empty((0, 2))
        self.leaf_px = np.column_stack([np.round(xy[:, 0]), np.round(self.size[0] - xy[:, 1])]).astype(int)
        self._grads = np.zeros(count)
        self._reached = np.zeros(count, bool)
        self._done = -1  # index of the last frame applied to _grads
        self._k = {id(f): k for k, f in enumerate(frames.frames)}

    def _state_at(self, k):
        """Gradients after frame ``k``; cheap forward, replays from the start to go back."""
        gf = self.gf
        if k < self._done:
            self._grads[:] = 0.0
            self._reached[:] = False
            self._done = -1
        if self._done == -1 and not self._reached.any():
            for n, v in gf.seeds.items():
                self._grads[n] = v
                self._reached[n] = True
        for j in range(self._done + 1, k + 1):
            f = gf.frames[j]
            self._grads[f.nodes] = f.totals
            self._reached[f.nodes] = True
        self._done = k
        return self._grads, self._reached

    def render(self, frame):
        """Pixels of ``frame`` (a :class:`GraphFrame` of this clip): (H, W, 3) uint8."""
        k = self._index(frame)
        grads, reached = self._state_at(k)
        h = self.heat
        frac = 0.5 + 0.5 * np.sign(grads) * np.minimum(np.abs(grads) / h.vmax, 1.0) ** h.gamma
        colors = self.cmap(frac)  # (count, 4)
        colors[~reached] = self.empty
        op_edges = self.op_edges.copy()
        op_edges[~reached[self.op_ids]] = self.unreached_edge
        self.ops.set_edgecolors(op_edges)
        self.canvas.restore_region(self._bg)
        self.leaves.set_facecolors(colors[self.leaf_ids])
        self.ops.set_facecolors(colors[self.op_ids])
        cur = frame.current
        pos = self.pos
        segs = [[pos[p], pos[cur]] for p in frame.pushed if self.placed[p] and self.placed[cur]]
        self.active.set_segments(segs)
        self.ring.set_offsets(pos[[cur]] if self.placed[cur] else np.empty((0, 2)))
        for a in (self.leaves, self.ops, self.active, self.ring):
            self.fig.draw_artist(a)
        rgb = np.asarray(self.canvas.buffer_rgba())[..., :3].copy()
        if self.numbers:
            self._stamp_leaf_numbers(rgb, colors, grads, reached)
        from .frames import stamp_line

        y = self.title_top
        for line in frame.title.split("\n"):
            y += stamp_line(rgb, self._glyphs, line, self.title_pt, y, True, self.ink)
        stamp_line(rgb, self._glyphs, frame.caption, self.caption_pt, self.caption_bottom, False, self.ink)
        return rgb

    def _index(self, frame):
        k = self._k.get(id(frame))
        if k is None:
            raise ValueError("frame is not one of this renderer's frames")
        return k

    def _stamp_leaf_numbers(self, rgb, colors, grads, reached):
        H, W = rgb.shape[:2]
        lum = 0.2126 * colors[:, 0] + 0.7152 * colors[:, 1] + 0.0722 * colors[:, 2]
        for n, (cx, cy) in zip(self.leaf_ids.tolist(), self.leaf_px.tolist()):
            if not reached[n]:
                continue
            alpha = self._glyphs.get(num(grads[n]), self.leaf_font)
            h, w = alpha.shape
            y0, x0 = cy - h // 2, cx - w // 2
            if y0 < 0 or x0 < 0 or y0 + h > H or x0 + w > W:
                continue
            ink = 0.0 if lum[n] > 0.45 else 255.0
            region = rgb[y0:y0 + h, x0:x0 + w].astype(np.float32)
            a = alpha[..., None]
            rgb[y0:y0 + h, x0:x0 + w] = (region * (1.0 - a) + ink * a + 0.5).astype(np.uint8)

    def palette_colors(self):
        """Colours a GIF palette must hold exactly: the fixed looks, then the heat colour map."""
        from .frames import palette_colors

        return palette_colors([self.cmap])

    def close(self):
        self.fig.clear()
