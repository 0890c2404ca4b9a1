"""Drawing a grid :class:`~convgraph.renderers.animations.grid_scenes.Scene` into RGB frames with one
reused figure.

The figure is laid out once on one axes (every panel, colour bar, padding cell and static number)
and drawn once as a background. A probe drawing then finds where each changing panel's cells fall
in the pixels and what its grid lines do, so each frame paints only the cells whose colour or
number changed, with numpy, exactly as matplotlib would draw them; the outlines of the current
window and any curve are drawn over that with matplotlib (and put back the next frame), the
formula and caption stamped from cached glyphs, and the pixels copied out.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import style
from ..numbers import num
from .encoding import palette_colors
from .lettering import Glyphs, canvas_rgba, fit_dpi, fit_text, rgba_to_rgb, shared_text, stamp_alpha, stamp_line

_FADED_INK = 110  # grey level of the numbers on faded cells (what lands on padding)

__all__ = ["GridRenderer"]

# Fixed parts of the figure layout, in inches.
_MARGIN = 0.35  # left and right
_BLOCK_GAP = 0.55  # between column blocks
_SUB_GAP = 0.22  # between the sub-panels of a block (the C/groups channels of one filter)
_ROW_GAP = 0.28  # between panel rows
_PANEL_TITLE = 0.3  # above each panel
_COLORBAR = (0.14, 0.55)  # height of a colour bar, and the room for its ticks and label below
_CAPTION = 0.45
_MIN_BLOCK = 1.25  # a block is at least this wide (its colour bar and titles need the room)
_MIN_FIG_W = 8.0  # the formula in the title needs this much width to stay readable


def _cmap(scale):
    return _cmap_named(style.SIGNED_CMAP if scale.kind == "grad" else style.VALUE_CMAP)


@functools.lru_cache(maxsize=None)
def _cmap_named(name):
    return style.colormap(name).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))  # NaN: transparent, the cell looks empty


class _Panel:
    """The artists of one panel."""

    __slots__ = ("d", "ax", "trans", "image", "grid", "zeros", "labels", "marks", "rgba", "norm", "cmap", "font", "fade",
                 "line", "dot", "cells", "colours")


class _Cells:
    """Where a dynamic panel's cells fall in the frame's pixels, found once by drawing probes, so that
    a frame paints only the cells whose colour changed, with numpy, exactly as the image and its grid
    lines would be drawn (redrawing them with matplotlib cost a few milliseconds a panel a frame).

    ``box``: the panel's rows and columns of the frame; ``rows[r]``, ``cols[c]``: each cell's pixel
    span inside it; ``cover``: the image's share of each pixel (a fraction on its border); ``ink`` and ``keep``: the grid lines as premultiplied colour and the share of the
    cell's colour they leave, per pixel of the box; ``veil``: the fade's RGB and alpha, or None;
    ``fill`` and ``gain``: what an opaque colour c paints, fill + gain·c, per pixel of the box."""

    __slots__ = ("box", "rows", "cols", "cover", "ink", "keep", "veil", "fill", "gain", "split")

    def cell(self, r, c):
        """The frame's (rows, cols) slices of cell (r, c)."""
        (y0, y1), (x0, x1) = self.rows[r], self.cols[c]
        top, left = self.box[0].start, self.box[1].start
        return slice(top + y0, top + y1), slice(left + x0, left + x1)

    def parts(self, r, c):
        """Cell (r, c) as its plain inside, where an opaque colour is painted as it is (or None), and
        the strips around it that the grid lines and the image's border blend; slices within the
        cell. Grid lines run straight across, so the inside is a rectangle."""
        key = (r, c)
        hit = self.split.get(key)
        if hit is None:
            (y0, y1), (x0, x1) = self.rows[r], self.cols[c]
            h, w = y1 - y0, x1 - x0
            pure = (self.gain[y0:y1, x0:x1, 0] == 1.0) & (self.fill[y0:y1, x0:x1] == 0.5).all(axis=-1)
            rows, cols = np.flatnonzero(pure[:, w // 2]) if w else [], np.flatnonzero(pure[h // 2]) if h else []
            hit = None, [(slice(0, h), slice(0, w))]
            if len(rows) and len(cols):
                a, b, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                if pure[a:b, c0:c1].all():
                    hit = (slice(a, b), slice(c0, c1)), [s for s in (
                        (slice(0, a), slice(0, w)), (slice(b, h), slice(0, w)),
                        (slice(a, b), slice(0, c0)), (slice(a, b), slice(c1, w))) if s[0].stop > s[0].start and s[1].stop > s[1].start]
            self.split[key] = hit
        return hit


def _label(value, decimals=None):
    """A cell's number: :func:`~convgraph.renderers.numbers.num`'s rule, or ``decimals`` fixed
    decimals (a rounded-away sign dropped: ``0.00``, not ``-0.00``)."""
    if decimals is None:
        return num(value)
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and not float(text) else text


def _outlines(loops):
    """One path of closed outlines, each given as its corners (the first repeated last)."""
    from matplotlib.path import Path

    if not loops:
        return Path(np.zeros((1, 2)), [Path.MOVETO])
    verts = np.concatenate([np.asarray(loop, float) for loop in loops])
    codes = np.full(len(verts), Path.LINETO, dtype=Path.code_type)
    ends = np.cumsum([len(loop) for loop in loops])
    codes[np.concatenate([[0], ends[:-1]])] = Path.MOVETO
    codes[ends - 1] = Path.CLOSEPOLY
    return Path(verts, codes)


class _Sheet:
    """Where everything of one grid scene goes, in inches: column blocks, panel rows, the cell size."""

    def __init__(self, scene):
        A = style.ANIM
        panels = scene.panels
        self.blocks = blocks = sorted({p.block for p in panels})
        self.n_rows = n_rows = max(p.row for p in panels) + 1
        self.sub = sub = {b: max(p.sub for p in panels if p.block == b) + 1 for b in blocks}
        self.gw = gw = {b: max(p.values.shape[1] for p in panels if p.block == b) for b in blocks}
        self.row_h = row_h = [max((p.values.shape[0] for p in panels if p.row == r), default=1) for r in range(n_rows)]
        title_lines = max(f.title.count("\n") + 1 for f in scene.frames)
        self.top = 0.25 + title_lines * A["title_pt"] * 1.45 / 72
        bottom = sum(_COLORBAR) + _CAPTION + 0.15
        fixed_w = 2 * _MARGIN + (len(blocks) - 1) * _BLOCK_GAP + sum((sub[b] - 1) * _SUB_GAP for b in blocks)
        fixed_h = self.top + bottom + n_rows * _PANEL_TITLE + (n_rows - 1) * _ROW_GAP
        max_w, max_h = A["max_inch"]
        cell = min(A["cell_inch"], (max_w - fixed_w) / sum(sub[b] * gw[b] for b in blocks),
                   (max_h - fixed_h) / sum(row_h))
        self.cell = cell = max(cell, 0.04)
        self.block_w = {b: max(sub[b] * gw[b] * cell + (sub[b] - 1) * _SUB_GAP, _MIN_BLOCK) for b in blocks}
        fig_w = 2 * _MARGIN + sum(self.block_w.values()) + (len(blocks) - 1) * _BLOCK_GAP
        extra = max(_MIN_FIG_W - fig_w, 0.0)  # narrow clips: room for the formula, blocks stay centred
        self.fig_w = fig_w + extra
        self.fig_h = fixed_h + sum(row_h) * cell
        self.block_x, x = {}, _MARGIN + extra / 2
        for b in blocks:
            self.block_x[b] = x
            x += self.block_w[b] + _BLOCK_GAP
        self.row_y, y = [], self.top
        for r in range(n_rows):
            self.row_y.append(y + _PANEL_TITLE)
            y += _PANEL_TITLE + row_h[r] * cell + _ROW_GAP
        self.stack_bottom = y - _ROW_GAP

    def fx(self, inch):
        return inch / self.fig_w

    def fy(self, inch_from_top):
        return 1.0 - inch_from_top / self.fig_h

    def panel_rect(self, d):
        """(x0, y0 from the top, width, height) of panel ``d`` in inches."""
        rows, cols = d.values.shape
        b, cell = d.block, self.cell
        slot_w = self.sub[b] * self.gw[b] * cell + (self.sub[b] - 1) * _SUB_GAP
        x0 = self.block_x[b] + (self.block_w[b] - slot_w) / 2 + d.sub * (self.gw[b] * cell + _SUB_GAP)
        x0 += (self.gw[b] - cols) * cell / 2
        y0 = self.row_y[d.row] + (self.row_h[d.row] - rows) * cell / 2
        return x0, y0, cols * cell, rows * cell

    def title_room(self, d):
        """How wide (inches) a panel's title may be."""
        cols, b, cell = d.values.shape[1], d.block, self.cell
        if self.sub[b] > 1:
            return cols * cell + _SUB_GAP
        return cols * cell + (_MIN_BLOCK - cols * cell if self.gw[b] * cell < _MIN_BLOCK else 0.2)


class GridRenderer:
    """Renders the frames of one grid scene to (H, W, 3) uint8 arrays, all the same size.

    Parameters
    ----------
    scene : Scene
    dpi : float
    numbers : bool or None
        Write numbers into cells; default: when cells are large enough to read them.
    check : callable(width_in, height_in, dpi), optional
        Raises when the frames would be too big.
    fit : (width, height), optional
        Pixels the drawing should fill: the dpi that makes it as large as fits replaces ``dpi``.
    """

    def __init__(self, scene, *, dpi, numbers=None, check=None, fit=None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        A = style.ANIM
        self.scene = scene
        sheet = self.sheet = _Sheet(scene)
        if fit is not None:
            dpi = fit_dpi(sheet.fig_w, sheet.fig_h, fit)
        self.dpi = dpi
        if check is not None:  # the pixel budget, before any figure is made
            check(sheet.fig_w, sheet.fig_h, dpi)
        self.cell_pt = sheet.cell * 72
        self.numbers = bool(self.cell_pt >= A["min_number_cell_pt"] if numbers is None else numbers)
        self.fig = Figure(figsize=(sheet.fig_w, sheet.fig_h), dpi=dpi, facecolor=style.BACKGROUND)
        self.canvas = FigureCanvasAgg(self.fig)
        self.fig.set_layout_engine(None)
        # One axes in inches from the top left holds every grid and colour bar (an Axes costs more to
        # make than a short clip's frames); each panel draws in its own cell coordinates through a
        # transform. Only a line chart gets axes of its own, for its ticks.
        self.board = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        self.board.set_xlim(0.0, sheet.fig_w)
        self.board.set_ylim(sheet.fig_h, 0.0)
        self.board.set_axis_off()
        self.board.set_autoscale_on(False)
        self.panels, self.dynamic = {}, []
        for d in scene.panels:
            self._place_panel(d)
        for b in sheet.blocks:  # one colour bar under each block of grids, labelled with its tensor
            if any(p.block == b and p.curve is None for p in scene.panels):
                self._place_colorbar(b)
        # The formula and the rule change from frame to frame: stamped from cached word bitmaps.
        self._glyphs = Glyphs(dpi)
        avail = (sheet.fig_w - 0.3) * dpi
        self.title_pt = self._fit([f.title for f in scene.frames], avail, A["title_pt"])
        self.caption_pt = self._fit([f.caption for f in scene.frames], avail, A["caption_pt"])
        self.title_top = int(round(0.18 * dpi))
        self.caption_bottom = int(round((1 - 0.12 / sheet.fig_h) * sheet.fig_h * dpi))
        self.ink = np.array(style.to_rgba(style.INK)[:3]) * 255
        self.canvas.draw()
        self.size = (int(self.canvas.get_width_height()[1]), int(self.canvas.get_width_height()[0]))
        self._bg = np.array(np.asarray(self.canvas.buffer_rgba()))  # everything that never changes
        for p in self.panels.values():
            self._stamp_fixed(self._bg[..., :3], p)
        self.caption = shared_text([f.caption for f in scene.frames])  # one for every frame: part of the background
        if self.caption is not None:
            self._stamp_line(self._bg[..., :3], self.caption, self.caption_pt, self.caption_bottom, top=False)
        self._base = self._bg.copy()  # and the dynamic panels' cells as last painted, with their numbers
        self._plain = self._bg.copy()  # the same without the numbers (under an outline, written on top)
        for p in self.dynamic:
            if p.image is not None:
                p.cells = c = self._probe(p)  # grid lines reach a pixel past the image: drawn on the base too
                self._base[c.box][..., :3] = (c.ink + c.keep * self._bg[c.box][..., :3] + 0.5).astype(np.uint8)
                self._plain[c.box] = self._base[c.box]
                self._paint(p, p.d.values)
        np.copyto(np.asarray(self.canvas.buffer_rgba()), self._base)
        self._dirty = []  # boxes drawn over the base last frame (outlines, curves): restored first
        self._marked = set()

    def _place_panel(self, d):
        from matplotlib.transforms import Affine2D

        sheet, A = self.sheet, style.ANIM
        x0, y0, w, h = sheet.panel_rect(d)
        title_pt = min(A["panel_title_pt"], sheet.title_room(d) * 72 / (0.6 * len(d.title)))
        self.board.text(x0 + w / 2, y0 - 9 / 72, d.title, ha="center", va="baseline", fontsize=title_pt,
                        color=style.INK, fontfamily=style.FONT)
        if d.curve is not None:
            ax = self.fig.add_axes((sheet.fx(x0), sheet.fy(y0 + h), sheet.fx(w), h / sheet.fig_h))
            self.panels[d.key] = self._curve_panel(ax, d)
            return
        # cell (r, c) of the panel is centred at inches (x0 + (c + 0.5)·cell, y0 + (r + 0.5)·cell)
        cell = sheet.cell
        trans = Affine2D().scale(cell).translate(x0 + cell / 2, y0 + cell / 2) + self.board.transData
        self.panels[d.key] = self._panel(trans, d, self.scene.scales[d.scale])

    def _place_colorbar(self, b):
        """A horizontal colour bar under block ``b``, drawn on the board: the colour map, its outline,
        ticks at the ends and at 0, their numbers and the scale's label."""
        from matplotlib.patches import Rectangle

        sheet, A = self.sheet, style.ANIM
        scale = self.scene.scales[next(p for p in self.scene.panels if p.block == b).scale]
        width = min(sheet.block_w[b], max(1.2, sheet.gw[b] * sheet.sub[b] * sheet.cell))
        x0 = sheet.block_x[b] + (sheet.block_w[b] - width) / 2
        y0 = sheet.stack_bottom + 0.25  # its top, inches from the figure's top
        y1 = y0 + _COLORBAR[0]
        self.board.imshow(np.linspace(0.0, 1.0, 256)[None, :], cmap=_cmap(scale), vmin=0.0, vmax=1.0,
                          extent=(x0, x0 + width, y1, y0), interpolation="nearest", aspect="auto")
        self.board.add_patch(Rectangle((x0, y0), width, _COLORBAR[0], fill=False, linewidth=0.6, edgecolor=style.INK))
        ticks = [scale.vmin, 0.0, scale.vmax] if scale.vmin < 0 < scale.vmax else [scale.vmin, scale.vmax]
        span = (scale.vmax - scale.vmin) or 1.0
        tick, pt = 2 / 72, A["tick_pt"]
        for t in ticks:
            x = x0 + (t - scale.vmin) / span * width
            self.board.plot([x, x], [y1, y1 + tick], color=style.INK, linewidth=0.8, solid_capstyle="butt")
            self.board.text(x, y1 + tick + 1 / 72, num(t), ha="center", va="top", fontsize=pt, color=style.INK,
                            fontfamily=style.FONT)
        self.board.text(x0 + width / 2, y1 + tick + (2 + 1.2 * pt) / 72, scale.label, ha="center", va="top",
                        fontsize=pt, color=style.INK, fontfamily=style.FONT)

    def _fit(self, texts, avail_px, pt):
        return fit_text(self._glyphs, texts, avail_px, pt)

    def _curve_panel(self, ax, d):
        """A line chart of ``d.curve`` (say a fit's losses): axes drawn once, the line so far and its
        last point drawn each frame."""
        A = style.ANIM
        p = _Panel()
        p.d, p.ax, p.trans, p.labels, p.zeros, p.fade, p.rgba = d, ax, ax.transData, None, [], None, None
        series = np.asarray(d.curve, float)
        top = float(np.nanmax(series)) if np.isfinite(series).any() else 1.0
        ax.set_xlim(-0.02 * max(len(series) - 1, 1), max(len(series) - 1, 1) * 1.02)
        ax.set_ylim(0.0, top * 1.08 if top > 0 else 1.0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=A["tick_pt"], length=2, pad=1)
        ax.set_facecolor(style.BACKGROUND)
        (p.line,) = ax.plot([], [], color=style.INK, linewidth=1.6, animated=True)
        (p.dot,) = ax.plot([], [], "o", color=style.INK, markersize=5, animated=True)
        p.image = p.grid = p.marks = p.cells = None  # nothing to outline on a chart
        self.dynamic.append(p)
        return p

    def _panel(self, trans, d, scale):
        """The artists of grid panel ``d`` on the board, in its cell coordinates (``trans``)."""
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize
        from matplotlib.patches import PathPatch, Rectangle

        A = style.ANIM
        p = _Panel()
        p.d, p.ax, p.trans = d, None, trans
        rows, cols = d.values.shape
        extent = (-0.5, cols - 0.5, rows - 0.5, -0.5)
        self.board.add_patch(Rectangle((-0.5, -0.5), cols, rows, facecolor=A["empty"], edgecolor="none",
                                       transform=trans, zorder=0.2))
        p.norm, p.cmap = Normalize(scale.vmin, scale.vmax), _cmap(scale)
        zeros, inserted = self._zero_cells(trans, d, extent)
        p.image = self._image(trans, d.values, extent, cmap=p.cmap, norm=p.norm, zorder=1)
        p.fade = None
        if d.faded is not None and d.faded.any():  # values the computation drops: faded, numbers grey
            veil = np.zeros((rows, cols, 4))
            veil[d.faded] = style.to_rgba(A["faded"])
            p.fade = self._image(trans, veil, extent, zorder=1.5)
        segs = [[(c - 0.5, -0.5), (c - 0.5, rows - 0.5)] for c in range(1, cols)]
        segs += [[(-0.5, r - 0.5), (cols - 0.5, r - 0.5)] for r in range(1, rows)]
        p.grid = LineCollection(segs if self.cell_pt >= 8 else [], colors=A["grid_line"], linewidths=1.0, zorder=2,
                                transform=trans)
        self.board.add_collection(p.grid, autolim=False)
        # The outlines of a frame are one path: their halos go down first, then every dark line.
        p.marks = PathPatch(_outlines([]), fill=False, edgecolor=A["window"], linewidth=A["window_pt"], zorder=4,
                            clip_on=False, joinstyle="miter", path_effects=style.halo(), transform=trans)
        self.board.add_artist(p.marks)
        p.marks.set_animated(True)
        p.labels, p.zeros = None, []
        if self.numbers_for(d):  # stamped from glyph bitmaps: static ones once into the background
            p.font = style.cell_font_pt(self.cell_pt, self._chars(d))
            p.zeros = [(r, c, bool(inserted[r, c])) for r, c in zip(*(a.tolist() for a in np.nonzero(zeros)))]
            p.labels = {(r, c): ("", None) for r in range(rows) for c in range(cols) if not zeros[r, c]}
        p.rgba = None  # pixel centres of the cells (dynamic panels), set once the figure is drawn
        p.cells = p.colours = None  # where the cells are painted (dynamic panels), once the figure is drawn
        self._set_values(p, d.values)
        if d.dynamic:
            for artist in (p.image, p.grid, p.fade):
                if artist is not None:
                    artist.set_animated(True)
            self.dynamic.append(p)
        return p

    def _image(self, trans, values, extent, **style_options):
        """An image of ``values`` on the board, one cell per value, nearest neighbour."""
        from matplotlib.image import AxesImage

        im = AxesImage(self.board, interpolation="nearest", transform=trans, **style_options)
        im.set_data(values)
        im.set_extent(extent)
        self.board.add_image(im)
        return im

    def _zero_cells(self, trans, d, extent):
        """Paint the structural zeros under a panel (padding grey, the stride's inserted zeros pale);
        returns (every structural zero, the inserted ones) as (rows, cols) masks."""
        A = style.ANIM
        inserted = np.zeros(d.values.shape, bool) if d.inserted is None else d.inserted
        zeros = d.zeros | inserted  # every structural zero: a fixed "0", no heat
        if zeros.any():
            over = np.zeros(d.values.shape + (4,))
            over[d.zeros] = style.to_rgba(A["padding"])
            over[inserted] = style.to_rgba(A["inserted"])
            self._image(trans, over, extent, zorder=0.5)
        return zeros, inserted

    def numbers_for(self, d):
        return self.numbers

    def _chars(self, d):
        vals = [d.values] + [f.values[d.key] for f in self.scene.frames[::max(1, len(self.scene) // 40)]
                             if d.key in f.values] + ([self.scene.frames[-1].values[d.key]]
                                                      if d.key in self.scene.frames[-1].values else [])
        longest = 1
        for arr in vals:
            fin = np.asarray(arr)[np.isfinite(arr)]
            if fin.size:
                longest = max(longest, max(len(_label(v, d.decimals)) for v in np.unique(fin).tolist()))
        return longest

    def _set_values(self, p, values):
        if p.d.curve is not None:  # the series so far
            values = np.asarray(values, float).ravel()
            k = np.flatnonzero(np.isfinite(values))
            p.line.set_data(k, values[k])
            p.dot.set_data(k[-1:], values[k[-1:]])
            return
        relabelled = set()
        if p.labels is not None:
            rgba = p.cmap(p.norm(np.nan_to_num(values)))
            lum = 0.2126 * rgba[..., 0] + 0.7152 * rgba[..., 1] + 0.0722 * rgba[..., 2]
            finite = np.isfinite(values)
            faded = p.d.faded
            for (r, c), before in p.labels.items():
                if finite[r, c] and faded is not None and faded[r, c]:
                    label = (_label(values[r, c], p.d.decimals), _FADED_INK)
                elif finite[r, c]:
                    label = (_label(values[r, c], p.d.decimals), 0 if lum[r, c] > 0.45 else 255)
                else:
                    label = ("", None)
                if label != before:
                    p.labels[(r, c)] = label
                    relabelled.add((r, c))
        if p.cells is not None:
            self._paint(p, values, relabelled)

    @staticmethod
    def _outline(cells, inset=0.08):
        segs = []
        for r, c in np.asarray(cells).reshape(-1, 2).tolist():
            a, b = c - 0.5 + inset, c + 0.5 - inset
            top, bot = r - 0.5 + inset, r + 0.5 - inset
            segs.append([(a, top), (b, top), (b, bot), (a, bot), (a, top)])
        return segs

    def render(self, frame):
        """Pixels of ``frame``: an (H, W, 3) uint8 array."""
        return rgba_to_rgb(self.render_rgba(frame))

    def render_rgba(self, frame):
        """Pixels of ``frame`` as an (H, W, 4) uint8 array, alpha 255: what a GIF is encoded from.

        The canvas holds the base (background and cells); what was drawn over it last frame is put
        back, the cells that change are painted, then the outlines and curves are drawn on top."""
        buf = np.asarray(self.canvas.buffer_rgba())
        for box in self._dirty:
            buf[box] = self._base[box]
        self._dirty = []
        for key, values in frame.values.items():
            self._set_values(self.panels[key], values)
        for p in self.dynamic:
            if p.d.curve is not None:
                self.fig.draw_artist(p.line)
                self.fig.draw_artist(p.dot)
                self._dirty.append(self._slices(p.ax.bbox, pad=3))  # a chart has axes of its own
        self._draw_marks(frame)
        rgba = canvas_rgba(self.canvas)
        rgb = rgba[..., :3]  # a view: the stamps write into the frame
        y = self.title_top
        for line in frame.title.split("\n"):
            y += self._stamp_line(rgb, line, self.title_pt, y, top=True)
        if frame.caption != self.caption:
            self._stamp_line(rgb, frame.caption, self.caption_pt, self.caption_bottom, top=False)
        for key, cells in frame.cells.items():  # an outline's halo crosses its cell's number: written again on top
            p = self.panels[key]
            if p.cells is not None and p.labels is not None and p.rgba is not None:
                for r, c in np.asarray(cells).reshape(-1, 2).tolist():
                    text, ink = p.labels.get((r, c), ("", None))
                    if text:
                        stamp_alpha(rgb, self._glyphs.get(text, p.font), *p.rgba[(r, c)], ink)
        return rgba

    def _draw_marks(self, frame):
        """The outlines of this frame's cells and boxes, drawn over the canvas."""
        marked = set(frame.cells) | set(frame.boxes)
        pad = int(np.ceil((style.ANIM["window_pt"] + 2 * style.ANIM["halo_pt"]) * self.dpi / 72)) + 3
        buf = np.asarray(self.canvas.buffer_rgba())
        for key in sorted(marked):
            p = self.panels[key]
            if p.cells is not None and p.labels is not None and key in frame.cells:
                for r, c in np.asarray(frame.cells[key]).reshape(-1, 2).tolist():  # numbers go on top of it
                    at = p.cells.cell(r, c)
                    buf[at] = self._plain[at]
                    self._dirty.append(at)
            segs = self._outline(frame.cells[key]) if key in frame.cells else []
            if key in frame.boxes:
                rows, cols = p.d.values.shape
                e = 0.5 + 0.12
                segs.append([(-e, -e), (cols - 1 + e, -e), (cols - 1 + e, rows - 1 + e), (-e, rows - 1 + e),
                             (-e, -e)])
            if segs:
                p.marks.set_path(_outlines(segs))
                self.fig.draw_artist(p.marks)
                points = np.concatenate([np.asarray(seg, float) for seg in segs])
                self._dirty.append(self._slices(self._bbox(p.trans, points), pad=pad))
        self._marked = marked

    # ---- painting cells ----------------------------------------------------------------------
    @staticmethod
    def _bbox(trans, points):
        """The display box around ``points`` after ``trans``."""
        from matplotlib.transforms import Bbox

        xy = trans.transform(np.asarray(points, float))
        return Bbox([xy.min(axis=0), xy.max(axis=0)])

    def _slices(self, bbox, pad=0):
        """The frame's (rows, cols) slices of a display box, ``pad`` pixels wider each way."""
        H, W = self.size
        x0, y0, x1, y1 = bbox.x0, bbox.y0, bbox.x1, bbox.y1
        top, bottom = max(int(np.floor(H - y1)) - pad, 0), min(int(np.ceil(H - y0)) + pad, H)
        left, right = max(int(np.floor(x0)) - pad, 0), min(int(np.ceil(x1)) + pad, W)
        return slice(top, max(bottom, top)), slice(left, max(right, left))

    def _probe(self, p):
        """Find where panel ``p``'s image puts each cell and what its grid lines do, by drawing both
        onto the canvas: the image with each cell coded in its colour (twice, to tell the cells from
        what is under them), the grid over black and over white. The canvas is left as it was."""
        buf = np.asarray(self.canvas.buffer_rgba())
        rows, cols = p.d.values.shape
        box = self._slices(self._bbox(p.trans, [(-0.5, -0.5), (cols - 0.5, rows - 0.5)]), pad=2)
        saved = buf[box].copy()
        code = np.arange(1, rows * cols + 1).reshape(rows, cols)
        seen = []
        for mark in (17, 213):
            probe = np.stack([code & 255, code >> 8, np.full_like(code, mark), np.full_like(code, 255)], axis=-1)
            p.image.set_data(probe.astype(np.uint8))
            buf[box] = (0, 0, 0, 255)  # opaque: Agg blends by coverage only over an opaque ground
            self.fig.draw_artist(p.image)
            seen.append(buf[box].copy())
        p.image.set_data(p.d.values)
        cells = _Cells()
        cells.box = box
        # the image's share of each pixel: 1 inside, a fraction on its antialiased border
        cells.cover = ((seen[1][..., 2:3].astype(np.float32) - seen[0][..., 2:3]) / (213 - 17)).clip(0.0, 1.0)
        whole = (seen[0][..., 2] == 17) & (seen[1][..., 2] == 213)  # where the cell codes are exact
        k = (seen[0][..., 0].astype(np.int64) | (seen[0][..., 1].astype(np.int64) << 8)) - 1
        touched = cells.cover[..., 0] > 0
        cells.rows = self._spans(np.where(whole, k // cols, -1), rows, touched.any(axis=1), axis=1)
        cells.cols = self._spans(np.where(whole, k % cols, -1), cols, touched.any(axis=0), axis=0)
        under = []
        for ground in (0, 255):
            buf[box] = (ground, ground, ground, 255)
            self.fig.draw_artist(p.grid)
            under.append(buf[box][..., :3].astype(np.float32))
        cells.ink = under[0]
        cells.keep = ((under[1] - under[0]).mean(axis=-1, keepdims=True) / 255.0).clip(0.0, 1.0)
        cells.veil = None
        if p.fade is not None:
            veil = style.to_rgba(style.ANIM["faded"])
            cells.veil = (np.array(veil[:3], np.float32) * 255, float(veil[3]))
        buf[box] = saved
        # an opaque colour c paints ink + keep·(under·(1 − cover) + cover·c): fixed part and gain, once
        under = self._bg[box][..., :3].astype(np.float32)
        cells.fill = cells.ink + cells.keep * under * (1.0 - cells.cover) + 0.5
        cells.gain = cells.keep * cells.cover
        cells.split = {}  # each cell's plain inside and the strips around it, as first painted
        return cells

    @staticmethod
    def _spans(index, n, touched, axis):
        """Each of ``n`` cells' (start, stop) pixels along one direction of a panel's box, from the
        cell index of every pixel (-1: not wholly covered; ``axis``: the direction to look across);
        the first and last cells also take the partly covered pixels beyond them (``touched``)."""
        line = np.where((index >= 0).any(axis=axis), index.max(axis=axis), -1)
        spans = []
        for i in range(n):
            at = np.flatnonzero(line == i)
            spans.append([int(at[0]), int(at[-1]) + 1] if at.size else [0, 0])
        edge = np.flatnonzero(touched)
        if edge.size and n:
            spans[0][0] = min(spans[0][0], int(edge[0]))
            spans[-1][1] = max(spans[-1][1], int(edge[-1]) + 1)
        return [tuple(span) for span in spans]

    def _paint(self, p, values, relabelled=()):
        """Paint the cells of panel ``p`` whose colour or number differs from what they show, into the
        base and the canvas: the colour (NaN: what is under the image), the fade where it lies, the
        grid lines, the number. A cell's number stays in the base until the cell changes."""
        colours = p.cmap(p.norm(values), bytes=True)  # NaN: the colour map's "bad", fully transparent
        changed = np.ones(values.shape, bool) if p.colours is None else (colours != p.colours).any(axis=-1)
        for r, col in relabelled:
            changed[r, col] = True
        p.colours = colours
        if not changed.any():
            return
        c, buf = p.cells, np.asarray(self.canvas.buffer_rgba())
        top, left = c.box[0].start, c.box[1].start
        faded = p.d.faded
        if p.labels is not None and p.rgba is None:
            p.rgba = self._centres(p)
        for r, col in zip(*(a.tolist() for a in np.nonzero(changed))):
            (y0, y1), (x0, x1) = c.rows[r], c.cols[col]
            at = (slice(top + y0, top + y1), slice(left + x0, left + x1))
            rgba = colours[r, col].astype(np.float32)
            inside = (slice(y0, y1), slice(x0, x1))
            veiled = c.veil is not None and faded is not None and faded[r, col]
            if rgba[3] == 255 and not veiled:  # most cells: an opaque colour, as it is inside the grid lines
                plain, fill, gain = self._plain[at], c.fill[inside], c.gain[inside]
                middle, strips = c.parts(r, col)
                if middle is not None:
                    plain[middle + (slice(0, 3),)] = colours[r, col, :3]
                for strip in strips:
                    plain[strip + (slice(0, 3),)] = (fill[strip] + gain[strip] * rgba[:3]).astype(np.uint8)
            else:  # NaN (what is under shows), or under the fade's veil
                under = self._bg[at][..., :3].astype(np.float32)
                cell = under + c.cover[inside] * (rgba[3] / 255.0) * (rgba[:3] - under)
                if veiled:
                    cell += c.cover[inside] * c.veil[1] * (c.veil[0] - cell)
                self._plain[at][..., :3] = (c.ink[inside] + c.keep[inside] * cell + 0.5).astype(np.uint8)
            self._base[at] = self._plain[at]
            text, ink = p.labels.get((r, col), ("", None)) if p.labels is not None else ("", None)
            if text:
                x, y = p.rgba[(r, col)]
                stamp_alpha(self._base[at][..., :3], self._glyphs.get(text, p.font), x - at[1].start,
                            y - at[0].start, ink, clip=True)
            buf[at] = self._base[at]

    def _stamp_line(self, rgb, text, pt, y, top):
        return stamp_line(rgb, self._glyphs, text, pt, y, top, self.ink)

    def _stamp_numbers(self, rgb, p):
        """Numbers of a panel, stamped as cached glyph bitmaps (drawing a Text artist costs about a
        millisecond)."""
        if p.rgba is None:
            p.rgba = self._centres(p)
        for cell, (text, ink) in p.labels.items():
            if text:
                stamp_alpha(rgb, self._glyphs.get(text, p.font), *p.rgba[cell], ink)

    def _stamp_fixed(self, rgb, p):
        """The numbers that never change, stamped into the background: a panel's structural zeros
        (an inserted one in italics) and, unless the panel changes, its values."""
        if p.labels is None:
            return
        at = self._centres(p, [(r, c) for r, c, _ in p.zeros])
        italic = None
        for (r, c, inserted), (x, y) in zip(p.zeros, at):
            if inserted and italic is None:
                italic = Glyphs(self.dpi, italic=True)
            stamp_alpha(rgb, (italic if inserted else self._glyphs).get("0", p.font), x, y, _FADED_INK)
        if not p.d.dynamic:
            self._stamp_numbers(rgb, p)

    def _centres(self, p, cells=None):
        """Pixel centres of panel ``p``'s numbered cells, by cell (or of ``cells``, as a list)."""
        H = self.size[0]
        keys = list(p.labels) if cells is None else cells
        xy = p.trans.transform(np.array([(c, r) for r, c in keys], float).reshape(-1, 2))
        at = [(int(round(x)), int(round(H - y))) for x, y in xy.tolist()]
        return dict(zip(keys, at)) if cells is None else at

    def palette_colors(self):
        """Colours a GIF palette must hold exactly: the fixed looks, then every colour map in use."""
        return palette_colors([_cmap(s) for s in self.scene.scales.values()])

    def close(self):
        """Let go of the figure and its pixels. (Not ``Figure.clear()``: clearing axes rebuilds their
        ticks, which costs more than a short clip's frames.)"""
        self.fig = self.canvas = self._bg = self._base = self._plain = None
