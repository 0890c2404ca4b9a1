"""Cross-checking a traced convolution's forward value and gradients against numpy and PyTorch: conv2d,
conv1d and conv_transpose2d, each against its own reference and its own PyTorch function."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import tracer as _tracer

__all__ = ["Comparison", "CheckReport", "check_gradients", "TORCH_VERSION", "TORCH_HINT"]

#: The PyTorch release the tests check against (its CPU build).
TORCH_VERSION = "2.13.0"
#: How to install it, as every message that needs PyTorch says it.
TORCH_HINT = (f"make torch (in the project), or pip install torch=={TORCH_VERSION} "
              f"--index-url https://download.pytorch.org/whl/cpu (the CPU build, not PyPI's CUDA one)")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    """One tensor of the trace against one reference: the largest absolute difference and the
    tolerance it had to meet."""

    reference: str  # "numpy", "conv calls" (backward as convolutions) or "torch"
    tensor: str  # "y", "dW", "dX", "db"
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self):
        return self.max_abs_diff <= self.tolerance


@dataclass(frozen=True)
class CheckReport:
    """Every comparison made; ``ok`` when all agree. ``skipped`` names references not run and why;
    ``calls`` the convolution calls the "conv calls" reference made, in words."""

    comparisons: tuple
    skipped: tuple = ()
    calls: tuple = ()

    @property
    def ok(self):
        return all(c.ok for c in self.comparisons)

    @property
    def largest(self):
        """The comparison with the largest difference."""
        return max(self.comparisons, key=lambda c: c.max_abs_diff)

    def lines(self):
        """A readable table: one line per comparison, then the verdict."""
        out = []
        for c in self.comparisons:
            out.append(f"  {c.tensor:<3} vs {c.reference:<10} largest |difference| {c.max_abs_diff:.3g}"
                       f"   {'ok' if c.ok else f'DISAGREES (tolerance {c.tolerance:.3g})'}")
        out += [f"  ({why})" for why in self.skipped]
        big = self.largest
        verdict = "agree" if self.ok else "DISAGREE"
        out.append(f"{verdict}: largest difference {big.max_abs_diff:.3g} ({big.tensor} vs {big.reference})")
        return out


def _inputs(trace):
    """The spec and x, w, b in PyTorch's batched shapes; x padded here (and the references told
    padding 0) for conv2d and conv1d, so asymmetric 'same' padding needs nothing from either."""
    conv = trace.conv
    if conv is None:
        raise ValueError("trace holds no convolution to check; use trace_conv2d or conv2d on a Recorder")
    s = conv.spec
    x, w, b = conv.values4("x"), conv.values4("w"), conv.values4("b")
    if s.transposed:
        return s, x, w, b
    pt, pb, pl, pr = s.padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    if s.dims == 1:
        return s, xp[:, :, 0, :], w[:, :, 0, :], b
    return s, xp, w, b


def _options(s):
    """The options of the reference call: one number per axis for conv1d, the padding applied already
    except for a transposed convolution."""
    if s.dims == 1:
        return dict(stride=s.stride[1], dilation=s.dilation[1], groups=s.groups, padding=0)
    if s.transposed:
        return dict(stride=s.stride, dilation=s.dilation, groups=s.groups, padding=(s.padding[0], s.padding[2]),
                    output_padding=s.output_padding)
    return dict(stride=s.stride, dilation=s.dilation, groups=s.groups, padding=0)


def _crop(s, dXp):
    """dX without the padding x was given here (a transposed convolution's dX is x's shape already)."""
    if s.transposed:
        return dXp
    pt, _, pl, _ = s.padding
    return dXp[..., pt:pt + s.H, pl:pl + s.W] if s.dims == 2 else dXp[..., pl:pl + s.W]


def _numpy_refs(s, x, w, b, dY):
    forward = getattr(_tracer, f"{s.op}_forward")
    backward = getattr(_tracer, f"{s.op}_backward")
    with np.errstate(all="ignore"):  # the graph refused non-finite values already; no warnings on screen
        y = forward(x, w, b=b, **_options(s))
        dW, dXp = backward(x, w, dY, **_options(s))
    return {"y": y, "dW": dW, "dX": _crop(s, dXp), "db": dY.sum(axis=tuple(k for k in range(dY.ndim) if k != 1))}


def _torch_refs(torch, s, x, w, b, dY):
    call = getattr(torch.nn.functional, s.op)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    yt = call(xt, wt, bt, **_options(s))
    yt.backward(torch.tensor(dY, dtype=torch.float64))
    refs = {"y": yt.detach().numpy(), "dW": wt.grad.numpy(), "dX": _crop(s, xt.grad.numpy())}
    if bt is not None:
        refs["db"] = bt.grad.numpy()
    return refs


def check_gradients(trace, dY=None, *, use_torch=None, rtol=1e-9):
    """Backpropagate ``dY`` through the trace's graph and compare y, dW, dX (and db) with the numpy
    reference, with the same gradients computed as convolution calls
    (:func:`~convgraph.tracer.as_convolutions.backward_as_convolutions`: dW a convolution of x with
    dY, dX a transposed convolution of dY with W) and, when it is installed, PyTorch autograd in
    float64.

    Only the first convolution of the trace is checked, and only when it is the trace's output.

    Parameters
    ----------
    trace : Trace
        From :func:`convgraph.trace_conv2d`, :func:`~convgraph.trace_conv1d` or
        :func:`~convgraph.trace_conv_transpose2d`.
    dY : array, optional
        Seed gradient shaped like y (default ones).
    use_torch : bool or None
        True: require PyTorch (``ImportError`` with an install hint if missing); False: skip it;
        None (default): use it when installed.
    rtol : float
        Allowed difference relative to the largest magnitude of the reference tensor (at least 1).

    Returns
    -------
    CheckReport

    Raises
    ------
    ValueError
        If the trace has no convolution or its output is not the convolution's y, or dY is malformed.
    ImportError
        With ``use_torch=True`` and PyTorch missing.

    >>> import convgraph as cg
    >>> check_gradients(cg.trace_conv2d(np.ones((4, 4)), np.ones((2, 2))), use_torch=False).ok
    True
    """
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not 0 <= rtol < float("inf"):
        raise ValueError(f"rtol must be a finite number at least 0, got {rtol!r}")
    s, x, w, b = _inputs(trace)
    if trace.output is not trace.conv.y:
        raise ValueError("check_gradients compares a single convolution; this trace's output is "
                         f"{trace.output.name!r}, not the convolution's y")
    grads = trace.backward(dY)
    y_shape = (s.N, s.O, s.OW) if s.dims == 1 else (s.N, s.O, s.OH, s.OW)
    dY_b = np.asarray(trace.dY).reshape(y_shape)  # batched, as PyTorch takes it
    ours = {"y": trace.y.reshape(y_shape), "dW": grads.w.reshape(w.shape),
            "dX": grads.x.reshape(s.N, s.C, *((s.W,) if s.dims == 1 else (s.H, s.W)))}
    if b is not None:
        ours["db"] = grads.b.reshape(s.O)
    refs = {"numpy": _numpy_refs(s, x, w, b, dY_b)}
    calls = _tracer.backward_as_convolutions(trace, trace.dY)  # the same gradients as whole convolution calls
    refs["conv calls"] = {"dW": calls[trace.conv.w.name], "dX": calls[trace.conv.x.name]}
    if b is not None:
        refs["conv calls"]["db"] = calls[trace.conv.b.name]

    skipped = []
    torch = None
    if use_torch is not False:
        try:
            import torch
        except ImportError as e:
            if use_torch:
                raise ImportError(f"checking against PyTorch needs it installed: {TORCH_HINT}") from e
            skipped.append(f"PyTorch not installed: {TORCH_HINT}")
    if torch is not None:
        refs["torch"] = _torch_refs(torch, s, x, w, b, dY_b)

    comparisons = []
    for ref_name, ref in refs.items():
        for name, mine in ours.items():
            if name not in ref:  # the conv calls compute gradients only
                continue
            theirs = np.asarray(ref[name], dtype=float).reshape(mine.shape)
            diff = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
            scale = max(1.0, float(np.max(np.abs(theirs))) if theirs.size else 1.0)
            comparisons.append(Comparison(ref_name, name, diff, rtol * scale))
    report = CheckReport(tuple(comparisons), tuple(skipped), tuple(calls.describe()))
    if not report.ok:
        log.warning("graph gradients disagree with a reference: %s", report.lines()[-1])
    return report
