"""Operations on traced tensors: conv2d, conv1d and conv_transpose2d, and the small network around them
(relu, pooling, sum, mean, mse)."""

from __future__ import annotations

import math

import numpy as np

from .params import MAX_TAPS, as_array, conv_spec, _positive_pair
from .recorder import ONE, Tensor, _edge, _no_gc
from .structure import ConvRecord

__all__ = ["conv2d", "conv1d", "conv_transpose2d", "relu", "max_pool2d", "avg_pool2d", "sum", "mean", "mse_loss", "ConvRecord"]

_FRESH, _CONTINUE = -2, -1  # how a multiply-add starts: new sum from the product / add to the running sum


def _tensor(name, t, recorder=None):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a traced Tensor (from Recorder.input/weight/bias or an op), "
                        f"got {type(t).__name__}; for plain arrays use trace_conv2d")
    if recorder is not None and t.recorder is not recorder:
        raise ValueError(f"{name} belongs to a different recorder than the other operands")
    return t


def _emit(rec, op, values, operands, locals_):
    """Add one node per entry: ``values[k]`` computed from node ids ``operands[k]``."""
    rec.reserve(len(values), op)
    add = rec._add
    with _no_gc():
        return [add(op, v, ops, ls) for v, ops, ls in zip(values, operands, locals_)]


def _sum_chain(rec, nodes, values):
    """((a + b) + c) + ...: one add per extra element. Returns (node, value)."""
    acc, total = int(nodes[0]), float(values[0])
    rec.reserve(len(nodes) - 1, "sum")
    with _no_gc():
        for n, v in zip(nodes[1:].tolist(), values[1:].tolist()):
            total = total + v
            acc = rec._add("add", total, (acc, n), (1.0, 1.0))
    return acc, total


def conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, name=None):
    """Traced 2-D convolution (cross-correlation, as in PyTorch): one ``mul`` and one ``add`` node per
    multiply-add on a real input element.

    Each output is the running sum ``((b + w·x) + w·x) + ...`` over its taps in (c, u, v) order; without
    bias the first product starts the sum. Taps on padding make no node.

    Parameters
    ----------
    x, w, b : Tensor
        Traced input (H, W), (C, H, W) or (N, C, H, W); weights (KH, KW) or (O, C/groups, KH, KW);
        optional bias (O,).
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
    groups : int
    name : str, optional
        Name of the output tensor (default ``"y"``, then ``"y2"``, ...).

    Returns
    -------
    Tensor
        y, shaped (OH, OW), (O, OH, OW) or (N, O, OH, OW) to match the inputs.
    """
    return _conv("conv2d", x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, name=name)


def conv1d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, name=None):
    """Traced 1-D convolution, as ``torch.nn.functional.conv1d``: one ``mul`` and one ``add`` node per
    multiply-add on a real input element, each output the running sum over its taps in (c, k) order.

    Parameters
    ----------
    x, w, b : Tensor
        Traced input (L,), (C, L) or (N, C, L); weights (K,) or (O, C/groups, K); optional bias (O,).
    stride, dilation : int
    padding : int, "valid" or "same"
    groups : int
    name : str, optional

    Returns
    -------
    Tensor
        y, shaped (OL,), (O, OL) or (N, O, OL) to match the inputs; its elements are ``y[3]``,
        ``y[o,3]``: tensors stay 1-D.
    """
    return _conv("conv1d", x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, name=name)


def conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1, name=None):
    """Traced transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``: input element
    x[c, a, b] stamps w[c, o, u, v]·x[c, a, b] onto output (a·stride + u·dilation − padding,
    b·stride + v·dilation − padding) of channel o; what lands outside the output (on the padding)
    is dropped. Each output is the running sum of what lands on it, one ``mul`` and one ``add``
    node per product, in (c, u, v) order.

    The same output is the convolution of x with its elements spread out by the stride (zeros
    inserted), padded by dilation·(K − 1) − padding, and the kernel rotated 180°: the gradient
    conv2d sends back to its input.

    Parameters
    ----------
    x, w, b : Tensor
        Traced input (H, W), (C, H, W) or (N, C, H, W); weights (KH, KW) or (C, O/groups, KH, KW);
        optional bias (O,).
    stride, dilation : int or (int, int)
    padding, output_padding : int or (int, int)
        ``output_padding`` (smaller than the stride or the dilation) adds rows and columns at the
        bottom and right of the output: the sizes a stride would otherwise leave ambiguous.
    groups : int
    name : str, optional

    Returns
    -------
    Tensor
        y, shaped (OH, OW), (O, OH, OW) or (N, O, OH, OW) with OH = (H − 1)·stride − 2·padding +
        dilation·(KH − 1) + output_padding + 1.
    """
    return _conv("conv_transpose2d", x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                 name=name, output_padding=output_padding)


def _conv(op, x, w, b=None, *, stride, padding, dilation, groups, name, output_padding=0):
    """The traced convolution ``op``: every one is a running sum of products over (c, u, v) taps."""
    rec = _tensor("x", x).recorder
    _tensor("w", w, rec)
    if b is not None:
        _tensor("b", b, rec)
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, op=op, output_padding=output_padding)
    _check_size(rec, spec)
    x_flat, w_flat, valid = _tap_indices(spec)
    M, K = spec.N * spec.O * spec.OH * spec.OW, spec.Cg * spec.KH * spec.KW
    xv, wv = x.data.ravel(), w.data.ravel()
    start = np.zeros(M) if b is None else np.broadcast_to(b.data.reshape(1, spec.O, 1, 1),
                                                          (spec.N, spec.O, spec.OH, spec.OW)).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        products = (wv[w_flat] * np.where(valid, xv[x_flat], 0.0)).reshape(M, K)  # (M, K)
        partial = np.cumsum(np.concatenate([start[:, None], products], axis=1), axis=1)[:, 1:]  # running sums
    _finite(op, partial, lambda k: "y[" + ",".join(map(str, np.unravel_index(k // K, spec.y_shape))) + "]")

    ok = valid.reshape(M, K)
    per_output = ok.sum(axis=1)  # (M,)
    first = ok & (np.cumsum(ok, axis=1) == 1)
    b_of_output = None
    if b is None:
        starts = np.where(first, _FRESH, _CONTINUE)[ok]
    else:
        b_of_output = np.broadcast_to(b.nodes.reshape(1, spec.O, 1, 1), (spec.N, spec.O, spec.OH, spec.OW)).ravel()
        starts = np.where(first, b_of_output[:, None], _CONTINUE)[ok]
    n_macs = int(ok.sum())
    n_adds = n_macs - (0 if b is not None else int((per_output > 0).sum()))
    empty = np.flatnonzero(per_output == 0)
    rec.reserve(n_macs + n_adds + len(empty) * (1 if b is None else 2), op)

    base = len(rec)
    # Edge x -> mul carries w's value, edge w -> mul carries x's value: one shared dict per element.
    w_edge = np.array([_edge(float(d)) for d in wv.tolist()], dtype=object)
    x_edge = np.array([_edge(float(d)) for d in xv.tolist()], dtype=object)
    mac_x, mac_w = x_flat.reshape(M, K)[ok], w_flat.reshape(M, K)[ok]
    _emit_macs(rec, zip(x.nodes.ravel()[mac_x].tolist(), w.nodes.ravel()[mac_w].tolist(), w_edge[mac_w].tolist(),
                        x_edge[mac_x].tolist(), products[ok].tolist(), partial[ok].tolist(), starts.tolist()))
    mul_ids, add_ids, y_nodes = _conv_ids(base, ok, starts, per_output, M * K)
    for m in empty.tolist():  # every tap on padding: y = 0 (+ b)
        zero = rec._add("const", 0.0)
        if b is None:
            y_nodes[m] = zero
        else:
            bn = int(b_of_output[m])
            y_nodes[m] = rec._add("add", rec.graph.nodes[bn]["value"] + 0.0, (bn, zero), (1.0, 1.0))
    y = rec._register(y_nodes.reshape(spec.y_shape), name, "y")
    full = (spec.N, spec.O, spec.OH, spec.OW, spec.Cg, spec.KH, spec.KW)
    xin = np.where(valid, x_flat, -1).reshape(full)
    rec.convs.append(ConvRecord(spec, x, w, b, y, mul_ids.reshape(full), add_ids.reshape(full), xin))
    return y


def _check_size(rec, spec):
    """Refuse, from arithmetic on the shapes and before any array is made, a convolution whose
    nodes would pass the recorder's limit, or whose table of taps (padding included) is too big."""
    leaves = spec.N * spec.C * spec.H * spec.W + spec.O * spec.Cg * spec.KH * spec.KW + (spec.O if spec.has_bias else 0)
    what = f"{spec.op} of x {spec.x_shape} ⊛{'ᵀ' if spec.transposed else ''} w {spec.w_shape}"
    rec.reserve(spec.node_estimate() - leaves, what)
    taps = spec.N * spec.O * spec.OH * spec.OW * spec.Cg * spec.KH * spec.KW
    if taps > MAX_TAPS:
        raise ValueError(f"{what} would examine {taps:,} kernel taps (most of them on padding"
                         f"{' or between inserted zeros' if spec.transposed else ''}), more than {MAX_TAPS:,}: "
                         f"use less padding or a smaller kernel")


def _tap_indices(spec):
    """Every (output, tap) pair in the order of the sums, (N, O, OH, OW, C/groups, KH, KW): the flat
    index into x of the element it reads (0 where none), into w of its weight, and whether it is real."""
    N, C, H, W, O, KH, KW, Cg = spec.N, spec.C, spec.H, spec.W, spec.O, spec.KH, spec.KW, spec.Cg
    OH, OW, Og = spec.OH, spec.OW, spec.Og
    rows, rows_ok, cols, cols_ok = spec.taps()
    n = np.arange(N).reshape(N, 1, 1, 1, 1, 1, 1)
    o = np.arange(O).reshape(1, O, 1, 1, 1, 1, 1)
    c = np.arange(Cg).reshape(1, 1, 1, 1, Cg, 1, 1)
    u = np.arange(KH).reshape(1, 1, 1, 1, 1, KH, 1)
    v = np.arange(KW).reshape(1, 1, 1, 1, 1, 1, KW)
    r = rows.reshape(1, 1, OH, 1, 1, KH, 1)
    q = cols.reshape(1, 1, 1, OW, 1, 1, KW)
    full = (N, O, OH, OW, Cg, KH, KW)
    valid = np.broadcast_to(rows_ok.reshape(1, 1, OH, 1, 1, KH, 1) & cols_ok.reshape(1, 1, 1, OW, 1, 1, KW), full)
    cin = (o // Og) * Cg + c
    x_flat = np.where(valid, ((n * C + cin) * H + r) * W + q, 0)
    w_flat = np.broadcast_to(spec.w_index(o, c, u, v), full)
    return x_flat, w_flat, valid


def _emit_macs(rec, macs):
    """Fill the graph's adjacency dicts directly with one ``mul`` (and one ``add``) per multiply-add.

    ``macs`` yields (x node, w node, edge x -> mul, edge w -> mul, product, running sum, start) per
    multiply-add; start is _FRESH (the product starts the sum), _CONTINUE (add to the running sum)
    or the bias node. The two node kinds are written out inline: this loop is the tracer's hot path.
    """
    node, succ, pred = rec._node, rec._succ, rec._pred
    nid, acc = len(rec), -1
    with _no_gc():
        for xi, wi, ex, ew, p, s, st in macs:
            m = nid
            nid += 1
            node[m] = {"op": "mul", "value": p, "grad": 0.0}
            pred[m] = {wi: ew, xi: ex}
            succ[m] = {}
            succ[wi][m] = ew
            succ[xi][m] = ex
            if st == _FRESH:
                acc = m
                continue
            a_in = acc if st == _CONTINUE else st
            acc = nid
            nid += 1
            node[acc] = {"op": "add", "value": s, "grad": 0.0}
            pred[acc] = {a_in: ONE, m: ONE}
            succ[acc] = {}
            succ[a_in][acc] = ONE
            succ[m][acc] = ONE


def _conv_ids(base, ok, starts, per_output, size):
    """Node ids of every multiply and add (-1 where none), and the last node of each sum: that node is y."""
    emitted = np.where(starts == _FRESH, 1, 2)
    last = base + np.cumsum(emitted) - 1  # id of the last node each multiply-add made
    mul_ids = np.full(size, -1, dtype=np.int64)
    add_ids = np.full(size, -1, dtype=np.int64)
    mul_ids[ok.ravel()] = last - emitted + 1
    add_ids[ok.ravel()] = np.where(emitted == 2, last, -1)
    y_nodes = np.full(len(per_output), -1, dtype=np.int64)
    nonempty = per_output > 0
    y_nodes[nonempty] = last[np.cumsum(per_output)[nonempty] - 1]
    return mul_ids, add_ids, y_nodes


def relu(t, *, name=None):
    """Elementwise max(t, 0): one ``relu`` node per element (local derivative 1 where t > 0, else 0)."""
    rec = _tensor("t", t).recorder
    vals = t.data.ravel().tolist()
    nodes = _emit(rec, "relu", [max(v, 0.0) for v in vals], [(n,) for n in t.nodes.ravel().tolist()],
                  [(1.0 if v > 0 else 0.0,) for v in vals])
    return rec._register(np.array(nodes, dtype=np.int64).reshape(t.shape), name, "relu")


def _finite(what, values, where=None):
    """Refuse a non-finite result as Value ops do: numbers too large for a float."""
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).all():
        k = int(np.flatnonzero(~np.isfinite(values.ravel()))[0])
        at = f" at {where(k)}" if where else ""
        raise ValueError(f"{what} produced a non-finite value ({values.ravel()[k]}){at}: the inputs are too large "
                         f"for float64")


def _pool_shape(t, kernel_size, stride, what):
    """(out shape, (kh, kw), (sh, sw)) of a pooling over the last two axes, checked."""
    _tensor("t", t)
    if t.ndim not in (2, 3, 4):
        raise ValueError(f"{what}: t must be 2-D, 3-D or 4-D, got shape {t.shape}")
    kh, kw = _positive_pair("kernel_size", kernel_size)
    sh, sw = (kh, kw) if stride is None else _positive_pair("stride", stride)
    H, W = t.shape[-2:]
    if kh > H or kw > W:
        raise ValueError(f"{what}: kernel_size {(kh, kw)} is larger than the input's {H}x{W}")
    return t.shape[:-2] + ((H - kh) // sh + 1, (W - kw) // sw + 1), (kh, kw), (sh, sw)


def _windows(t, shape, kernel, stride):
    """The flat-index array of every window, window by window."""
    (kh, kw), (sh, sw) = kernel, stride
    H, W = t.shape[-2:]
    OH, OW = shape[-2:]
    flat = np.arange(t.size).reshape(-1, H, W)
    return [flat[p, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
            for p in range(flat.shape[0]) for i in range(OH) for j in range(OW)]


def max_pool2d(t, kernel_size, stride=None, *, name=None):
    """Max over each window, as a chain of binary ``max`` nodes; ties send the gradient to the first."""
    shape, kernel, step = _pool_shape(t, kernel_size, stride, "max_pool2d")
    rec, vals, ids = t.recorder, t.data.ravel(), t.nodes.ravel()
    rec.reserve(math.prod(shape) * (kernel[0] * kernel[1] - 1), "max_pool2d")
    out = []
    with _no_gc():
        for win in _windows(t, shape, kernel, step):
            acc, best = int(ids[win[0]]), float(vals[win[0]])
            for k in win[1:]:
                v = float(vals[k])
                keep = best >= v
                acc = rec._add("max", best if keep else v, (acc, int(ids[k])),
                               (1.0 if keep else 0.0, 0.0 if keep else 1.0))
                best = best if keep else v
            out.append(acc)
    return rec._register(np.array(out, dtype=np.int64).reshape(shape), name, "pool")


def avg_pool2d(t, kernel_size, stride=None, *, name=None):
    """Mean of each window: a chain of ``add`` nodes, then a ``div`` by the window size."""
    shape, kernel, step = _pool_shape(t, kernel_size, stride, "avg_pool2d")
    rec, vals, ids = t.recorder, t.data.ravel(), t.nodes.ravel()
    count = kernel[0] * kernel[1]
    rec.reserve(1 + math.prod(shape) * count, "avg_pool2d")  # the count, then k-1 adds and a div per window
    wins = _windows(t, shape, kernel, step)
    with np.errstate(over="ignore", invalid="ignore"):
        _finite("avg_pool2d", [vals[win].sum() for win in wins])
    size = rec.value(float(count), op="const").node
    out = []
    for win in wins:
        s, total = _sum_chain(rec, ids[win], vals[win])
        out += _emit(rec, "div", [total / count], [(s, size)], [(1.0 / count, -total / count ** 2)])
    return rec._register(np.array(out, dtype=np.int64).reshape(shape), name, "pool")


def _nonempty(what, t):
    if t.size == 0:
        raise ValueError(f"{what} of an empty tensor ({t.name!r}, shape {t.shape}) has nothing to add")


def sum(t, *, name=None):  # noqa: A001 - mirrors torch.sum
    """Sum of all elements: a chain of ``add`` nodes. Returns a 0-d Tensor."""
    rec = _tensor("t", t).recorder
    _nonempty("sum", t)
    rec.reserve(t.size - 1, "sum")
    with np.errstate(over="ignore", invalid="ignore"):
        _finite("sum", np.cumsum(t.data.ravel()))
    s, _ = _sum_chain(rec, t.nodes.ravel(), t.data.ravel())
    return rec._register(np.array(s, dtype=np.int64), name, "sum")


def _mean(rec, nodes, values):
    """The sum chain, then one ``div`` by the element count (a ``const`` node). Returns the node."""
    s, total = _sum_chain(rec, nodes, values)
    count = float(len(nodes))
    size = rec.value(count, op="const").node
    return _emit(rec, "div", [total / count], [(s, size)], [(1.0 / count, -total / count ** 2)])[0]


def mean(t, *, name=None):
    """Mean of all elements: the sum chain, then a ``div`` by the element count. Returns a 0-d Tensor."""
    rec = _tensor("t", t).recorder
    _nonempty("mean", t)
    rec.reserve(t.size + 1, "mean")  # n-1 adds, the count, the div
    with np.errstate(over="ignore", invalid="ignore"):
        _finite("mean", np.cumsum(t.data.ravel()))
    out = _mean(rec, t.nodes.ravel(), t.data.ravel())
    return rec._register(np.array(out, dtype=np.int64), name, "mean")


def mse_loss(pred, target, *, name=None):
    """mean((pred - target)²), as ``torch.nn.functional.mse_loss``: ``sub``, ``pow`` and the mean.

    ``target`` is a Tensor or an array of constants of pred's shape. Returns a 0-d Tensor named ``loss``.
    """
    rec = _tensor("pred", pred).recorder
    _nonempty("mse_loss", pred)
    given = target
    if not isinstance(target, Tensor):
        given = as_array("target", target)
    elif target.recorder is not rec:
        raise ValueError("target belongs to a different recorder than the other operands")
    if given.shape != pred.shape:
        raise ValueError(f"target must have pred's shape {pred.shape}, got {given.shape}")
    n = pred.size
    rec.reserve((0 if isinstance(target, Tensor) else n) + 3 * n + 1, "mse_loss")  # target, sub, pow, sum, count, div
    d = (pred.data - (target.data if isinstance(target, Tensor) else given)).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        _finite("mse_loss", np.cumsum(d * d))
    if not isinstance(target, Tensor):
        target = rec.const(given, name="target")
    d = d.tolist()
    diff = _emit(rec, "sub", d, list(zip(pred.nodes.ravel().tolist(), target.nodes.ravel().tolist())),
                 [(1.0, -1.0)] * len(d))
    squares = [e * e for e in d]
    sq = _emit(rec, "pow", squares, [(n_,) for n_ in diff], [(2.0 * e,) for e in d])
    out = _mean(rec, np.array(sq, dtype=np.int64), np.array(squares))
    return rec._register(np.array(out, dtype=np.int64), name, "loss")
