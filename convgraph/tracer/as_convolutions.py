"""Backward as convolutions: the gradients a traced convolution's walk computes node by node, computed
again as whole convolution calls, the way efficient kernels reuse convolution logic for backward.

For y = conv2d(x, W) with stride s, padding p and dilation d:

- dW is one convolution of x with dY as its kernel: dY dilated by the stride (the kernel's dilation
  is s), stepping by the dilation (its stride is d), over x padded by p; one group per input channel
  and sample, as ``torch.nn.grad.conv2d_weight`` arranges them, then summed over the batch;
- dX is one transposed convolution of dY with W: the full convolution with rot180(W), cropped by the
  padding, ``output_padding`` recovering the rows and columns the stride skipped;
- db is dY summed over the batch and the positions.

A transposed convolution's are the mirror image (its dX is an ordinary convolution of dY with W);
conv1d's are conv2d's on one row. Each call is computed with the numpy references, independent of
the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reference import conv2d_forward, conv_transpose2d_forward
from .trace import Gradients

__all__ = ["ConvCall", "ConvBackward", "backward_as_convolutions"]


@dataclass(frozen=True)
class ConvCall:
    """One call of the backward pass: ``grad`` ("dW", "dX" or "db") is ``op`` ("conv2d",
    "conv_transpose2d", "conv1d", "conv_transpose1d" or "sum") applied with ``options``; ``text`` is
    the call as a lecturer writes it on the board."""

    grad: str
    op: str
    options: dict
    text: str


class ConvBackward(Gradients):
    """Gradients by tensor name, as :meth:`Trace.backward` returns them (``.w``, ``.x``, ``.b``), and
    ``calls``: the :class:`ConvCall` that made each, in the order dW, dX, db."""

    def __init__(self, arrays, calls):
        super().__init__(arrays)
        self.__dict__["calls"] = tuple(calls)

    def describe(self):
        """The calls, one line each."""
        return [call.text for call in self.calls]


def _pairs_text(pair, dims):
    return str(pair[1]) if dims == 1 else (str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})")


def _weight_grad(inp, grad, groups, stride, dilation, kernel):
    """Σ_n grad[n, k] ⊛ inp[n, c] for every (k, c) of the same group, as ONE grouped convolution:
    ``inp`` (N, A, Hp, Wp) padded already, ``grad`` (N, B, GH, GW) used as the kernel, dilated by
    ``stride`` and stepping by ``dilation``; one group per (sample, channel of inp), each with the
    B/groups kernels of that channel's group. Returns (A, B/groups, KH, KW): for each channel of inp,
    its gradient against each kernel channel of its group."""
    N, A, Hp, Wp = inp.shape
    _, B, GH, GW = grad.shape
    Ag, Bg = A // groups, B // groups
    # kernel (n, a, k) = grad[n, group(a)·Bg + k]: every channel of inp meets the kernels of its group
    g_of_a = np.arange(A) // Ag
    kernels = grad[:, (g_of_a[:, None] * Bg + np.arange(Bg)[None, :])]  # (N, A, Bg, GH, GW)
    out = conv2d_forward(inp.reshape(1, N * A, Hp, Wp), kernels.reshape(N * A * Bg, 1, GH, GW),
                         stride=dilation, dilation=stride, groups=N * A)  # (1, N·A·Bg, ., .)
    out = out.reshape(N, A, Bg, out.shape[-2], out.shape[-1])[..., :kernel[0], :kernel[1]]
    return out.sum(axis=0)  # (A, Bg, KH, KW)


def _calls_conv(spec, x, w, dY):
    """dW and dX of conv2d (and conv1d, held as one row) as calls, with their texts."""
    s, d, (pt, pb, pl, pr), G = spec.stride, spec.dilation, spec.padding, spec.groups
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    per_c = _weight_grad(xp, dY, G, s, d, (spec.KH, spec.KW))  # (C, Og, KH, KW): [c_global, o within group]
    dW = per_c.reshape(G, spec.Cg, spec.Og, spec.KH, spec.KW).transpose(0, 2, 1, 3, 4).reshape(w.shape)
    Hp, Wp = spec.H + pt + pb, spec.W + pl + pr
    extra = (Hp - ((spec.OH - 1) * s[0] + d[0] * (spec.KH - 1) + 1),
             Wp - ((spec.OW - 1) * s[1] + d[1] * (spec.KW - 1) + 1))
    dXp = conv_transpose2d_forward(dY, w.reshape(spec.O, spec.Cg, spec.KH, spec.KW), stride=s, dilation=d,
                                   groups=G, output_padding=extra)  # (N, C, Hp, Wp): rot180(W) over dY
    dX = dXp[:, :, pt:pt + spec.H, pl:pl + spec.W]
    one = spec.dims == 1
    p_text = _pairs_text((pt, pl), spec.dims) if (pt, pl) == (pb, pr) else f"{spec.padding} (top, bottom, left, right)"
    name = "conv1d" if one else "conv2d"
    batch = ", summed over the batch" if spec.N > 1 else ""
    groups = f", one group per input channel{' and sample' if spec.N > 1 else ''}"
    w_call = ConvCall("dW", name, dict(stride=d, dilation=s, padding=(pt, pb, pl, pr), groups=G),
                      f"dW = {name}(x, dY as the kernel, stride={_pairs_text(d, spec.dims)} (the dilation), "
                      f"dilation={_pairs_text(s, spec.dims)} (the stride: dY dilated by it), padding={p_text}"
                      f"{groups}){batch}")
    t_name = "conv_transpose1d" if one else "conv_transpose2d"
    x_call = ConvCall("dX", t_name, dict(stride=s, dilation=d, padding=(pt, pb, pl, pr), output_padding=extra,
                                         groups=G),
                      f"dX = {t_name}(dY, W, stride={_pairs_text(s, spec.dims)}, padding={p_text}, "
                      f"output_padding={_pairs_text(extra, spec.dims)}, dilation={_pairs_text(d, spec.dims)}"
                      f"{f', groups={G}' if G > 1 else ''}): the full convolution of dY with rot180(W)"
                      f"{', cropped by the padding' if any(spec.padding) else ''}")
    return dW, dX, [w_call, x_call]


def _calls_transposed(spec, x, w, dY):
    """dW and dX of conv_transpose2d as calls: dX is a convolution of dY with W, dW a convolution of
    dY (padded back to the uncropped output) with x as the kernel."""
    s, d, G = spec.stride, spec.dilation, spec.groups
    pt, pl = spec.padding[0], spec.padding[2]
    dX = conv2d_forward(dY, w, stride=s, padding=(pt, pl), dilation=d, groups=G)[..., :spec.H, :spec.W]
    dYf = np.zeros((spec.N, spec.O) + spec.uncropped())  # where the stamps land, before the crop
    dYf[:, :, pt:pt + spec.OH, pl:pl + spec.OW] = dY
    dW = _weight_grad(dYf, x, G, s, d, (spec.KH, spec.KW))  # (O, Cg, KH, KW): [o_global, c within group]
    dW = dW.reshape(G, spec.Og, spec.Cg, spec.KH, spec.KW).transpose(0, 2, 1, 3, 4).reshape(w.shape)
    p = _pairs_text((pt, pl), 2)
    calls = [ConvCall("dW", "conv2d", dict(stride=d, dilation=s, padding=(pt, pt, pl, pl), groups=G),
                      f"dW = conv2d(dY uncropped (its border zero), x as the kernel, stride={_pairs_text(d, 2)} "
                      f"(the dilation), dilation={_pairs_text(s, 2)} (the stride: x dilated by it), one group per "
                      f"output channel{' and sample, summed over the batch' if spec.N > 1 else ''})"),
             ConvCall("dX", "conv2d", dict(stride=s, padding=(pt, pt, pl, pl), dilation=d, groups=G),
                      f"dX = conv2d(dY, W, stride={_pairs_text(s, 2)}, padding={p}, dilation={_pairs_text(d, 2)}"
                      f"{f', groups={G}' if G > 1 else ''}): an ordinary convolution")]
    return dW, dX, calls


def backward_as_convolutions(trace, dY=None):
    """The gradients of ``trace``'s convolution computed as convolution calls instead of node by node:
    dW by one convolution of x with dY, dX by one transposed convolution of dY with W (for a
    transposed convolution, an ordinary one), db by a sum (see the module docstring).

    Parameters
    ----------
    trace : Trace
        A traced conv2d, conv1d or conv_transpose2d (``trace.conv``) whose output is the trace's.
    dY : array, optional
        Seed shaped like y (default: the trace's last seed, or ones).

    Returns
    -------
    ConvBackward
        ``.w``, ``.x`` (and ``.b``) shaped like the tensors, equal to ``trace.backward(dY)``'s, and
        ``.calls``, each :class:`ConvCall` with its arguments and its text.

    Raises
    ------
    TypeError, ValueError
        For a trace without a convolution, a convolution that is not the trace's output, or a bad dY.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
    >>> g = backward_as_convolutions(t)
    >>> g.w.tolist()[1], g.calls[1].text.split(":")[0]
    ([99.0, 108.0, 117.0], 'dX = conv_transpose2d(dY, W, stride=1, padding=0, output_padding=0, dilation=1)')
    """
    from .trace import Trace

    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a convgraph Trace, got {type(trace).__name__}")
    rec = trace.conv
    if rec is None:
        raise ValueError("backward_as_convolutions needs a traced convolution; this trace has none")
    if trace.output is not rec.y:
        raise ValueError(f"backward_as_convolutions takes a single convolution; this trace's output is "
                         f"{trace.output.name!r}, not the convolution's y")
    spec = rec.spec
    dY4 = trace.seed(dY).reshape(spec.N, spec.O, spec.OH, spec.OW)
    x, w = rec.values4("x"), rec.values4("w")
    dW, dX, calls = (_calls_transposed if spec.transposed else _calls_conv)(spec, x, w, dY4)
    arrays = {rec.w.name: dW.reshape(rec.w.shape), rec.x.name: dX.reshape(rec.x.shape)}
    if rec.b is not None:
        arrays[rec.b.name] = dY4.sum(axis=(0, 2, 3)).reshape(rec.b.shape)
        calls.append(ConvCall("db", "sum", {}, "db = dY summed over the batch and every position"))
    else:
        arrays["b"] = None
    return ConvBackward(arrays, calls)
