"""The ``"graph"`` animation: the computational graph drawn once on the shared grid-anchored layout,
then backpropagated node by node, the current node lit and gradients filling in as heat.

Frame k shows the state after step k of the walk (frame 0: before the first step), titled with
the same "step k of N" and chain rule as ``convgraph step``; with ``graph_steps=s`` each frame
advances s steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import style, words
from ..layout import layout
from ..numbers import num
from .encoding import palette_colors
from .lettering import Glyphs, canvas_rgba, fit_dpi, fit_text, rgba_to_rgb, shared_text, stamp_alpha, stamp_line

__all__ = ["GraphFrame", "graph_frames", "graph_clip", "GraphRenderer"]

_LEAF = (1.6, 1.6)  # a tensor element's cell in layout slots: square, room for a number


@dataclass(frozen=True)
class GraphFrame:
    """One picture of the walk: the state after step ``last`` (steps ``first``…``last`` are new in it;
    0 before the first step); ``current`` the node processed last (None in frame 0), ``pushed`` the
    operands it pushed into."""

    first: int
    last: int
    current: int | None
    pushed: tuple
    title: str
    caption: str
    phase: str = "walk"  # "seed" for frame 0: the clip pauses before the walk starts


def graph_frames(trace, walk, *, max_frames=400, stride=None):
    """Frame 0 (before backprop), then ``stride`` steps of ``walk`` per frame (default 1, or as many
    as keep the clip within ``max_frames``); the last frame is step N.

    Raises
    ------
    TypeError, ValueError
        For a ``stride`` that is not a positive int.
    """
    if stride is not None:
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)):
            raise TypeError(f"graph_steps must be an int, got {type(stride).__name__}: {stride!r}")
        if stride < 1:
            raise ValueError(f"graph_steps must be positive, got {stride!r}")
    n = len(walk)
    stride = max(1, math.ceil(n / max(max_frames - 1, 1))) if stride is None else int(stride)
    caption = ("backprop walks the nodes in reverse creation order; each node pushes grad·local into its "
               "operands, which add it up (+=)")
    if n > style.NODE_BUDGET:
        caption = (f"collapsed: {n:,} nodes are over the budget of {style.NODE_BUDGET:,}, so only the tensors' "
                   f"cells are drawn; each fills in as backprop reaches it")
    frames = [GraphFrame(0, 0, None, (), words.before(trace, walk), caption, "seed")]
    for first in range(1, n + 1, stride):
        last = min(first + stride - 1, n)
        step = walk.step(last)
        head = f"{walk.text(last)}: " if last == first else f"steps {first}–{last} of {n}, last: "
        frames.append(GraphFrame(first, last, step.node, tuple(p.node for p in step.pushes),
                                 head + words.chain(trace, step, readable=True), caption))
    return frames


def graph_clip(trace, walk, *, dpi, max_frames=400, numbers=None, stride=None, check=None, fit=None):
    """The renderer and the frames of the graph clip (see :func:`graph_frames`). Past
    ``style.NODE_BUDGET`` nodes the picture is collapsed, as the diagrams are: tensor cells only."""
    frames = graph_frames(trace, walk, max_frames=max_frames, stride=stride)
    return GraphRenderer(trace, walk, frames, dpi=dpi, numbers=numbers, check=check, fit=fit), frames


def _two(colors):
    """``colors`` with at least two rows. matplotlib stamps a collection of one colour as one
    rasterised marker (slightly different pixels); with two or more it draws each marker's path.
    Every marker of a graph frame is drawn the second way, however many share a colour, so a few
    markers redrawn alone match a full drawing pixel for pixel."""
    return colors if len(colors) != 1 else np.concatenate([colors, colors])


_REDRAW_ALL = 16  # more changed markers than this: all are drawn again at once (cheaper than one by one)


class GraphRenderer:
    """Draws :class:`GraphFrame` records over the grid-anchored layout of ``trace``, blitting.

    Parameters
    ----------
    trace : Trace
    walk : Walk
        The backward pass the frames show (only read).
    frames : list of GraphFrame
    dpi : float
    numbers : bool or None
        Gradients written into tensor-element cells; default: when the cells are big enough.
    check : callable(width_in, height_in, dpi), optional
        Raises when the frames would be too big.
    fit : (width, height), optional
        Pixels the drawing should fill: the dpi that makes it as large as fits replaces ``dpi``.
    """

    def __init__(self, trace, walk, frames, *, dpi, numbers=None, check=None, fit=None):
        A = style.ANIM
        self.trace, self.walk, self.frames = trace, walk, frames
        self.collapsed = trace.graph.number_of_nodes() > style.NODE_BUDGET
        lay = layout(trace, leaf_size=_LEAF, collapsed=self.collapsed)
        self.slot_pt = self._figure(lay, dpi, check, fit)
        dpi = self.dpi
        self.pos = np.full((trace.graph.number_of_nodes(), 2), np.nan)
        for n, xy in lay.pos.items():
            self.pos[n] = xy
        self.placed = np.isfinite(self.pos[:, 0])
        self.lay = lay
        self._panels(lay)
        self._edges()
        self._markers()
        self._colorbar()
        self._glyphs = Glyphs(dpi)
        avail = (self.fig_w - 0.3) * dpi
        self.title_pt = fit_text(self._glyphs, [f.title for f in frames], avail, A["title_pt"])
        self.caption_pt = fit_text(self._glyphs, [f.caption for f in frames], avail, A["caption_pt"])
        self.title_top = int(round(0.18 * dpi))
        self.caption_bottom = int(round((self.fig_h - 0.1) * dpi))
        self.ink = np.array(style.to_rgba(style.INK)[:3]) * 255
        self.numbers = (self.leaf_pt >= A["min_number_cell_pt"]) if numbers is None else bool(numbers)
        self.leaf_font = style.cell_font_pt(self.leaf_pt, 4)
        self.canvas.draw()
        self.caption = shared_text([f.caption for f in frames])  # one for every frame: part of the background
        if self.caption is not None:
            rgb = np.asarray(self.canvas.buffer_rgba())[..., :3]
            stamp_line(rgb, self._glyphs, self.caption, self.caption_pt, self.caption_bottom, False, self.ink)
        self._bg = self.canvas.copy_from_bbox(self.fig.bbox)
        self._bg_pixels = canvas_rgba(self.canvas)
        w, h = self.canvas.get_width_height()
        self.size = (int(h), int(w))
        # Leaf cell centres in pixels, for the numbers.
        xy = self.ax.transData.transform(self.pos[self.leaf_ids]) if len(self.leaf_ids) else np.empty((0, 2))
        self.leaf_px = np.column_stack([np.round(xy[:, 0]), np.round(self.size[0] - xy[:, 1])]).astype(int)
        self._leaf_index = {n: k for k, n in enumerate(self.leaf_ids.tolist())}
        self._k = {id(f): k for k, f in enumerate(frames)}
        self._dirty_boxes()

    def _dirty_boxes(self):
        """Each marker's pixel box (display coordinates, with room for its outline and antialiasing)
        and, for each, the markers whose boxes meet it: what redrawing one marker touches."""
        placed = np.flatnonzero(self.placed)
        self._base = None  # the marker colours drawn on the canvas now (None: not drawn yet)
        if self.collapsed or not len(placed):
            return
        centre = self.ax.transData.transform(self.pos[placed])
        px = self.dpi / 72
        half = np.where(np.isin(placed, self.leaf_ids), self.leaf_pt / 2 + 0.4, self._op_pt / 2 + 0.5) * px + 2
        box = np.column_stack([np.floor(centre - half[:, None]), np.ceil(centre + half[:, None])])  # x0 y0 x1 y1
        self._box = np.full((len(self.pos), 4), np.nan)
        self._box[placed] = box
        meets = ((box[:, None, 0] < box[None, :, 2]) & (box[None, :, 0] < box[:, None, 2])
                 & (box[:, None, 1] < box[None, :, 3]) & (box[None, :, 1] < box[:, None, 3]))
        self._meets = {int(n): placed[np.flatnonzero(row)] for n, row in zip(placed, meets)}
        self._is_leaf = np.zeros(len(self.pos), bool)
        self._is_leaf[self.leaf_ids] = True

    # ---- drawn once --------------------------------------------------------------------------
    def _figure(self, lay, dpi, check=None, fit=None):
        """A figure sized for a 16:9 slide around the layout, at ``dpi`` or at the dpi that fills
        ``fit`` pixels (kept as ``self.dpi``); returns points per layout slot."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        A = style.ANIM
        x0, y0, x1, y1 = lay.bbox
        x0, x1, y0, y1 = x0 - 1.0, x1 + 1.0, y0 - 1.0, y1 + 2.0  # room for panel titles
        span_w, span_h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        top, bottom = 0.25 + 2 * A["title_pt"] * 1.45 / 72, 1.25
        max_w, max_h = A["max_inch"]
        slot = min(max_w / span_w, (max_h - top - bottom) / span_h, 0.5)  # inches per slot
        self.fig_w = max(span_w * slot, 9.0)
        self.fig_h = span_h * slot + top + bottom
        if fit is not None:
            dpi = fit_dpi(self.fig_w, self.fig_h, fit)
        self.dpi = dpi
        if check is not None:  # the pixel budget, before any figure is made
            check(self.fig_w, self.fig_h, dpi)
        self.fig = Figure(figsize=(self.fig_w, self.fig_h), dpi=dpi, facecolor=style.BACKGROUND)
        self.canvas = FigureCanvasAgg(self.fig)
        ax_w = span_w * slot / self.fig_w
        self.ax = self.fig.add_axes(((1 - ax_w) / 2, bottom / self.fig_h, ax_w, span_h * slot / self.fig_h))
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.set_axis_off()
        return slot * 72

    def _panels(self, lay):
        from matplotlib.patches import Rectangle

        A = style.ANIM
        for p in lay.panels:
            bx0, by0, bx1, by1 = p.box
            self.ax.add_patch(Rectangle((bx0 - 0.3, by0 - 0.3), bx1 - bx0 + 0.6, by1 - by0 + 0.6,
                                        facecolor=A["panel_fill"], edgecolor=A["panel_outline"], linewidth=0.6,
                                        zorder=0))
            if p.title:  # a tensor's cells show its gradient, and say so
                title = f"∂loss/∂{p.title}" if p.kind == "tensor" else p.title
                self.ax.text((bx0 + bx1) / 2, by1 + 0.45, title, ha="center", va="bottom", color=style.INK, zorder=5,
                             bbox=dict(facecolor=style.BACKGROUND, edgecolor="none", pad=1.0),
                             fontsize=min(A["panel_title_pt"], max(self.slot_pt * 0.9, 6.0)), fontfamily=style.FONT)

    def _edges(self):
        from matplotlib.collections import LineCollection

        if self.collapsed:  # tensor cells only: the panels say which feeds which
            return
        edges = np.array(list(self.trace.graph.edges()), dtype=np.int64).reshape(-1, 2)
        src, dst = edges[:, 0], edges[:, 1]
        ok = self.placed[src] & self.placed[dst]
        segs = np.stack([self.pos[src[ok]], self.pos[dst[ok]]], axis=1)  # (E, 2, 2)
        self.ax.add_collection(LineCollection(segs, colors=style.ANIM["edge"],
                                              linewidths=0.5 if len(segs) > 2000 else 0.8, zorder=1))

    def _markers(self):
        """Squares for tensor elements, circles for ops, the current node's ring and its pushes."""
        from matplotlib.collections import LineCollection

        A = style.ANIM
        nodes = self.trace.graph.nodes
        count = len(self.pos)
        is_leaf = np.array(["tensor" in nodes[n] for n in range(count)], dtype=bool)
        self.leaf_ids = np.flatnonzero(is_leaf & self.placed)
        self.op_ids = np.flatnonzero(~is_leaf & self.placed)
        self.leaf_pt = max(min(_LEAF) * 0.85 * self.slot_pt, 2.0)
        op_pt = self._op_pt = max(min(0.7 * self.slot_pt, A["node_pt"][1]), 1.5)
        # The diagrams' heat scale: signed, square-root spread when one gradient dwarfs the rest;
        # the largest |gradient| any node holds at any time fixes it.
        totals = np.abs(self.walk.arrays()["total"])
        seeds = np.abs(np.asarray(self.walk.dY, dtype=float)).ravel()
        vmax = float(max(totals.max(initial=0.0), seeds.max(initial=0.0))) or 1.0
        self.heat = style.HeatScale.for_values(np.append(self.walk.final, vmax), signed=True, spread=True)
        self.cmap = style.colormap(self.heat.cmap_name)
        self.empty = np.array(style.to_rgba(A["empty"]))
        self.unreached_edge = np.array(style.to_rgba(style.VISITED))
        self.op_edges = np.array([style.to_rgba(style.OP_COLORS.get(nodes[n]["op"], style.INK))
                                  for n in self.op_ids]).reshape(-1, 4)
        pos = self.pos
        self.images = []  # collapsed: one image per tensor panel, much faster than thousands of squares
        if self.collapsed:
            for p in self.lay.panels:
                x0, y0, x1, y1 = p.box
                im = self.ax.imshow(np.zeros(p.nodes.shape + (4,)), extent=(x0, x1, y0, y1), origin="upper",
                                    interpolation="nearest", zorder=2, aspect="auto")
                im.set_animated(True)
                self.images.append((im, p.nodes))
        shown = self.leaf_ids[:0] if self.collapsed else self.leaf_ids
        self.leaves = self.ax.scatter(pos[shown, 0], pos[shown, 1], s=self.leaf_pt ** 2, marker="s",
                                      linewidths=0.8, edgecolors=A["leaf_outline"], zorder=2)
        self.ops = self.ax.scatter(pos[self.op_ids, 0], pos[self.op_ids, 1], s=op_pt ** 2, marker="o",
                                   linewidths=1.0 if op_pt > 5 else 0.4, edgecolors=self.op_edges, zorder=2)
        self.active = LineCollection([], colors=A["edge_active"], linewidths=2.2, zorder=3, path_effects=style.halo(2.2, 1.5))
        self.ax.add_collection(self.active)
        self.ring = self.ax.scatter([], [], s=(max(self.leaf_pt, op_pt) * 1.6) ** 2, facecolors="none",
                                    edgecolors=A["window"], linewidths=A["window_pt"], zorder=4, path_effects=style.halo())
        # The same markers for a few nodes at a time: what a frame redraws where colours changed.
        self.some_leaves = self.ax.scatter([], [], s=self.leaf_pt ** 2, marker="s", linewidths=0.8,
                                           edgecolors=A["leaf_outline"], zorder=2)
        self.some_ops = self.ax.scatter([], [], s=op_pt ** 2, marker="o", linewidths=1.0 if op_pt > 5 else 0.4, zorder=2)
        for a in (self.leaves, self.ops, self.active, self.ring, self.some_leaves, self.some_ops):
            a.set_animated(True)

    def _colorbar(self):
        """The colour bar, bottom centre."""
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        A = style.ANIM
        cw = min(4.0, self.fig_w * 0.4)
        cax = self.fig.add_axes(((1 - cw / self.fig_w) / 2, 0.75 / self.fig_h, cw / self.fig_w, 0.14 / self.fig_h))
        cb = self.fig.colorbar(ScalarMappable(Normalize(0.0, 1.0), self.cmap), cax=cax, orientation="horizontal")
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        cb.set_ticks(ticks, labels=[num(float(f"{self.heat.value_at(t):.2g}")) for t in ticks])
        cb.ax.tick_params(labelsize=A["tick_pt"], length=2, pad=1)
        label = "gradient ∂L/∂node" + (" (square-root scale)" if self.heat.gamma != 1 else "")
        cb.set_label(label + "; grey outline: not reached yet", fontsize=A["tick_pt"], labelpad=1)

    # ---- each frame --------------------------------------------------------------------------
    def render(self, frame):
        """Pixels of ``frame`` (a :class:`GraphFrame` of this clip): (H, W, 3) uint8."""
        return rgba_to_rgb(self.render_rgba(frame))

    def render_rgba(self, frame):
        """Pixels of ``frame`` as (H, W, 4) uint8, alpha 255: what a GIF is encoded from."""
        self._index(frame)
        grads = self.walk.grads_after(frame.last)
        reached = self.walk.touched_after(frame.last)
        h = self.heat
        frac = 0.5 + 0.5 * np.sign(grads) * np.minimum(np.abs(grads) / h.vmax, 1.0) ** h.gamma
        colors = self.cmap(frac)  # (count, 4)
        colors[~reached] = self.empty
        op_edges = self.op_edges.copy()
        op_edges[~reached[self.op_ids]] = self.unreached_edge
        labels = self._leaf_labels(colors, grads, reached) if self.numbers else {}
        if self.collapsed:
            self.canvas.restore_region(self._bg)
            for im, nodes in self.images:
                cells = np.where((nodes >= 0)[..., None], colors[np.maximum(nodes, 0)], 0.0)  # (rows, cols, 4)
                im.set_data(cells)
                self.fig.draw_artist(im)
        else:
            self._draw_markers(colors, op_edges, labels)
        box = self._set_arrows(frame)
        buf = np.asarray(self.canvas.buffer_rgba())
        if box is not None and not self.collapsed:  # under the arrows: the markers without their numbers
            kept = buf[box].copy()
            buf[box] = self._plain[box]
        for a in (self.active, self.ring):
            self.fig.draw_artist(a)
        rgba = canvas_rgba(self.canvas)
        rgb = rgba[..., :3]  # a view: the stamps write into the frame
        if self.collapsed:
            self._stamp_labels(rgb, labels)
        elif box is not None:  # the next frame starts from the markers alone; numbers go over the arrows
            buf[box] = kept
            self._stamp_labels(rgb[box], labels, box)
        y = self.title_top
        for line in frame.title.split("\n"):
            y += stamp_line(rgb, self._glyphs, line, self.title_pt, y, True, self.ink)
        if frame.caption != self.caption:
            stamp_line(rgb, self._glyphs, frame.caption, self.caption_pt, self.caption_bottom, False, self.ink)
        return rgba

    def _set_arrows(self, frame):
        """Point the current node's ring and its pushes at this frame's; returns the frame's (rows,
        cols) slices they will be drawn in (with room for their width and halo), or None."""
        cur, pos = frame.current, self.pos
        if cur is None or not self.placed[cur]:
            self.active.set_segments([])
            self.ring.set_offsets(np.empty((0, 2)))
            return None
        ends = [pos[p] for p in frame.pushed if self.placed[p]]
        self.active.set_segments([[e, pos[cur]] for e in ends])
        self.ring.set_offsets(pos[[cur]])
        xy = self.ax.transData.transform(np.array(ends + [pos[cur]], float))
        A = style.ANIM
        pad = (max(self.leaf_pt, self._op_pt) * 0.8 + A["window_pt"] + 2 * A["halo_pt"] + 4) * self.dpi / 72 + 3
        return self._rows_cols((np.floor(xy[:, 0].min() - pad), np.floor(xy[:, 1].min() - pad),
                                np.ceil(xy[:, 0].max() + pad), np.ceil(xy[:, 1].max() + pad)))

    def _draw_markers(self, colors, op_edges, labels):
        """Bring the canvas's markers to these colours, and its leaves' numbers to ``labels``
        ({leaf: (text, ink)}). The first time, or after a jump (more than ``_REDRAW_ALL`` changed),
        every marker over the background; else only where colours or numbers changed, exactly as a
        full drawing would come out: for a changed marker's box R, the markers meeting R are drawn
        whole over the background (in the box R' that holds them all), only R is kept of that
        drawing, and the numbers are written into R.
        ``self._plain`` keeps the markers without numbers (what goes under the arrows)."""
        face = colors.copy()
        edge = np.zeros_like(colors)
        edge[self.op_ids] = op_edges
        buf = np.asarray(self.canvas.buffer_rgba())  # the canvas's own pixels, writable
        redo = None
        if self._base is not None:
            old_face, old_edge, old_labels = self._base
            redo = self.placed & ((face != old_face).any(axis=1) | (edge != old_edge).any(axis=1))
            redo[[n for n in set(labels) | set(old_labels) if labels.get(n) != old_labels.get(n)]] = True
        if redo is None or redo.sum() > _REDRAW_ALL:  # the first frame, or a jump (the palette's samples)
            self.canvas.restore_region(self._bg)
            self.leaves.set_facecolors(_two(face[self.leaf_ids]))
            self.ops.set_facecolors(_two(face[self.op_ids]))
            self.ops.set_edgecolors(_two(op_edges))
            self.fig.draw_artist(self.leaves)
            self.fig.draw_artist(self.ops)
            self._plain = np.array(buf)
            self._stamp_labels(buf[..., :3], labels)
        else:
            for n in np.flatnonzero(redo).tolist():
                self._redraw(n, face, edge, labels, buf)
        self._base = (face, edge, labels)

    def _redraw(self, n, face, edge, labels, buf):
        """Redraw marker ``n``'s box R: the markers meeting it, drawn whole over the background (in the
        box that holds them all), kept inside R only, with their numbers written into R."""
        near = self._meets[n]
        r = self._rows_cols(self._box[n])
        whole = self._rows_cols(np.concatenate([self._box[near, :2].min(axis=0), self._box[near, 2:].max(axis=0)]))
        keep = buf[whole].copy()
        buf[whole] = self._bg_pixels[whole]
        for artist, ids in ((self.some_leaves, near[self._is_leaf[near]]), (self.some_ops, near[~self._is_leaf[near]])):
            if len(ids):
                artist.set_offsets(self.pos[ids])
                artist.set_facecolors(_two(face[ids]))
                if artist is self.some_ops:
                    artist.set_edgecolors(_two(edge[ids]))
                self.fig.draw_artist(artist)
        inner = buf[r].copy()
        buf[whole] = keep
        buf[r] = self._plain[r] = inner
        self._stamp_labels(buf[r][..., :3], {m: labels[m] for m in near.tolist() if m in labels}, r)

    def _rows_cols(self, box):
        """The buffer slices of a display box (x0, y0, x1, y1): rows count from the top."""
        height, width = self.size
        x0, y0, x1, y1 = (int(v) for v in box)
        return slice(max(height - y1, 0), max(height - y0, 0)), slice(max(x0, 0), max(min(x1, width), 0))

    def _index(self, frame):
        k = self._k.get(id(frame))
        if k is None:
            raise ValueError("frame is not one of this renderer's frames")
        return k

    def _leaf_labels(self, colors, grads, reached):
        """{leaf: (its number, ink 0 or 255 by its fill)} of the leaves backprop has reached."""
        lum = 0.2126 * colors[:, 0] + 0.7152 * colors[:, 1] + 0.0722 * colors[:, 2]
        return {n: (num(grads[n]), 0.0 if lum[n] > 0.45 else 255.0) for n in self.leaf_ids.tolist() if reached[n]}

    def _stamp_labels(self, rgb, labels, box=None):
        """Stamp leaf numbers into ``rgb``: the whole frame, or the part ``box`` (its (rows, cols)
        slices) of it, each number cut to that part."""
        top, left = (box[0].start, box[1].start) if box is not None else (0, 0)
        if box is not None and len(labels) > 8:  # only the leaves whose cells can reach into the part
            reach = 2 * self.leaf_pt * self.dpi / 72  # a number fits its cell (half of this each way)
            x, y = self.leaf_px[:, 0], self.leaf_px[:, 1]
            near = ((x + reach > left) & (x - reach < box[1].stop) & (y + reach > top) & (y - reach < box[0].stop))
            labels = {n: labels[n] for n in self.leaf_ids[near].tolist() if n in labels}
        for n, (text, ink) in labels.items():
            cx, cy = self.leaf_px[self._leaf_index[n]]
            stamp_alpha(rgb, self._glyphs.get(text, self.leaf_font), int(cx) - left, int(cy) - top, ink,
                        clip=box is not None)

    def palette_colors(self):
        """Colours a GIF palette must hold exactly: the fixed looks, then the heat colour map."""
        return palette_colors([self.cmap])

    def close(self):
        """Let go of the figure and its pixels. (Not ``Figure.clear()``: clearing axes rebuilds their
        ticks, which costs more than a short clip's frames.)"""
        self.fig = self.canvas = self._bg = self._plain = None
