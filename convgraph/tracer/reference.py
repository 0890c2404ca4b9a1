"""The vectorised numpy reference: conv2d, conv1d and conv_transpose2d, forward and backward,
independent of the graph (one einsum per kernel tap over whole windows)."""

from __future__ import annotations

import numpy as np

from .params import as_array, conv_spec, spatial_dims

__all__ = ["conv2d_forward", "conv2d_backward", "conv1d_forward", "conv1d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward"]


def _arrays(op, x, w, b, **options):
    """x, w (and b) checked as arrays of ``op``'s shapes, and the op's spec."""
    dims = spatial_dims(op)
    x = as_array("x", x, (dims, dims + 1, dims + 2))
    w = as_array("w", w, (dims, dims + 2))
    if b is not None:
        b = as_array("b", b, (0, 1))
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape, op=op, **options)
    return spec, x, w, b


def _seed(spec, dY):
    dY = as_array("dY", dY)
    if dY.shape != spec.y_shape:
        raise ValueError(f"dY must have the output's shape {spec.y_shape}, got {dY.shape}")
    return dY


def _prepare(x, w, stride, padding, dilation, groups, b=None, op="conv2d"):
    spec, x, w, b = _arrays(op, x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    G, Cg, Og = spec.groups, spec.Cg, spec.O // spec.groups
    pt, pb, pl, pr = spec.padding
    xp = np.pad(x.reshape(spec.N, spec.C, spec.H, spec.W), ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    xp = xp.reshape(spec.N, G, Cg, *xp.shape[2:])  # (N, G, Cg, Hp, Wp)
    wg = w.reshape(G, Og, Cg, spec.KH, spec.KW)  # (G, O/G, Cg, KH, KW)
    return spec, xp, wg, b


def _window(spec, u, v):
    """Slices of the padded input that kernel tap (u, v) multiplies, for every output position."""
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    return (slice(u * dh, u * dh + sh * (spec.OH - 1) + 1, sh),
            slice(v * dw, v * dw + sw * (spec.OW - 1) + 1, sw))


def conv2d_forward(x, w, *, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlate ``x`` with ``w`` as ``torch.nn.functional.conv2d`` does, in numpy.

    Shapes: x (H, W), (C, H, W) or (N, C, H, W); w (KH, KW) or (O, C/groups, KH, KW);
    optional bias b (O,). 2-D in gives 2-D out.

    Returns
    -------
    numpy.ndarray
        y, shaped (OH, OW), (O, OH, OW) or (N, O, OH, OW) to match the inputs.

    >>> conv2d_forward([[1, 2], [3, 4]], [[1, 0], [0, 1]])
    array([[5.]])
    """
    return _conv_forward(x, w, b, stride, padding, dilation, groups, "conv2d")


def _conv_forward(x, w, b, stride, padding, dilation, groups, op):
    spec, xp, wg, b = _prepare(x, w, stride, padding, dilation, groups, b, op)
    y = np.zeros((spec.N, spec.groups, spec.O // spec.groups, spec.OH, spec.OW))  # (N, G, O/G, OH, OW)
    for u in range(spec.KH):
        for v in range(spec.KW):
            rows, cols = _window(spec, u, v)
            # y[n,g,p,i,j] += Σ_c w[g,p,c,u,v] · xp[n,g,c,i·s+u·d,j·s+v·d]
            y += np.einsum("gpc,ngcij->ngpij", wg[..., u, v], xp[..., rows, cols])
    y = y.reshape(spec.N, spec.O, spec.OH, spec.OW)
    if b is not None:
        y += b.reshape(-1)[None, :, None, None]
    return y.reshape(spec.y_shape)


def conv2d_backward(x, w, dY, *, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of ``sum(dY · conv2d(x, w))`` with respect to w and x.

    dW[o,c,u,v] = Σ dY[n,o,i,j] · x[n,c,i·s+u·d,j·s+v·d]; dX scatters dY[n,o,i,j] · w[o,c,:,:]
    back over each patch (for stride 1 and no padding: the full convolution of dY with rot180(w)).

    Returns
    -------
    (dW, dX)
        Shaped like w and x.

    >>> dW, dX = conv2d_backward(np.ones((5, 5)), np.ones((3, 3)), np.ones((3, 3)))
    >>> dW.shape, dX.shape, float(dX[0, 0]), float(dX[2, 2])
    ((3, 3), (5, 5), 1.0, 9.0)
    """
    return _conv_backward(x, w, dY, stride, padding, dilation, groups, "conv2d")


def _conv_backward(x, w, dY, stride, padding, dilation, groups, op):
    spec, xp, wg, _ = _prepare(x, w, stride, padding, dilation, groups, op=op)
    dY = _seed(spec, dY)
    G, Og = spec.groups, spec.O // spec.groups
    dYg = dY.reshape(spec.N, G, Og, spec.OH, spec.OW)  # (N, G, O/G, OH, OW)
    dW = np.zeros_like(wg)  # (G, O/G, Cg, KH, KW)
    dXp = np.zeros_like(xp)  # (N, G, Cg, Hp, Wp)
    for u in range(spec.KH):
        for v in range(spec.KW):
            rows, cols = _window(spec, u, v)
            dW[..., u, v] = np.einsum("ngpij,ngcij->gpc", dYg, xp[..., rows, cols])
            dXp[..., rows, cols] += np.einsum("gpc,ngpij->ngcij", wg[..., u, v], dYg)
    pt, pb, pl, pr = spec.padding
    dX = dXp.reshape(spec.N, spec.C, *dXp.shape[3:])[:, :, pt:pt + spec.H, pl:pl + spec.W]
    return dW.reshape(spec.w_shape), dX.reshape(spec.x_shape)


def conv1d_forward(x, w, *, b=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.nn.functional.conv1d`` in numpy. Shapes: x (L,), (C, L) or (N, C, L); w (K,) or
    (O, C/groups, K); optional bias b (O,). 1-D in gives 1-D out.

    >>> conv1d_forward([1, 2, 3, 4], [1, -1])
    array([-1., -1., -1.])
    """
    return _conv_forward(x, w, b, stride, padding, dilation, groups, "conv1d")


def conv1d_backward(x, w, dY, *, stride=1, padding=0, dilation=1, groups=1):
    """Gradients (dW, dX) of ``sum(dY · conv1d(x, w))``, shaped like w and x.

    >>> dW, dX = conv1d_backward([1, 2, 3, 4], [1, -1], [1, 1, 1])
    >>> dW.tolist(), dX.tolist()
    ([6.0, 9.0], [1.0, 0.0, 0.0, -1.0])
    """
    return _conv_backward(x, w, dY, stride, padding, dilation, groups, "conv1d")


def _transposed(x, w, b, stride, padding, output_padding, dilation, groups):
    """The spec, x as (N, G, Cg, H, W), w as (G, Cg, O/G, KH, KW), b, and the uncropped output's size."""
    spec, x, w, b = _arrays("conv_transpose2d", x, w, b, stride=stride, padding=padding,
                            output_padding=output_padding, dilation=dilation, groups=groups)
    G, Cg, Og = spec.groups, spec.Cg, spec.Og
    xg = x.reshape(spec.N, G, Cg, spec.H, spec.W)
    wg = w.reshape(G, Cg, Og, spec.KH, spec.KW)
    return spec, xg, wg, b, spec.uncropped()


def _landing(spec, u, v):
    """Slices of the uncropped output where kernel tap (u, v) of every input element lands."""
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    return (slice(u * dh, u * dh + sh * (spec.H - 1) + 1, sh),
            slice(v * dw, v * dw + sw * (spec.W - 1) + 1, sw))


def conv_transpose2d_forward(x, w, *, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """``torch.nn.functional.conv_transpose2d`` in numpy: every input element x[c, a, b] stamps
    w[c, o, :, :]·x[c, a, b] onto the output at (a·stride, b·stride) (taps spread by the dilation);
    ``padding`` is cropped off every side and ``output_padding`` adds rows and columns at the bottom
    and right. Shapes: x (H, W), (C, H, W) or (N, C, H, W); w (KH, KW) or (C, O/groups, KH, KW);
    optional bias b (O,).

    >>> conv_transpose2d_forward([[1, 2], [3, 4]], [[1, 1], [1, 1]]).tolist()
    [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]
    """
    spec, xg, wg, b, full = _transposed(x, w, b, stride, padding, output_padding, dilation, groups)
    y = np.zeros((spec.N, spec.groups, spec.Og) + full)  # (N, G, O/G, OH + 2p, OW + 2q)
    for u in range(spec.KH):
        for v in range(spec.KW):
            rows, cols = _landing(spec, u, v)
            y[..., rows, cols] += np.einsum("gcp,ngcij->ngpij", wg[..., u, v], xg)
    pt, _, pl, _ = spec.padding
    y = y.reshape(spec.N, spec.O, *full)[:, :, pt:pt + spec.OH, pl:pl + spec.OW]
    if b is not None:
        y = y + b.reshape(-1)[None, :, None, None]
    return y.reshape(spec.y_shape)


def conv_transpose2d_backward(x, w, dY, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Gradients (dW, dX) of ``sum(dY · conv_transpose2d(x, w))``, shaped like w and x: each input
    element and weight gathers dY from where its stamp landed (dX is the convolution of dY with w).

    >>> dW, dX = conv_transpose2d_backward([[1, 2], [3, 4]], [[1, 1], [1, 1]], np.ones((3, 3)))
    >>> dW.tolist(), dX.tolist()
    ([[10.0, 10.0], [10.0, 10.0]], [[4.0, 4.0], [4.0, 4.0]])
    """
    spec, xg, wg, _, full = _transposed(x, w, None, stride, padding, output_padding, dilation, groups)
    dY = _seed(spec, dY)
    pt, _, pl, _ = spec.padding
    dYf = np.zeros((spec.N, spec.O) + full)
    dYf[:, :, pt:pt + spec.OH, pl:pl + spec.OW] = dY.reshape(spec.N, spec.O, spec.OH, spec.OW)
    dYf = dYf.reshape(spec.N, spec.groups, spec.Og, *full)  # (N, G, O/G, ...)
    dW = np.zeros_like(wg)  # (G, Cg, O/G, KH, KW)
    dX = np.zeros_like(xg)  # (N, G, Cg, H, W)
    for u in range(spec.KH):
        for v in range(spec.KW):
            rows, cols = _landing(spec, u, v)
            part = dYf[..., rows, cols]  # (N, G, O/G, H, W)
            dW[..., u, v] = np.einsum("ngpij,ngcij->gcp", part, xg)
            dX += np.einsum("gcp,ngpij->ngcij", wg[..., u, v], part)
    return dW.reshape(spec.w_shape), dX.reshape(spec.x_shape)
