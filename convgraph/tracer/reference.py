"""The vectorised numpy reference: conv2d forward and backward, independent of the graph."""

from __future__ import annotations

import numpy as np

from .params import as_array, conv_spec

__all__ = ["conv2d_forward", "conv2d_backward"]


def _prepare(x, w, stride, padding, dilation, groups, b=None):
    x = as_array("x", x, (2, 3, 4))
    w = as_array("w", w, (2, 4))
    if b is not None:
        b = as_array("b", b, (0, 1))
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape,
                     stride=stride, padding=padding, dilation=dilation, groups=groups)
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
    spec, xp, wg, b = _prepare(x, w, stride, padding, dilation, groups, b)
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
    spec, xp, wg, _ = _prepare(x, w, stride, padding, dilation, groups)
    dY = as_array("dY", dY)
    if dY.shape != spec.y_shape:
        raise ValueError(f"dY must have the output's shape {spec.y_shape}, got {dY.shape}")
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
