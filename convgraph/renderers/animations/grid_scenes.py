"""What each grid animation shows, frame by frame, as numbers: panels, values, marked cells, formulas.

A scene is computed in numpy from a traced convolution's record (its arrays, geometry and channel
wiring, as the tracer states them), before anything is drawn; the renderer in
:mod:`~convgraph.renderers.animations.grid_frames` turns each :class:`Frame` into pixels. Grids are in *display
coordinates*: x and dX include their padding as a border, dY′ (the second part of ``"input-grad"``)
is dY dilated by the stride and zero-padded, so a kernel tap (u, v) of output (i, j) sits at row
``i·s + u·d``, column ``j·s + v·d`` of the display grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..numbers import num, num_factor as _factor

__all__ = ["Scale", "PanelDef", "Frame", "Scene", "forward_scene", "weight_grad_scene", "input_grad_scene",
           "backprop_scene", "lesson_scene", "dx_as_conv_scene", "dw_as_conv_scene", "im2col_scene",
           # the pieces another scene module builds with (transposed_scenes)
           "SceneBuilder", "check_frames", "chunks", "grad_scale", "value_scale", "sum_text", "titled"]


@dataclass(frozen=True)
class Scale:
    """A fixed colour scale for one tensor over a whole clip; ``kind`` is ``"value"`` or ``"grad"``."""

    label: str
    kind: str
    vmin: float
    vmax: float
    integer: bool  # every number on it is a whole number: labels without decimals


@dataclass(frozen=True)
class PanelDef:
    """One grid of the figure: block (column group) ``block``, panel row ``row``, sub-column ``sub``.

    ``values`` is the grid before the first frame (NaN: nothing there yet); ``zeros`` marks padding
    zeros, drawn grey with a ``0``; ``inserted`` the zeros the stride inserts between dY entries in
    dY′, drawn pale with a ``0`` so they read apart from padding; ``faded`` cells that hold a value
    the computation drops (what the scatter puts on padding), drawn faded with their numbers.
    With ``curve`` (the whole series, say the losses of a fit), the panel is a line chart instead of
    a grid: ``values`` only sizes it, and each frame's values are the series so far (NaN after).
    ``decimals``: fixed decimals for numbers that change every frame all clip long (a fit's kernel):
    no label grows long, so the font fitted to the longest stays large.
    """

    key: str
    title: str
    block: int
    row: int
    sub: int
    scale: str
    values: np.ndarray
    zeros: np.ndarray
    dynamic: bool
    inserted: np.ndarray | None = None
    faded: np.ndarray | None = None
    curve: np.ndarray | None = None  # a line panel: the whole series (its frames give it so far)
    decimals: int | None = None  # the cells' numbers to this many decimals (None: numbers.fmt's rule)


@dataclass(frozen=True)
class Frame:
    """One picture: the grids of the dynamic panels, outlined cells, the formula and the rule.

    ``cells`` maps a panel key to an (k, 2) int array of (row, col) cells outlined in the window
    colour; ``boxes`` lists panel keys outlined as a whole.
    """

    values: dict
    cells: dict
    boxes: tuple
    title: str
    caption: str


class Scene:
    """A list of :class:`Frame` over fixed :class:`PanelDef` panels and :class:`Scale` colour scales.

    ``result`` holds the final numeric state by name (``"y"``, ``"dW"``, ``"dX"``, and for
    ``"input-grad"`` also ``"dX_gather"``), shaped like the traced tensors.
    """

    def __init__(self, name, panels, scales, frames, result):
        self.name = name
        self.panels = tuple(panels)
        self.scales = dict(scales)
        self.frames = list(frames)
        self.result = dict(result)

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, k):
        return self.frames[k]


def sum_text(pairs, limit=9, empty="0 (every tap on padding)"):
    """``a·b + c·d + …`` for (a, b) pairs, at most ``limit`` terms shown; ``empty`` when none."""
    terms = [f"{_factor(a)}·{_factor(b)}" for a, b in pairs[:limit]]
    if len(pairs) > limit:
        terms.append(f"… ({len(pairs)} terms)")
    return " + ".join(terms) if terms else empty


class _Conv:
    """The arrays and geometry of one traced convolution, in (N, C, H, W) ⊛ (O, C/g, KH, KW) form,
    on the padded display grid."""

    def __init__(self, rec, dY):
        s = rec.spec
        self.s = s
        self.N, self.C, self.H, self.W, self.O = s.N, s.C, s.H, s.W, s.O
        self.Cg, self.KH, self.KW, self.OH, self.OW = s.Cg, s.KH, s.KW, s.OH, s.OW
        self.Og = s.Og
        (self.sh, self.sw), (self.dh, self.dw) = s.stride, s.dilation
        self.pt, self.pb, self.pl, self.pr = s.padding
        self.x, self.w, self.b = rec.values4("x"), rec.values4("w"), rec.values4("b")
        self.y = rec.values4("y")  # as the graph computed it
        self.dY = np.asarray(dY, float).reshape(s.N, s.O, s.OH, s.OW)
        self.Hp, self.Wp = s.H + self.pt + self.pb, s.W + self.pl + self.pr
        self.xp = np.pad(self.x, ((0, 0), (0, 0), (self.pt, self.pb), (self.pl, self.pr)))  # (N, C, Hp, Wp)
        self.pad_mask = np.ones((self.Hp, self.Wp), bool)
        self.pad_mask[self.pt:self.pt + s.H, self.pl:self.pl + s.W] = False
        self.w4 = len(s.w_shape) == s.dims + 2
        self.one = s.dims == 1  # conv1d: one row; indices and formulas name the column only

    # --- names -------------------------------------------------------------------------------
    def index(self, name, lead, i, j):
        """``y[0,1,2]``: the caller's index of a grid cell (the column alone for conv1d)."""
        return f"{name}[" + ",".join(str(v) for v in (*lead, *((j,) if self.one else (i, j)))) + "]"

    def rule(self, two, one):
        """The formula as written for this convolution: ``two`` for conv2d, ``one`` for conv1d."""
        return one if self.one else two

    def x_lead(self, n, c):
        return self.s.x_lead(n, c)

    def y_lead(self, n, o):
        return self.s.y_lead(n, o)

    def x_title(self, name, n, c):
        return titled(name, self.s.lead_names("x"), self.s.x_lead(n, c))

    def y_title(self, name, n, o):
        return titled(name, self.s.lead_names("y"), self.s.y_lead(n, o))

    def w_title(self, name, o, c):
        if self.w4 and self.Cg > 1:  # side by side sub-panels: the short form fits their width
            return f"{name}[{o},{c}]"
        return titled(name, self.s.lead_names("w"), self.s.w_lead(o, c))

    # --- geometry ----------------------------------------------------------------------------
    def positions(self):
        """Every output position (n, o, i, j) in the order the clip visits them."""
        return [(n, o, i, j) for n in range(self.N) for o in range(self.O)
                for i in range(self.OH) for j in range(self.OW)]

    def channels(self, o):
        return self.s.in_channels(o)

    def tap_rows(self, i):
        """Display rows (on the padded grid) of output row i's kernel taps."""
        return self.s.window(i, 0)[0] + self.pt

    def tap_cols(self, j):
        return self.s.window(0, j)[1] + self.pl

    def taps(self, i, j):
        """Display cells (KH·KW, 2) of the window of output (i, j) on the padded grid."""
        r, c = np.meshgrid(self.tap_rows(i), self.tap_cols(j), indexing="ij")
        return np.stack([r.ravel(), c.ravel()], axis=1)

    def patch(self, n, o, i, j):
        """x under the window of output (n, o, i, j): (C/g, KH, KW), zeros on padding."""
        ch = self.channels(o)
        return self.xp[n, ch.start:ch.stop][:, self.tap_rows(i)[:, None], self.tap_cols(j)[None, :]]

    def real(self, i, j):
        """(KH, KW) mask of taps of output (i, j) that fall on real input, not padding."""
        r, c = self.tap_rows(i), self.tap_cols(j)
        return ~self.pad_mask[r[:, None], c[None, :]]

    def params_text(self):
        """The options as the formulas name them: ``stride s=1, dilation d=1, padding p=0``."""
        s, d, pad = self.s.stride, self.s.dilation, self.s.padding
        if self.one:
            s, d, pad = (s[1], s[1]), (d[1], d[1]), pad[2:]
        p = str(pad[0]) if len(set(pad)) == 1 else str(pad)
        st = str(s[0]) if s[0] == s[1] else str(s)
        dt = str(d[0]) if d[0] == d[1] else str(d)
        extra = f", groups {self.s.groups}" if self.s.groups > 1 else ""
        return f"stride s={st}, dilation d={dt}, padding p={p}{extra}"


def titled(name, names, lead):
    if not lead:
        return name
    return f"{name}[" + ",".join(f"{a}={i}" for a, i in zip(names, lead)) + "]"


def value_scale(label, *arrays):
    vals = np.concatenate([np.asarray(a, float)[np.isfinite(a)].ravel() for a in arrays])
    vmin, vmax = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 1.0, vmax + 1.0
    return Scale(label, "value", vmin, vmax, bool(np.all(vals == np.round(vals))))


def grad_scale(label, *arrays):
    vals = np.concatenate([np.asarray(a, float)[np.isfinite(a)].ravel() for a in arrays])
    vmax = float(np.abs(vals).max()) if vals.size else 0.0
    vmax = vmax if vmax > 0 else 1.0
    return Scale(label, "grad", -vmax, vmax, bool(np.all(vals == np.round(vals))))


def chunks(items, max_frames):
    """Split ``items`` into at most ``max_frames`` consecutive runs of equal length (the last shorter)."""
    size = max(1, math.ceil(len(items) / max_frames))
    return [items[k:k + size] for k in range(0, len(items), size)]


class SceneBuilder:
    """Panels and frames under construction (``conv``: the scene's geometry, which the x-, w- and
    y-panel helpers read; ``panel``, ``frame`` and ``build`` need none)."""

    def __init__(self, conv):
        self.c = conv
        self.panels = []
        self.scales = {}
        self.frames = []

    def panel(self, key, title, block, row, sub, scale, values, zeros=None, dynamic=False, inserted=None,
              faded=None, curve=None, decimals=None):
        values = np.array(values, float)
        zeros = np.zeros(values.shape, bool) if zeros is None else np.asarray(zeros, bool)
        self.panels.append(PanelDef(key, title, block, row, sub, scale, values, zeros, dynamic, inserted, faded,
                                    curve, decimals))

    # Standard panel sets: x-like (n, c) on the padded grid, W-like (o, c'), y-like (n, o).
    def x_panels(self, name, block, scale, data=None, dynamic=False, label=None, scatter=False):
        """x-like panels; ``scatter``: the padding border holds what lands on it (faded), not zeros."""
        c = self.c
        for n in range(c.N):
            for ch in range(c.C):
                vals = np.full((c.Hp, c.Wp), np.nan)
                if data is not None:
                    vals[~c.pad_mask] = data[n, ch].ravel()
                pad = c.pad_mask if c.pad_mask.any() else None
                self.panel(f"{name}:{n},{ch}", c.x_title(label or name, n, ch), block, n * c.C + ch, 0, scale,
                           vals, None if scatter else c.pad_mask, dynamic, faded=pad if scatter else None)

    def w_panels(self, name, block, scale, data=None, dynamic=False, label=None):
        c = self.c
        for o in range(c.O):
            for ch in range(c.Cg):
                vals = np.full((c.KH, c.KW), np.nan) if data is None else data[o, ch]
                self.panel(f"{name}:{o},{ch}", c.w_title(label or name, o, ch), block, o, ch, scale, vals,
                           None, dynamic)

    def y_panels(self, name, block, scale, data=None, dynamic=False, label=None, zeros=None, rows=None):
        c = self.c
        for n in range(c.N):
            for o in range(c.O):
                vals = np.full((c.OH, c.OW), np.nan) if data is None else data[n, o]
                self.panel(f"{name}:{n},{o}", c.y_title(label or name, n, o), block, n * c.O + o, 0, scale,
                           vals, zeros, dynamic)

    # Values of dynamic panels from full state arrays.
    def x_values(self, name, state):
        c = self.c
        out = {}
        for n in range(c.N):
            for ch in range(c.C):
                vals = np.full((c.Hp, c.Wp), np.nan)
                vals[~c.pad_mask] = state[n, ch].ravel()
                out[f"{name}:{n},{ch}"] = vals
        return out

    def xp_values(self, name, state_padded, scatter=False):
        """Values of x-like panels from a padded state (N, C, Hp, Wp); padding cells stay blank, or
        (``scatter``) show what has landed on them, which the gradient drops."""
        c = self.c
        out = {}
        for n in range(c.N):
            for ch in range(c.C):
                vals = np.array(state_padded[n, ch], float)
                if not scatter:
                    vals[c.pad_mask] = np.nan
                out[f"{name}:{n},{ch}"] = vals
        return out

    def w_values(self, name, state):
        c = self.c
        return {f"{name}:{o},{ch}": np.array(state[o, ch]) for o in range(c.O) for ch in range(c.Cg)}

    def y_values(self, name, state):
        c = self.c
        return {f"{name}:{n},{o}": np.array(state[n, o]) for n in range(c.N) for o in range(c.O)}

    def window(self, cells, name, n, o, i, j):
        """Outline the taps of output (n, o, i, j) on every x-like panel of its group."""
        c = self.c
        t = c.taps(i, j)
        for ch in c.channels(o):
            cells[f"{name}:{n},{ch}"] = np.concatenate([cells.get(f"{name}:{n},{ch}", np.empty((0, 2), int)), t])

    def kernel_keys(self, name, o):
        return tuple(f"{name}:{o},{ch}" for ch in range(self.c.Cg))

    def frame(self, values, cells, boxes, title, caption):
        self.frames.append(Frame(values, {k: np.asarray(v, int).reshape(-1, 2) for k, v in cells.items()},
                                 tuple(boxes), title, caption))

    def build(self, name, result):
        return Scene(name, self.panels, self.scales, self.frames, result)


# --- the pieces every conv scene is made of ---------------------------------------------------

def _forward_states(c, runs):
    """y filling in run by run: list of (N, O, OH, OW) arrays, NaN where not computed yet."""
    y = np.full((c.N, c.O, c.OH, c.OW), np.nan)
    states, full = [], c.y
    for run in runs:
        for n, o, i, j in run:
            y[n, o, i, j] = full[n, o, i, j]
        states.append(y.copy())
    return states, full


def _forward_title(c, run, full):
    n, o, i, j = run[-1]
    if len(run) > 1:
        return f"y: {len(run)} positions per frame, last {c.index('y', c.y_lead(n, o), i, j)} = {num(full[n, o, i, j])}"
    real = c.real(i, j)
    pairs = [(c.w[o, ch, u, v], c.patch(n, o, i, j)[ch, u, v])
             for ch in range(c.Cg) for u in range(c.KH) for v in range(c.KW) if real[u, v]]
    bias = "" if c.b is None else f"{num(c.b[o])} + "
    return f"{c.index('y', c.y_lead(n, o), i, j)} = {bias}{sum_text(pairs)} = {num(full[n, o, i, j])}"


def _forward_caption(c, prefix=""):
    if c.C == 1 and c.O == 1:
        rule = c.rule("y[i,j] = Σ_u,v W[u,v]·x[i·s+u·d, j·s+v·d]", "y[j] = Σ_k W[k]·x[j·s+k·d]")
    else:
        rule = c.rule("y[o,i,j] = Σ_c,u,v W[o,c,u,v]·x[c, i·s+u·d, j·s+v·d]", "y[o,j] = Σ_c,k W[o,c,k]·x[c, j·s+k·d]")
    if c.b is not None:
        rule = rule.replace(" = Σ", " = b + Σ", 1)
    pad = "; x drawn with its padding" if any(c.s.padding) else ""
    return f"{prefix}{rule}   ({c.params_text()}{pad})"


def _backward_states(c, runs):
    """dW and padded dX accumulating run by run: lists of (O, C/g, KH, KW) and (N, C, Hp, Wp)."""
    dW = np.zeros((c.O, c.Cg, c.KH, c.KW))
    dXp = np.zeros((c.N, c.C, c.Hp, c.Wp))
    dWs, dXs = [], []
    for run in runs:
        for n, o, i, j in run:
            g = c.dY[n, o, i, j]
            dW[o] += g * c.patch(n, o, i, j)
            ch = c.channels(o)
            dXp[n][ch.start:ch.stop, c.tap_rows(i)[:, None], c.tap_cols(j)[None, :]] += g * c.w[o]  # (C/g, KH, KW)
        dWs.append(dW.copy())
        dXs.append(dXp.copy())
    return dWs, dXs


def _crop(c, dXp):
    return dXp[:, :, c.pt:c.pt + c.H, c.pl:c.pl + c.W]


def _dw_caption(c):
    p = "−p" if any(c.s.padding) else ""
    if c.C == 1 and c.O == 1 and c.N == 1:
        rule = c.rule(f"dW[u,v] = Σ_i,j dY[i,j]·x[i·s+u·d{p}, j·s+v·d{p}]", f"dW[k] = Σ_j dY[j]·x[j·s+k·d{p}]")
    else:
        rule = c.rule(f"dW[o,c,u,v] = Σ_n,i,j dY[n,o,i,j]·x[n,c, i·s+u·d{p}, j·s+v·d{p}]",
                      f"dW[o,c,k] = Σ_n,j dY[n,o,j]·x[n,c, j·s+k·d{p}]")
    return f"{rule}   ({c.params_text()})"


def _dw_title(c, run):
    n, o, i, j = run[-1]
    g = c.dY[n, o, i, j]
    dw = c.w_title("dW", o, 0).split("[")[0] + ("" if not c.w4 else f"[o={o}]")
    if len(run) > 1:
        return f"{dw} += dY·(x patch) for {len(run)} positions, last dY{c.index('', c.y_lead(n, o), i, j)} = {num(g)}"
    return f"{dw} += {c.index('dY', c.y_lead(n, o), i, j)} · (x patch) = {_factor(g)} · x[window]"


def _dx_title(c, run):
    n, o, i, j = run[-1]
    g = c.dY[n, o, i, j]
    if len(run) > 1:
        return f"dX[window] += dY·W for {len(run)} positions, last dY{c.index('', c.y_lead(n, o), i, j)} = {num(g)}"
    w = "W" if not c.w4 else f"W[o={o}]"
    return f"dX[window] += {c.index('dY', c.y_lead(n, o), i, j)} · {w} = {_factor(g)} · {w}"


def check_frames(max_frames):
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)):
        raise TypeError(f"max_frames must be an int, got {type(max_frames).__name__}: {max_frames!r}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be positive, got {max_frames}")
    return int(max_frames)


# --- scenes ------------------------------------------------------------------------------------

def lesson_scene(rec, dY, max_frames=400):
    """The seed lesson's two panels: the forward window over x beside dW accumulating."""
    c = _Conv(rec, dY)
    runs = chunks(c.positions(), check_frames(max_frames))
    b = SceneBuilder(c)
    ys, yfull = _forward_states(c, runs)
    dWs, _ = _backward_states(c, runs)
    b.scales = {"x": value_scale("x (input value)", c.x), "dW": grad_scale("dW (gradient)", *dWs)}
    b.x_panels("x", 0, "x", c.x)
    b.w_panels("dW", 1, "dW", None, dynamic=True)
    caption = _dw_caption(c)
    for run, dW in zip(runs, dWs):
        cells = {}
        for n, o, i, j in run[-1:]:
            b.window(cells, "x", n, o, i, j)
        boxes = b.kernel_keys("dW", run[-1][1])
        title = _forward_title(c, run, yfull) + "\n" + _dw_title(c, run)
        b.frame(b.w_values("dW", dW), cells, boxes, title, caption)
    return b.build("lesson", {"y": yfull, "dW": dWs[-1]})


def _window_frames(b, runs, states, values, marked, kernel, title, caption):
    """One frame per run of output positions: the window outlined on x, the output's cell on the
    ``marked`` panels, the ``kernel`` panels boxed, ``values(state)`` on the dynamic panels."""
    for run, state in zip(runs, states):
        cells = {}
        for n, o, i, j in run[-1:]:
            b.window(cells, "x", n, o, i, j)
            cells.setdefault(f"{marked}:{n},{o}", []).append((i, j))
        b.frame(values(state), cells, b.kernel_keys(kernel, run[-1][1]), title(run), caption)


def forward_scene(rec, dY, max_frames=400):
    """The window slides over x (padding as a border, dilation holes), the kernel beside it, y fills."""
    c = _Conv(rec, dY)
    runs = chunks(c.positions(), check_frames(max_frames))
    b = SceneBuilder(c)
    ys, yfull = _forward_states(c, runs)
    b.scales = {"x": value_scale("x (input)", c.x), "W": value_scale("W (kernel)", c.w),
                "y": value_scale("y (output)", yfull)}
    b.x_panels("x", 0, "x", c.x)
    b.w_panels("W", 1, "W", c.w)
    b.y_panels("y", 2, "y", None, dynamic=True)
    _window_frames(b, runs, ys, lambda y: b.y_values("y", y), "y", "W", lambda run: _forward_title(c, run, yfull),
                   _forward_caption(c))
    return b.build("forward", {"y": yfull})


def weight_grad_scene(rec, dY, max_frames=400):
    """Every dY[i,j] times the patch it saw is added into dW; the last frame holds dW."""
    c = _Conv(rec, dY)
    runs = chunks(c.positions(), check_frames(max_frames))
    b = SceneBuilder(c)
    dWs, _ = _backward_states(c, runs)
    b.scales = {"x": value_scale("x (input)", c.x), "dY": grad_scale("dY (upstream gradient)", c.dY),
                "dW": grad_scale("dW (gradient)", *dWs)}
    b.x_panels("x", 0, "x", c.x)
    b.y_panels("dY", 1, "dY", c.dY)
    b.w_panels("dW", 2, "dW", None, dynamic=True)
    _window_frames(b, runs, dWs, lambda dW: b.w_values("dW", dW), "dY", "dW", lambda run: _dw_title(c, run),
                   _dw_caption(c))
    return b.build("weight-grad", {"dW": dWs[-1]})


def _dilated_dy(c):
    """dY′: dY dilated by the stride and zero-padded so the flipped kernel slides over it with
    stride 1 and the layer's dilation: (N, O, H + (KH−1)·dh, W + (KW−1)·dw) and its zeros mask.

    dX[c,h,w] = Σ_o,u,v dY′[o, h+u·dh, w+v·dw] · W[o,c,KH−1−u,KW−1−v], with dY[i,j] at
    dY′[i·s + (KH−1)·dh − p_top, j·s + (KW−1)·dw − p_left] (entries that land outside only fed padding).
    """
    Hd, Wd = c.H + (c.KH - 1) * c.dh, c.W + (c.KW - 1) * c.dw
    top, left = (c.KH - 1) * c.dh - c.pt, (c.KW - 1) * c.dw - c.pl
    D = np.zeros((c.N, c.O, Hd, Wd))
    zeros = np.ones((Hd, Wd), bool)
    rows, cols = top + np.arange(c.OH) * c.sh, left + np.arange(c.OW) * c.sw
    rk, ck = (rows >= 0) & (rows < Hd), (cols >= 0) & (cols < Wd)
    D[:, :, rows[rk][:, None], cols[ck][None, :]] = c.dY[:, :, rk][:, :, :, ck]
    zeros[rows[rk][:, None], cols[ck][None, :]] = False
    return D, zeros


def _between_entries(c, shape):
    """The cells of dY′ inside the span of dY's entries: its zeros there are inserted by the stride."""
    top, left = (c.KH - 1) * c.dh - c.pt, (c.KW - 1) * c.dw - c.pl
    rows, cols = top + np.arange(c.OH) * c.sh, left + np.arange(c.OW) * c.sw
    mask = np.zeros(shape, bool)
    mask[max(rows[0], 0):max(min(rows[-1] + 1, shape[0]), 0), max(cols[0], 0):max(min(cols[-1] + 1, shape[1]), 0)] = True
    return mask


def _gather(c, D, wf):
    """dX cell by cell as rot180(W) over dY′: the values (N, C, H, W) and each cell's nonzero terms."""
    full = np.zeros((c.N, c.C, c.H, c.W))
    terms = {}
    for n in range(c.N):
        for ch in range(c.C):
            cc = ch % c.Cg  # the channel's place within its group's filters
            for h in range(c.H):
                for w in range(c.W):
                    pairs = []
                    for o in c.s.out_channels(ch):
                        win = D[n, o, h + np.arange(c.KH)[:, None] * c.dh, w + np.arange(c.KW)[None, :] * c.dw]
                        full[n, ch, h, w] += float(np.sum(win * wf[o, cc]))
                        pairs += [(wf[o, cc, u, v], win[u, v]) for u in range(c.KH) for v in range(c.KW)
                                  if win[u, v] != 0]
                    terms[(n, ch, h, w)] = pairs
    return full, terms


def _input_grad_panels(b, c, D, dzeros, wf):
    """dY, W and dX scattering; then dY′, rot180(W) and dX gathering. In dY′ the zeros the stride
    inserts (between dY entries) are told apart from the padding around them."""
    inserted = dzeros & _between_entries(c, dzeros.shape)
    b.y_panels("dY", 0, "dY", c.dY)
    b.w_panels("W", 1, "W", c.w)
    b.x_panels("dX", 2, "dX", None, dynamic=True, label="dX scatter", scatter=True)
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"dYd:{n},{o}", c.y_title("dY′", n, o), 3, n * c.O + o, 0, "dY", np.where(dzeros, np.nan, D[n, o]),
                    dzeros & ~inserted, inserted=inserted)
    b.w_panels("Wf", 4, "W", wf, label="rot180 W")
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"dXg:{n},{ch}", c.x_title("dX gather", n, ch), 5, n * c.C + ch, 0, "dX",
                    np.full((c.H, c.W), np.nan), None, True)


def _gather_frame(b, c, run, state, full, terms, last1, caption):
    """One frame of part 2: the flipped kernel's window on dY′ for the run's last cell, dX so far."""
    cells = {}
    for n, ch, h, w in run[-1:]:
        win = np.stack(np.meshgrid(h + np.arange(c.KH) * c.dh, w + np.arange(c.KW) * c.dw, indexing="ij"),
                       axis=-1).reshape(-1, 2)
        for o in c.s.out_channels(ch):
            cells.setdefault(f"dYd:{n},{o}", []).extend(map(tuple, win))
        cells.setdefault(f"dXg:{n},{ch}", []).append((h, w))
    n, ch, h, w = run[-1]
    boxes = tuple(f"Wf:{o},{ch % c.Cg}" for o in c.s.out_channels(ch))
    lhs = c.index("dX", c.x_lead(n, ch), h, w)
    if len(run) > 1:
        title = f"dX gathered {len(run)} cells per frame, last {lhs} = {num(full[n, ch, h, w])}"
    else:
        terms_text = sum_text(terms[(n, ch, h, w)], empty="0 (every tap on a zero of dY′)")
        title = f"{lhs} = Σ rot180(W)·dY′ = {terms_text} = {num(full[n, ch, h, w])}"
    vals = {f"dXg:{a},{bb}": np.array(state[a, bb]) for a in range(c.N) for bb in range(c.C)}
    b.frame({**last1, **vals}, cells, boxes, title, caption)


def input_grad_scene(rec, dY, max_frames=400):
    """dX twice: every dY[i,j] scatters dY[i,j]·W into its window; then the kernel rotated 180°
    slides over dY′ (dY dilated by the stride, zero-padded) and gathers the same dX cell by cell."""
    c = _Conv(rec, dY)
    max_frames = check_frames(max_frames)
    runs = chunks(c.positions(), max(1, max_frames // 2))
    b = SceneBuilder(c)
    _, dXs = _backward_states(c, runs)
    D, dzeros = _dilated_dy(c)
    wf = c.w[:, :, ::-1, ::-1]  # rot180 per (o, c)
    full2, terms = _gather(c, D, wf)
    cells2 = [(n, ch, h, w) for n in range(c.N) for ch in range(c.C) for h in range(c.H) for w in range(c.W)]
    runs2 = chunks(cells2, max(1, max_frames - len(runs)))
    b.scales = {"dY": grad_scale("dY and dY′", c.dY), "W": value_scale("W, rot180(W)", c.w),
                "dX": grad_scale("dX (gradient)", *dXs, full2)}
    _input_grad_panels(b, c, D, dzeros, wf)

    fall = "; faded border: what lands on padding, which dX drops" if c.pad_mask.any() else ""
    ij = c.rule("[i,j]", "[j]")
    cap1 = (f"part 1, scatter: each dY{ij} adds dY{ij}·W into the window it came from{fall}   ({c.params_text()})")
    top, left = (c.KH - 1) * c.dh - c.pt, (c.KW - 1) * c.dw - c.pl
    how = "dilated by s, " if max(c.sh, c.sw) > 1 else ""
    cap2 = (f"part 2, gather: dX = rot180(W) sliding over dY′ = dY {how}zero-padded by (K−1)·d−p = "
            f"{left if c.one or top == left else (top, left)}, with dilation d"
            + ("; pale 0: inserted by the stride, grey 0: padding" if max(c.sh, c.sw) > 1 else ""))
    empty2 = {f"dXg:{n},{ch}": np.full((c.H, c.W), np.nan) for n in range(c.N) for ch in range(c.C)}
    for run, dXp in zip(runs, dXs):
        cells = {}
        for n, o, i, j in run[-1:]:
            b.window(cells, "dX", n, o, i, j)
            cells.setdefault(f"dY:{n},{o}", []).append((i, j))
        b.frame({**b.xp_values("dX", dXp, scatter=True), **empty2}, cells, b.kernel_keys("W", run[-1][1]),
                _dx_title(c, run), cap1)
    last1 = b.xp_values("dX", dXs[-1], scatter=True)
    gather = np.full((c.N, c.C, c.H, c.W), np.nan)
    for run in runs2:
        for n, ch, h, w in run:
            gather[n, ch, h, w] = full2[n, ch, h, w]
        _gather_frame(b, c, run, gather.copy(), full2, terms, last1, cap2)
    return b.build("input-grad", {"dX": _crop(c, dXs[-1]), "dX_gather": full2})


def backprop_scene(rec, dY, max_frames=400):
    """The combined clip: forward (window, y filling), then backward (dY[i,j] lit, heat flowing into
    dW and dX); x, W, y, dY, dW, dX side by side."""
    c = _Conv(rec, dY)
    max_frames = check_frames(max_frames)
    runs = chunks(c.positions(), max(1, max_frames // 2))
    b = SceneBuilder(c)
    ys, yfull = _forward_states(c, runs)
    dWs, dXs = _backward_states(c, runs)
    b.scales = {"x": value_scale("x (input)", c.x), "W": value_scale("W (kernel)", c.w),
                "y": value_scale("y (output)", yfull), "dY": grad_scale("dY (upstream)", c.dY),
                "dW": grad_scale("dW", *dWs), "dX": grad_scale("dX", *dXs)}
    b.x_panels("x", 0, "x", c.x)
    b.w_panels("W", 1, "W", c.w)
    b.y_panels("y", 2, "y", None, dynamic=True)
    b.y_panels("dY", 3, "dY", c.dY)
    b.w_panels("dW", 4, "dW", None, dynamic=True)
    b.x_panels("dX", 5, "dX", None, dynamic=True)
    fcap = _forward_caption(c, "forward: ")
    bcap = "backward: " + _dw_caption(c).replace("   (", f";  dX[window] += dY{c.rule('[i,j]', '[j]')}·W   (")
    zero_dw = b.w_values("dW", np.full((c.O, c.Cg, c.KH, c.KW), np.nan))
    zero_dx = b.x_values("dX", np.full((c.N, c.C, c.H, c.W), np.nan))
    for run, y in zip(runs, ys):
        cells = {}
        for n, o, i, j in run[-1:]:
            b.window(cells, "x", n, o, i, j)
            cells.setdefault(f"y:{n},{o}", []).append((i, j))
        b.frame({**b.y_values("y", y), **zero_dw, **zero_dx}, cells, b.kernel_keys("W", run[-1][1]),
                "forward  " + _forward_title(c, run, yfull), fcap)
    for run, dW, dXp in zip(runs, dWs, dXs):
        cells = {}
        for n, o, i, j in run[-1:]:
            b.window(cells, "x", n, o, i, j)
            b.window(cells, "dX", n, o, i, j)
            cells.setdefault(f"dY:{n},{o}", []).append((i, j))
        o = run[-1][1]
        boxes = b.kernel_keys("W", o) + b.kernel_keys("dW", o)
        title = "backward  " + _dw_title(c, run) + ";  " + _dx_title(c, run).split(" = ")[0]
        b.frame({**b.y_values("y", ys[-1]), **b.w_values("dW", dW), **b.xp_values("dX", dXp)}, cells, boxes,
                title, bcap)
    return b.build("backprop", {"y": yfull, "dW": dWs[-1], "dX": _crop(c, dXs[-1])})


# --- backward as convolutions ------------------------------------------------------------------

def dx_as_conv_scene(rec, dY, max_frames=400):
    """dX as one convolution: the kernel rotated 180° slides over dY′ (dY with the stride's zeros
    inserted, zero-padded by (K−1)·d−p) with stride 1 and the layer's dilation, gathering dX cell by
    cell; the stride's zeros pale, the padding grey."""
    c = _Conv(rec, dY)
    D, dzeros = _dilated_dy(c)
    wf = c.w[:, :, ::-1, ::-1]  # rot180 per (o, c)
    full, terms = _gather(c, D, wf)
    cells = [(n, ch, h, w) for n in range(c.N) for ch in range(c.C) for h in range(c.H) for w in range(c.W)]
    runs = chunks(cells, check_frames(max_frames))
    b = SceneBuilder(c)
    b.scales = {"dY": grad_scale("dY and dY′", c.dY), "W": value_scale("W, rot180(W)", c.w),
                "dX": grad_scale("dX (gradient)", full)}
    inserted = dzeros & _between_entries(c, dzeros.shape)
    b.y_panels("dY", 0, "dY", c.dY)
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"dYd:{n},{o}", c.y_title("dY′", n, o), 1, n * c.O + o, 0, "dY", np.where(dzeros, np.nan, D[n, o]),
                    dzeros & ~inserted, inserted=inserted if inserted.any() else None)
    b.w_panels("Wf", 2, "W", wf, label="rot180 W")
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"dXg:{n},{ch}", c.x_title("dX", n, ch), 3, n * c.C + ch, 0, "dX", np.full((c.H, c.W), np.nan),
                    None, True)
    top, left = (c.KH - 1) * c.dh - c.pt, (c.KW - 1) * c.dw - c.pl
    how = "with the stride's s−1 zeros inserted between entries, " if max(c.sh, c.sw) > 1 else ""
    pad = left if c.one or top == left else (top, left)
    caption = (f"dX = one transposed convolution of dY with W: rot180(W) sliding over dY′ = dY {how}zero-padded by "
               f"(K−1)·d−p = {pad}, stride 1, dilation d   ({c.params_text()})"
               + ("; pale 0: inserted by the stride, grey 0: padding" if inserted.any() else ""))
    gathered = np.full((c.N, c.C, c.H, c.W), np.nan)
    for run in runs:
        for n, ch, h, w in run:
            gathered[n, ch, h, w] = full[n, ch, h, w]
        _gather_frame(b, c, run, gathered.copy(), full, terms, {}, caption)
    return b.build("dx-as-conv", {"dX": full})


def _dy_kernel(c):
    """dY′ as a kernel: each (n, o) map with the stride's s − 1 zeros inserted between its entries,
    (N, O, s·(OH−1)+1, s·(OW−1)+1), and the mask of the inserted zeros."""
    K = np.zeros((c.N, c.O, c.sh * (c.OH - 1) + 1, c.sw * (c.OW - 1) + 1))
    K[:, :, ::c.sh, ::c.sw] = c.dY
    inserted = np.ones(K.shape[2:], bool)
    inserted[::c.sh, ::c.sw] = False
    return K, inserted


def _dw_cell(c, o, ch, u, v):
    """dW[o, ch, u, v] as a window sum over x: its value, its (dY, x) terms and the window's cells on
    the padded x grid."""
    cin = c.channels(o).start + ch
    rows = u * c.dh + np.arange(c.OH) * c.sh
    cols = v * c.dw + np.arange(c.OW) * c.sw
    pairs = [(c.dY[n, o, i, j], c.xp[n, cin, r, q]) for n in range(c.N)
             for i, r in enumerate(rows.tolist()) for j, q in enumerate(cols.tolist())]
    window = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return float(sum(a * b for a, b in pairs)), pairs, cin, window


def dw_as_conv_scene(rec, dY, max_frames=400):
    """dW as one convolution: dY, dilated by the stride, slides over x as a kernel, stepping by the
    dilation; each position of the slide is one dW[u,v], the window sum of the x cells under dY."""
    c = _Conv(rec, dY)
    K, inserted = _dy_kernel(c)
    cells = [(o, ch, u, v) for o in range(c.O) for ch in range(c.Cg) for u in range(c.KH) for v in range(c.KW)]
    runs = chunks(cells, check_frames(max_frames))
    dW = np.array([[[[_dw_cell(c, o, ch, u, v)[0] for v in range(c.KW)] for u in range(c.KH)]
                    for ch in range(c.Cg)] for o in range(c.O)])
    b = SceneBuilder(c)
    b.scales = {"x": value_scale("x (input)", c.x), "dY": grad_scale("dY′ (the kernel)", c.dY),
                "dW": grad_scale("dW (gradient)", dW)}
    b.x_panels("x", 0, "x", c.x)
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"dYk:{n},{o}", c.y_title("dY′", n, o), 1, n * c.O + o, 0, "dY",
                    np.where(inserted, np.nan, K[n, o]), None, inserted=inserted if inserted.any() else None)
    b.w_panels("dW", 2, "dW", None, dynamic=True)
    dil = "dilated by the stride s (pale 0: its inserted zeros), " if max(c.sh, c.sw) > 1 else ""
    caption = (f"dW = one convolution of x with dY as the kernel: dY {dil}slides over x in steps of the dilation "
               f"d; each position is one dW cell   ({c.params_text()})")
    state = np.full(dW.shape, np.nan)
    for run in runs:
        for o, ch, u, v in run:
            state[o, ch, u, v] = dW[o, ch, u, v]
        o, ch, u, v = run[-1]
        value, pairs, cin, window = _dw_cell(c, o, ch, u, v)
        frame_cells = {f"x:{n},{cin}": window for n in range(c.N)}
        frame_cells[f"dW:{o},{ch}"] = [(u, v)]
        lhs = c.index("dW", c.s.w_lead(o, ch), u, v)
        title = (f"dW filled {len(run)} cells per frame, last {lhs} = {num(value)}" if len(run) > 1 else
                 f"{lhs} = Σ dY·x[window] = {sum_text(pairs)} = {num(value)}")
        b.frame(b.w_values("dW", state), frame_cells, tuple(f"dYk:{n},{o}" for n in range(c.N)), title, caption)
    return b.build("dw-as-conv", {"dW": dW})


def _im2col(c, g):
    """Group ``g``'s column matrix: one row per kernel tap (c, u, v) of the group, one column per
    output position (n, i, j); x under that tap of that position (0 on padding), and the mask of
    the padding entries."""
    taps = [(ch, u, v) for ch in range(c.Cg) for u in range(c.KH) for v in range(c.KW)]
    positions = [(n, i, j) for n in range(c.N) for i in range(c.OH) for j in range(c.OW)]
    cols = np.zeros((len(taps), len(positions)))
    pad = np.zeros(cols.shape, bool)
    for k, (ch, u, v) in enumerate(taps):
        for q, (n, i, j) in enumerate(positions):
            r, col = c.tap_rows(i)[u], c.tap_cols(j)[v]
            cols[k, q] = c.xp[n, g * c.Cg + ch, r, col]
            pad[k, q] = c.pad_mask[r, col]
    return cols, pad, taps, positions


def _im2col_panels(b, c, mats):
    """Per group, three panel rows: W_row | y_row, cols | dcols, dW_row | dY_row; dX beside them."""
    for g, (cols, pad, W_row, dY_row) in enumerate(mats):
        sfx = f" (group {g})" if c.s.groups > 1 else ""
        b.panel(f"Wr:{g}", f"W_row{sfx}", 0, 3 * g, 0, "W", W_row)
        b.panel(f"cols:{g}", f"cols = im2col(x){sfx}", 0, 3 * g + 1, 0, "x", np.where(pad, np.nan, cols), pad)
        b.panel(f"dWr:{g}", f"dW_row = dY_row·colsᵀ{sfx}", 0, 3 * g + 2, 0, "dW", np.full(W_row.shape, np.nan),
                dynamic=True)
        b.panel(f"yr:{g}", f"y_row = W_row·cols{sfx}", 1, 3 * g, 0, "y", np.full(dY_row.shape, np.nan), dynamic=True)
        b.panel(f"dcols:{g}", f"dcols = W_rowᵀ·dY_row{sfx}", 1, 3 * g + 1, 0, "dX", np.full(cols.shape, np.nan),
                dynamic=True)
        b.panel(f"dYr:{g}", f"dY_row{sfx}", 1, 3 * g + 2, 0, "dY", dY_row)
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"dX:{n},{ch}", c.x_title("dX = col2im(dcols)", n, ch), 2, n * c.C + ch, 0, "dX",
                    np.full((c.H, c.W), np.nan), None, True)


def im2col_scene(rec, dY, max_frames=400):
    """The matrix view: x unrolled into the column matrix, y = W_row·cols column by column; then
    dW = dY_row·colsᵀ tap by tap; then dcols = W_rowᵀ·dY_row and dX = col2im(dcols), position by
    position; the row, column and cell of each product outlined."""
    c = _Conv(rec, dY)
    third = max(1, check_frames(max_frames) // 3)  # frames per phase
    G, Og = c.s.groups, c.Og
    mats = []
    for g in range(G):
        cols, pad, taps, positions = _im2col(c, g)
        W_row = c.w[g * Og:(g + 1) * Og].reshape(Og, -1)
        dY_row = c.dY[:, g * Og:(g + 1) * Og].transpose(1, 0, 2, 3).reshape(Og, -1)
        mats.append((cols, pad, W_row, dY_row))
    P, T = len(positions), len(taps)
    bias = np.zeros(c.O) if c.b is None else c.b
    y_rows = [W @ cols + bias[g * Og:(g + 1) * Og, None] for g, (cols, _, W, _) in enumerate(mats)]
    dW_rows = [dYr @ cols.T for cols, _, _, dYr in mats]
    dcols = [W.T @ dYr for _, _, W, dYr in mats]
    runs_y, runs_w, runs_x = chunks(list(range(P)), third), chunks(list(range(T)), third), chunks(list(range(P)), third)
    dXs = _col2im_states(c, dcols, taps, positions, runs_x)
    b = SceneBuilder(c)
    b.scales = {"x": value_scale("x (cols)", *[m[0] for m in mats]), "W": value_scale("W_row", c.w),
                "y": value_scale("y_row", *y_rows), "dY": grad_scale("dY_row", c.dY),
                "dW": grad_scale("dW_row", *dW_rows), "dX": grad_scale("dcols and dX", *dcols, dXs[-1])}
    _im2col_panels(b, c, mats)
    _im2col_frames(b, c, mats, y_rows, dW_rows, dcols, dXs, taps, positions, runs_y, runs_w, runs_x)
    dW = np.concatenate([d.reshape(Og, c.Cg, c.KH, c.KW) for d in dW_rows], axis=0)
    y = np.stack([yr.reshape(Og, c.N, c.OH, c.OW) for yr in y_rows]).transpose(2, 0, 1, 3, 4).reshape(c.y.shape)
    return b.build("im2col", {"y": y, "dW": dW, "dX": dXs[-1]})


def _col2im_states(c, dcols, taps, positions, runs):
    """col2im run by run: every dcols entry of the run's positions added into dX at the x cell it
    came from (padding dropped); the cropped dX (N, C, H, W) after each run."""
    dXp = np.zeros((c.N, c.C, c.Hp, c.Wp))
    states = []
    for run in runs:
        for g, d in enumerate(dcols):
            for q in run:
                n, i, j = positions[q]
                for k, (ch, u, v) in enumerate(taps):
                    dXp[n, g * c.Cg + ch, c.tap_rows(i)[u], c.tap_cols(j)[v]] += d[k, q]
        states.append(_crop(c, dXp).copy())
    return states


def _im2col_frames(b, c, mats, y_rows, dW_rows, dcols, dXs, taps, positions, runs_y, runs_w, runs_x):
    """The three phases' frames: forward by column, dW by tap, dX by position."""
    G = len(mats)
    y_state = [np.full(y.shape, np.nan) for y in y_rows]
    dw_state = [np.full(d.shape, np.nan) for d in dW_rows]
    dc_state = [np.full(d.shape, np.nan) for d in dcols]
    base = {f"dX:{n},{ch}": np.full((c.H, c.W), np.nan) for n in range(c.N) for ch in range(c.C)}

    def values():
        out = dict(base)
        for g in range(G):
            out.update({f"yr:{g}": y_state[g].copy(), f"dWr:{g}": dw_state[g].copy(), f"dcols:{g}": dc_state[g].copy()})
        return out

    cap = f"im2col: y = W_row·cols{' + b' if c.b is not None else ''}   ({c.params_text()})"
    for run in runs_y:
        for g in range(G):
            y_state[g][:, run] = y_rows[g][:, run]
        q = run[-1]
        n, i, j = positions[q]
        terms = [(mats[0][2][0, k], mats[0][0][k, q]) for k in range(len(taps))]
        bias = "" if c.b is None else f"{num(c.b[0])} + "
        title = (f"{c.index('y', c.y_lead(n, 0), i, j)} = {bias}W_row·cols[:, {q}] = {bias}{sum_text(terms)} = "
                 f"{num(y_rows[0][0, q])}")
        cells = {**{f"cols:{g}": [(k, q) for k in range(len(taps))] for g in range(G)},
                 **{f"yr:{g}": [(o, q) for o in range(y_rows[g].shape[0])] for g in range(G)}}
        b.frame(values(), cells, tuple(f"Wr:{g}" for g in range(G)), title, cap)
    cap = "dW = dY_row·colsᵀ: each tap's row of cols against dY   (weight sharing: a sum over every position)"
    for run in runs_w:
        for g in range(G):
            dw_state[g][:, run] = dW_rows[g][:, run]
        k = run[-1]
        ch, u, v = taps[k]
        terms = [(mats[0][3][0, q], mats[0][0][k, q]) for q in range(len(positions))]
        title = (f"{c.index('dW', c.s.w_lead(0, ch), u, v)} = dY_row·cols[{k}, :] = {sum_text(terms)} = "
                 f"{num(dW_rows[0][0, k])}")
        cells = {**{f"cols:{g}": [(k, q) for q in range(len(positions))] for g in range(G)},
                 **{f"dWr:{g}": [(o, k) for o in range(dW_rows[g].shape[0])] for g in range(G)}}
        b.frame(values(), cells, tuple(f"dYr:{g}" for g in range(G)), title, cap)
    cap = "dX = col2im(W_rowᵀ·dY_row): each position's column of dcols added back into the x cells it came from"
    for run, dX in zip(runs_x, dXs):
        for g in range(G):
            dc_state[g][:, run] = dcols[g][:, run]
        q = run[-1]
        base.update({f"dX:{n},{ch}": dX[n, ch] for n in range(c.N) for ch in range(c.C)})
        n, i, j = positions[q]
        title = (f"dcols[:, {q}] = W_rowᵀ·{c.index('dY', c.y_lead(n, 0), i, j)} = {_factor(mats[0][3][0, q])}·W_rowᵀ;"
                 f" col2im adds it into dX[window]")
        cells = {**{f"dcols:{g}": [(k, q) for k in range(len(taps))] for g in range(G)},
                 **{f"dYr:{g}": [(o, q) for o in range(mats[g][3].shape[0])] for g in range(G)}}
        rows, cols_ = c.tap_rows(i) - c.pt, c.tap_cols(j) - c.pl  # the window on the unpadded dX
        window = [(r, q2) for r in rows.tolist() for q2 in cols_.tolist() if 0 <= r < c.H and 0 <= q2 < c.W]
        cells.update({f"dX:{n},{ch}": window for ch in range(c.C)})
        b.frame(values(), cells, tuple(f"Wr:{g}" for g in range(G)), title, cap)
