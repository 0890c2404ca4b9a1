"""The grid scenes of a transposed convolution, frame by frame, as numbers (drawn like every grid scene
by :mod:`~convgraph.renderers.animations.grid_frames`).

A transposed convolution is easiest read from its input: element x[a, b] stamps x[a, b]·W onto the
output at (a·s, b·s), the taps spread by the dilation, and the padding p is cropped off every side
of what the stamps cover. The scenes draw that *uncropped* output with its cropped border faded,
and the same y once more as an ordinary convolution: the kernel rotated 180° sliding over x′, x
with s − 1 zeros inserted between its entries and padded by (K − 1)·d − p. Its gradients read
from the input too: dW[c,o,u,v] = Σ x[c,a,b]·dY[o, a·s+u·d−p, b·s+v·d−p] and
dX[c,a,b] = Σ W[c,o,u,v]·dY[o, a·s+u·d−p, b·s+v·d−p], a convolution of dY with W.
"""

from __future__ import annotations

import numpy as np

from ..numbers import num, num_factor as _factor
from .grid_scenes import SceneBuilder, check_frames, chunks, grad_scale, sum_text, titled, value_scale

__all__ = ["forward_scene", "weight_grad_scene", "input_grad_scene", "backprop_scene", "lesson_scene"]


class _TConv:
    """The arrays and geometry of one traced transposed convolution, on the uncropped output grid
(rows and columns from the first stamp's top left; y is rows pt … pt + OH − 1 of it)."""

    def __init__(self, rec, dY):
        s = self.s = rec.spec
        self.N, self.C, self.H, self.W, self.O = s.N, s.C, s.H, s.W, s.O
        self.Cg, self.Og, self.KH, self.KW, self.OH, self.OW = s.Cg, s.Og, s.KH, s.KW, s.OH, s.OW
        (self.sh, self.sw), (self.dh, self.dw) = s.stride, s.dilation
        self.pt, self.pl = s.padding[0], s.padding[2]
        self.x, self.w, self.b = rec.values4("x"), rec.values4("w"), rec.values4("b")  # w: (C, O/groups, KH, KW)
        self.y = rec.values4("y")  # as the graph computed it
        self.dY = np.asarray(dY, float).reshape(s.N, s.O, s.OH, s.OW)
        self.Hf, self.Wf = s.uncropped()  # its border outside y is what the padding crops off
        self.border = np.ones((self.Hf, self.Wf), bool)  # what the padding crops off
        self.border[self.pt:self.pt + s.OH, self.pl:self.pl + s.OW] = False
        self.dYf = np.zeros((s.N, s.O, self.Hf, self.Wf))  # dY on the uncropped grid: 0 on the border
        self.dYf[:, :, self.pt:self.pt + s.OH, self.pl:self.pl + s.OW] = self.dY

    # --- names ---------------------------------------------------------------------------------
    def x_title(self, name, n, c):
        return titled(name, self.s.lead_names("x"), self.s.x_lead(n, c))

    def y_title(self, name, n, o):
        return titled(name, self.s.lead_names("y"), self.s.y_lead(n, o))

    def w_title(self, name, c, ol):
        lead = self.s.w_lead(c // self.Cg * self.Og + ol, c % self.Cg)
        return f"{name}[{lead[0]},{lead[1]}]" if lead and self.Og > 1 else titled(name, self.s.lead_names("w"), lead)

    def x_index(self, n, c, a, b):
        return "x[" + ",".join(str(v) for v in (*self.s.x_lead(n, c), a, b)) + "]"

    def y_index(self, name, n, o, i, j):
        return f"{name}[" + ",".join(str(v) for v in (*self.s.y_lead(n, o), i, j)) + "]"

    def params_text(self):
        s = self.s

        def one(pair):
            return str(pair[0]) if pair[0] == pair[1] else str(pair)
        extra = f", output padding {one(s.output_padding)}" if any(s.output_padding) else ""
        extra += f", groups {s.groups}" if s.groups > 1 else ""
        return (f"stride s={one(s.stride)}, dilation d={one(s.dilation)}, "
                f"padding p={one((self.pt, self.pl))}{extra}")

    # --- geometry ------------------------------------------------------------------------------
    def inputs(self):
        """Every input element (n, c, a, b), in the order the clip visits them."""
        return [(n, c, a, b) for n in range(self.N) for c in range(self.C) for a in range(self.H) for b in range(self.W)]

    def outputs(self):
        return [(n, o, i, j) for n in range(self.N) for o in range(self.O) for i in range(self.OH) for j in range(self.OW)]

    def filters(self, c):
        """(o, o within the group) of the output channels input channel c stamps into."""
        return [(o, o % self.Og) for o in self.s.out_channels(c)]

    def stamp(self, a, b):
        """Rows (KH,) and columns (KW,) of the uncropped output where x[a, b]'s stamp lands (the
        tracer's window, shifted by the padding it crops)."""
        rows, cols = self.s.window(a, b)
        return rows + self.pt, cols + self.pl

    def landing(self, a, b):
        """Cells (KH·KW, 2) of the uncropped output where x[a, b]'s stamp lands."""
        r, q = np.meshgrid(*self.stamp(a, b), indexing="ij")
        return np.stack([r.ravel(), q.ravel()], axis=1)

    def window(self, n, o, a, b):
        """dY under x[a, b]'s stamp on the uncropped grid: (KH, KW), 0 where it was cropped."""
        rows, cols = self.stamp(a, b)
        return self.dYf[n, o, rows[:, None], cols[None, :]]

    def gather_grid(self):
        """x′ for every (n, c): x with s − 1 zeros inserted between entries, padded by (K − 1)·d − p
        (cropped where that is negative) and by the output padding at the bottom and right:
        (N, C, OH + (KH−1)·dh, OW + (KW−1)·dw) values, its padding and its inserted zeros."""
        Hg, Wg = self.OH + (self.KH - 1) * self.dh, self.OW + (self.KW - 1) * self.dw
        qt, ql = (self.KH - 1) * self.dh - self.pt, (self.KW - 1) * self.dw - self.pl
        rows, cols = np.arange(Hg) - qt, np.arange(Wg) - ql  # the place in x with zeros inserted
        in_r, in_c = (rows >= 0) & (rows <= (self.H - 1) * self.sh), (cols >= 0) & (cols <= (self.W - 1) * self.sw)
        hit_r, hit_c = in_r & (rows % self.sh == 0), in_c & (cols % self.sw == 0)
        G = np.zeros((self.N, self.C, Hg, Wg))
        G[:, :, hit_r[:, None] & hit_c[None, :]] = self.x[:, :, (rows[hit_r] // self.sh)[:, None],
                                                          (cols[hit_c] // self.sw)[None, :]].reshape(self.N, self.C, -1)
        real = hit_r[:, None] & hit_c[None, :]
        inside = in_r[:, None] & in_c[None, :]
        return G, ~inside, inside & ~real, (qt, ql)


def _stamp_states(c, runs):
    """The uncropped y filling stamp by stamp, bias first: list of (N, O, Hf, Wf), empty (NaN) where
    no stamp has landed yet; the last state complete (a cell no stamp reaches holds the bias, or 0)."""
    yf = np.zeros((c.N, c.O, c.Hf, c.Wf))
    if c.b is not None:
        yf += c.b.reshape(1, -1, 1, 1)
    reached = np.zeros(yf.shape, bool)
    states = []
    for run in runs:
        for n, ch, a, b in run:
            r, q = c.landing(a, b).T
            for o, ol in c.filters(ch):
                yf[n, o, r, q] += c.x[n, ch, a, b] * c.w[ch, ol].ravel()
                reached[n, o, r, q] = True
        states.append(np.where(reached, yf, np.nan))
    states[-1] = yf.copy()
    return states


def _backward_states(c, runs):
    """dW (C, O/groups, KH, KW) and dX (N, C, H, W) run by run, each input element reading the dY
    under its stamp."""
    dW, dX = np.zeros(c.w.shape), np.full((c.N, c.C, c.H, c.W), np.nan)
    dWs, dXs = [], []
    for run in runs:
        for n, ch, a, b in run:
            total = 0.0
            for o, ol in c.filters(ch):
                win = c.window(n, o, a, b)
                dW[ch, ol] += c.x[n, ch, a, b] * win
                total += float(np.sum(c.w[ch, ol] * win))
            dX[n, ch, a, b] = total
        dWs.append(dW.copy())
        dXs.append(dX.copy())
    return dWs, dXs


def _scatter_panels(b, c, block, name, title):
    """One uncropped output panel per (n, o), its cropped border faded."""
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"{name}:{n},{o}", c.y_title(title, n, o), block, n * c.O + o, 0, "y",
                    np.full((c.Hf, c.Wf), np.nan), None, True, faded=c.border if c.border.any() else None)


def _x_panels(b, c, block, dynamic=False):
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"x:{n},{ch}", c.x_title("x", n, ch), block, n * c.C + ch, 0, "x", c.x[n, ch], None, dynamic)


def _w_panels(b, c, block, name, values, label, scale, dynamic=False):
    for ch in range(c.C):
        for ol in range(c.Og):
            vals = np.full((c.KH, c.KW), np.nan) if values is None else values[ch, ol]
            b.panel(f"{name}:{ch},{ol}", c.w_title(label, ch, ol), block, ch, ol, scale, vals, None, dynamic)


def _dx_panels(b, c, block):
    """One dX panel per (n, c), filling in."""
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"dX:{n},{ch}", c.x_title("dX", n, ch), block, n * c.C + ch, 0, "dX", np.full((c.H, c.W), np.nan),
                    None, True)


def _dy_panels(b, c, block):
    """dY on the uncropped grid: the border the padding cropped holds no gradient (grey 0)."""
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"dY:{n},{o}", c.y_title("dY", n, o), block, n * c.O + o, 0, "dY",
                    np.where(c.border, np.nan, c.dYf[n, o]), c.border)


def _stamp_cells(c, cells, key, n, ch, a, b):
    """Outline x[a, b] and where its stamp lands (or the dY it reads) on the ``key`` panels."""
    cells.setdefault(f"x:{n},{ch}", []).append((a, b))
    for o, _ in c.filters(ch):
        cells.setdefault(f"{key}:{n},{o}", []).extend(map(tuple, c.landing(a, b)))


def _stamp_title(c, run):
    n, ch, a, b = run[-1]
    if len(run) > 1:
        return f"y[window] += x·W for {len(run)} input elements per frame, last {c.x_index(n, ch, a, b)}"
    v = c.x[n, ch, a, b]
    return f"y[window] += {c.x_index(n, ch, a, b)} · W = {_factor(v)} · W   (x[a,b] stamps at a·s, b·s)"


def _scatter_caption(c, prefix="part 1, scatter: "):
    fall = "; faded border: what lands on the padding, which the output crops off" if c.border.any() else ""
    return f"{prefix}each x[a,b] adds x[a,b]·W into y at (a·s+u·d−p, b·s+v·d−p){fall}   ({c.params_text()})"


def _wf(c):
    return c.w[:, :, ::-1, ::-1]  # rot180 per (c, o)


def _gather_values(c, G, n, o, i, j):
    """y[n,o,i,j] as rot180(W) over x′: its value and its nonzero terms."""
    wf, pairs, total = _wf(c), [], 0.0 if c.b is None else float(c.b[o])
    ol = o % c.Og
    for ch in c.s.in_channels(o):
        win = G[n, ch, i + np.arange(c.KH)[:, None] * c.dh, j + np.arange(c.KW)[None, :] * c.dw]
        total += float(np.sum(win * wf[ch, ol]))
        pairs += [(wf[ch, ol, u, v], win[u, v]) for u in range(c.KH) for v in range(c.KW) if win[u, v] != 0]
    return total, pairs


def _gather_caption(c, qt, ql, inserted):
    """How x′ is made: zeros inserted by the stride, then padded by (K−1)·d−p (cropped where that is
    negative) and by the output padding at the bottom and right."""
    how = "with s−1 zeros inserted between entries, " if max(c.sh, c.sw) > 1 else ""
    pad = qt if qt == ql else (qt, ql)
    edge = (f"padded by (K−1)·d−p = {pad}" if min(qt, ql) >= 0 else
            f"cropped by p−(K−1)·d = {-qt if qt == ql else (-qt, -ql)}" if max(qt, ql) <= 0 else
            f"padded (cropped where negative) by (K−1)·d−p = {pad}")
    e = c.s.output_padding
    if any(e):
        edge += f", and by the output padding {e[0] if e[0] == e[1] else e} at the bottom and right"
    return (f"part 2, gather: the same y = rot180(W) sliding over x′ = x {how}{edge}, stride 1, dilation d"
            + ("; pale 0: inserted by the stride, grey 0: padding" if inserted else ""))


def forward_scene(rec, dY, max_frames=400):
    """Both readings of the forward pass: every x[a,b] stamping x[a,b]·W into the uncropped output
    (its border cropped off); then the same y as rot180(W) sliding over x′ (x with zeros inserted
    by the stride, padded), cell by cell."""
    c = _TConv(rec, dY)
    max_frames = check_frames(max_frames)
    runs1 = chunks(c.inputs(), max(1, max_frames // 2))
    runs2 = chunks(c.outputs(), max(1, max_frames - len(runs1)))
    G, pad, inserted, (qt, ql) = c.gather_grid()
    states = _stamp_states(c, runs1)
    b = SceneBuilder(None)  # panels and frames only: the conv2d helpers are not used
    b.scales = {"x": value_scale("x and x′ (input)", c.x), "W": value_scale("W, rot180(W)", c.w),
                "y": value_scale("y (output)", states[-1], c.y)}
    _x_panels(b, c, 0)
    _w_panels(b, c, 1, "W", c.w, "W", "W")
    _scatter_panels(b, c, 2, "ys", "y scatter")
    for n in range(c.N):
        for ch in range(c.C):
            b.panel(f"xg:{n},{ch}", c.x_title("x′", n, ch), 3, n * c.C + ch, 0, "x",
                    np.where(pad | inserted, np.nan, G[n, ch]), pad, inserted=inserted if inserted.any() else None)
    _w_panels(b, c, 4, "Wf", _wf(c), "rot180 W", "W")
    for n in range(c.N):
        for o in range(c.O):
            b.panel(f"yg:{n},{o}", c.y_title("y gather", n, o), 5, n * c.O + o, 0, "y",
                    np.full((c.OH, c.OW), np.nan), None, True)
    cap1, cap2 = _scatter_caption(c), _gather_caption(c, qt, ql, inserted.any())
    empty = {f"yg:{n},{o}": np.full((c.OH, c.OW), np.nan) for n in range(c.N) for o in range(c.O)}
    for run, yf in zip(runs1, states):
        cells = {}
        _stamp_cells(c, cells, "ys", *run[-1])
        ch = run[-1][1]
        b.frame({**{f"ys:{n},{o}": yf[n, o] for n in range(c.N) for o in range(c.O)}, **empty}, cells,
                tuple(f"W:{ch},{ol}" for _, ol in c.filters(ch)), _stamp_title(c, run), cap1)
    last = {f"ys:{n},{o}": states[-1][n, o] for n in range(c.N) for o in range(c.O)}
    gathered = np.full((c.N, c.O, c.OH, c.OW), np.nan)
    full = np.zeros((c.N, c.O, c.OH, c.OW))
    for run in runs2:
        for n, o, i, j in run:
            gathered[n, o, i, j] = full[n, o, i, j] = _gather_values(c, G, n, o, i, j)[0]
        n, o, i, j = run[-1]
        cells = {f"yg:{n},{o}": [(i, j)]}
        win = np.stack(np.meshgrid(i + np.arange(c.KH) * c.dh, j + np.arange(c.KW) * c.dw, indexing="ij"),
                       axis=-1).reshape(-1, 2)
        for ch in c.s.in_channels(o):
            cells[f"xg:{n},{ch}"] = win
        lhs = c.y_index("y", n, o, i, j)
        if len(run) > 1:
            title = f"y gathered {len(run)} cells per frame, last {lhs} = {num(full[n, o, i, j])}"
        else:
            value, pairs = _gather_values(c, G, n, o, i, j)
            bias = "" if c.b is None else f"{num(c.b[o])} + "
            title = (f"{lhs} = {bias}Σ rot180(W)·x′ = {bias}{sum_text(pairs, empty='0 (every tap on a zero of x′)')}"
                     f" = {num(value)}")
        boxes = tuple(f"Wf:{ch},{o % c.Og}" for ch in c.s.in_channels(o))
        b.frame({**last, **{f"yg:{a},{bb}": gathered[a, bb].copy() for a in range(c.N) for bb in range(c.O)}},
                cells, boxes, title, cap2)
    cropped = states[-1][:, :, c.pt:c.pt + c.OH, c.pl:c.pl + c.OW]
    return b.build("forward", {"y": full, "y_scatter": cropped})


def _one(c):
    """One sample, one channel in and out: the formulas without channel indices."""
    return c.N == 1 and c.C == 1 and c.O == 1


def _dw_caption(c):
    o = "o′" if c.s.groups > 1 else "o"
    rule = ("dW[u,v] = Σ_a,b x[a,b]·dY[a·s+u·d−p, b·s+v·d−p]" if _one(c) else
            f"dW[c,{o},u,v] = Σ_n,a,b x[n,c,a,b]·dY[n,o, a·s+u·d−p, b·s+v·d−p]")
    border = "; grey 0: the cropped border, no gradient" if c.border.any() else ""
    return f"{rule}: each input element reads dY under its stamp   ({c.params_text()}{border})"


def _dw_title(c, run):
    n, ch, a, b = run[-1]
    if len(run) > 1:
        return f"dW += x·(dY under the stamp) for {len(run)} input elements, last {c.x_index(n, ch, a, b)}"
    dw = "dW" if c.C == 1 else f"dW[c={ch}]"
    return f"{dw} += {c.x_index(n, ch, a, b)} · (dY under its stamp) = {_factor(c.x[n, ch, a, b])} · dY[window]"


def _dx_title(c, run, dX):
    n, ch, a, b = run[-1]
    lhs = "d" + c.x_index(n, ch, a, b).replace("x[", "X[", 1)
    if len(run) > 1:
        return f"dX read {len(run)} cells per frame, last {lhs} = {num(dX[n, ch, a, b])}"
    pairs = [(c.w[ch, ol, u, v], c.window(n, o, a, b)[u, v]) for o, ol in c.filters(ch)
             for u in range(c.KH) for v in range(c.KW)]
    return f"{lhs} = Σ W·dY[under the stamp] = {sum_text(pairs)} = {num(dX[n, ch, a, b])}"


def _dx_caption(c, prefix=""):
    o = "o′" if c.s.groups > 1 else "o"  # W's second index: the filter within c's group
    group = ", o′ = o mod O/groups" if c.s.groups > 1 else ""
    rule = ("dX[a,b] = Σ_u,v W[u,v]·dY[a·s+u·d−p, b·s+v·d−p]" if _one(c) else
            f"dX[n,c,a,b] = Σ_o,u,v W[c,{o},u,v]·dY[n,o, a·s+u·d−p, b·s+v·d−p] (o in c's group{group})")
    return f"{prefix}{rule}: a transposed convolution sends back an ordinary convolution of dY with W   ({c.params_text()})"


def _dw_boxes(c, ch, name="dW"):
    return tuple(f"{name}:{ch},{ol}" for _, ol in c.filters(ch))


def weight_grad_scene(rec, dY, max_frames=400):
    """dW builds up input element by input element: x[a,b] times the dY under its stamp."""
    c = _TConv(rec, dY)
    runs = chunks(c.inputs(), check_frames(max_frames))
    dWs, _ = _backward_states(c, runs)
    b = SceneBuilder(None)  # panels and frames only: the conv2d helpers are not used
    b.scales = {"x": value_scale("x (input)", c.x), "dY": grad_scale("dY (upstream gradient)", c.dY),
                "dW": grad_scale("dW (gradient)", *dWs)}
    _x_panels(b, c, 0)
    _dy_panels(b, c, 1)
    _w_panels(b, c, 2, "dW", None, "dW", "dW", dynamic=True)
    for run, dW in zip(runs, dWs):
        cells = {}
        _stamp_cells(c, cells, "dY", *run[-1])
        b.frame({f"dW:{ch},{ol}": dW[ch, ol] for ch in range(c.C) for ol in range(c.Og)}, cells,
                _dw_boxes(c, run[-1][1]), _dw_title(c, run), _dw_caption(c))
    return b.build("weight-grad", {"dW": dWs[-1]})


def input_grad_scene(rec, dY, max_frames=400):
    """dX cell by cell: W times the dY under each input element's stamp, summed (a convolution)."""
    c = _TConv(rec, dY)
    runs = chunks(c.inputs(), check_frames(max_frames))
    _, dXs = _backward_states(c, runs)
    b = SceneBuilder(None)  # panels and frames only: the conv2d helpers are not used
    b.scales = {"dY": grad_scale("dY (upstream gradient)", c.dY), "W": value_scale("W (kernel)", c.w),
                "dX": grad_scale("dX (gradient)", dXs[-1])}
    _dy_panels(b, c, 0)
    _w_panels(b, c, 1, "W", c.w, "W", "W")
    _dx_panels(b, c, 2)
    for run, dX in zip(runs, dXs):
        n, ch, a, bb = run[-1]
        cells = {f"dX:{n},{ch}": [(a, bb)]}
        for o, _ in c.filters(ch):
            cells[f"dY:{n},{o}"] = c.landing(a, bb)
        b.frame({f"dX:{m},{k}": dX[m, k] for m in range(c.N) for k in range(c.C)}, cells,
                tuple(f"W:{ch},{ol}" for _, ol in c.filters(ch)), _dx_title(c, run, dXs[-1]), _dx_caption(c))
    return b.build("input-grad", {"dX": dXs[-1]})


def backprop_scene(rec, dY, max_frames=400):
    """The lecture clip of a transposed convolution: forward (each x[a,b] stamping into y), then
    backward (each x[a,b] reading dY under its stamp into dW and dX); x, W, y, dY, dW, dX side by side."""
    c = _TConv(rec, dY)
    max_frames = check_frames(max_frames)
    runs = chunks(c.inputs(), max(1, max_frames // 2))
    states = _stamp_states(c, runs)
    dWs, dXs = _backward_states(c, runs)
    b = SceneBuilder(None)  # panels and frames only: the conv2d helpers are not used
    b.scales = {"x": value_scale("x (input)", c.x), "W": value_scale("W (kernel)", c.w),
                "y": value_scale("y (output)", states[-1]), "dY": grad_scale("dY (upstream)", c.dY),
                "dW": grad_scale("dW", *dWs), "dX": grad_scale("dX", dXs[-1])}
    _x_panels(b, c, 0)
    _w_panels(b, c, 1, "W", c.w, "W", "W")
    _scatter_panels(b, c, 2, "ys", "y")
    _dy_panels(b, c, 3)
    _w_panels(b, c, 4, "dW", None, "dW", "dW", dynamic=True)
    _dx_panels(b, c, 5)
    none_dw = {f"dW:{ch},{ol}": np.full((c.KH, c.KW), np.nan) for ch in range(c.C) for ol in range(c.Og)}
    none_dx = {f"dX:{n},{ch}": np.full((c.H, c.W), np.nan) for n in range(c.N) for ch in range(c.C)}

    def ys(yf):
        return {f"ys:{n},{o}": yf[n, o] for n in range(c.N) for o in range(c.O)}

    fcap = _scatter_caption(c, "forward: ")
    for run, yf in zip(runs, states):
        cells = {}
        _stamp_cells(c, cells, "ys", *run[-1])
        b.frame({**ys(yf), **none_dw, **none_dx}, cells, tuple(f"W:{run[-1][1]},{ol}" for _, ol in c.filters(run[-1][1])),
                "forward  " + _stamp_title(c, run), fcap)
    bcap = "backward: " + _dw_caption(c).split(":")[0] + ";  " + _dx_caption(c).split(":")[0]
    for run, dW, dX in zip(runs, dWs, dXs):
        n, ch, a, bb = run[-1]
        cells = {}
        _stamp_cells(c, cells, "dY", n, ch, a, bb)
        cells[f"dX:{n},{ch}"] = [(a, bb)]
        boxes = tuple(f"W:{ch},{ol}" for _, ol in c.filters(ch)) + _dw_boxes(c, ch)
        values = {**ys(states[-1]), **{f"dW:{k},{ol}": dW[k, ol] for k in range(c.C) for ol in range(c.Og)},
                  **{f"dX:{m},{k}": dX[m, k] for m in range(c.N) for k in range(c.C)}}
        b.frame(values, cells, boxes, "backward  " + _dw_title(c, run), bcap)
    cropped = states[-1][:, :, c.pt:c.pt + c.OH, c.pl:c.pl + c.OW]
    return b.build("backprop", {"y": cropped, "dW": dWs[-1], "dX": dXs[-1]})


def lesson_scene(rec, dY, max_frames=400):
    """The lesson's two panels for a transposed convolution: x, each element outlined as it stamps,
    beside dW accumulating what each element reads back."""
    c = _TConv(rec, dY)
    runs = chunks(c.inputs(), check_frames(max_frames))
    dWs, _ = _backward_states(c, runs)
    b = SceneBuilder(None)  # panels and frames only: the conv2d helpers are not used
    b.scales = {"x": value_scale("x (input value)", c.x), "dW": grad_scale("dW (gradient)", *dWs)}
    _x_panels(b, c, 0)
    _w_panels(b, c, 1, "dW", None, "dW", "dW", dynamic=True)
    for run, dW in zip(runs, dWs):
        n, ch, a, bb = run[-1]
        b.frame({f"dW:{k},{ol}": dW[k, ol] for k in range(c.C) for ol in range(c.Og)}, {f"x:{n},{ch}": [(a, bb)]},
                _dw_boxes(c, ch), _stamp_title(c, run) + "\n" + _dw_title(c, run), _dw_caption(c))
    return b.build("lesson", {"dW": dWs[-1]})
