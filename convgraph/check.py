"""Cross-checking a traced convolution's forward value and gradients against numpy and PyTorch."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .tracer import conv2d_backward, conv2d_forward

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

    reference: str  # "numpy" or "torch"
    tensor: str  # "y", "dW", "dX", "db"
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self):
        return self.max_abs_diff <= self.tolerance


@dataclass(frozen=True)
class CheckReport:
    """Every comparison made; ``ok`` when all agree. ``skipped`` names references not run and why."""

    comparisons: tuple
    skipped: tuple = ()

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
            out.append(f"  {c.tensor:<3} vs {c.reference:<6} largest |difference| {c.max_abs_diff:.3g}"
                       f"   {'ok' if c.ok else f'DISAGREES (tolerance {c.tolerance:.3g})'}")
        out += [f"  ({why})" for why in self.skipped]
        big = self.largest
        verdict = "agree" if self.ok else "DISAGREE"
        out.append(f"{verdict}: largest difference {big.max_abs_diff:.3g} ({big.tensor} vs {big.reference})")
        return out


def _nchw(trace):
    conv = trace.conv
    if conv is None:
        raise ValueError("trace holds no convolution to check; use trace_conv2d or conv2d on a Recorder")
    s = conv.spec
    x, w, b = conv.values4("x"), conv.values4("w"), conv.values4("b")  # (N, C, H, W), (O, C/groups, KH, KW), (O,)
    pt, pb, pl, pr = s.padding
    # Padding applied here, so asymmetric ('same' with an even kernel) needs nothing from either reference.
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    return s, xp, w, b


def _crop(s, dXp):
    pt, _, pl, _ = s.padding
    return dXp[:, :, pt:pt + s.H, pl:pl + s.W]


def check_gradients(trace, dY=None, *, use_torch=None, rtol=1e-9):
    """Backpropagate ``dY`` through the trace's graph and compare y, dW, dX (and db) with the numpy
    reference and, when it is installed, PyTorch autograd in float64.

    Only the first convolution of the trace is checked, and only when it is the trace's output.

    Parameters
    ----------
    trace : Trace
        From :func:`convgraph.trace_conv2d`.
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
    s, xp, w, b = _nchw(trace)
    if trace.output is not trace.conv.y:
        raise ValueError("check_gradients compares a single convolution; this trace's output is "
                         f"{trace.output.name!r}, not the convolution's y")
    grads = trace.backward(dY)
    dY4 = np.asarray(trace.dY).reshape(s.N, s.O, s.OH, s.OW)  # (N, O, OH, OW)
    ours = {"y": trace.y.reshape(s.N, s.O, s.OH, s.OW), "dW": grads.w.reshape(w.shape),
            "dX": grads.x.reshape(s.N, s.C, s.H, s.W)}
    if b is not None:
        ours["db"] = grads.b.reshape(s.O)

    kw = dict(stride=s.stride, dilation=s.dilation, groups=s.groups)
    refs = {}
    with np.errstate(all="ignore"):  # the graph refused non-finite values already; no warnings on screen
        y = conv2d_forward(xp, w, b=b, padding=0, **kw)
        dW, dXp = conv2d_backward(xp, w, dY4, padding=0, **kw)
    refs["numpy"] = {"y": y, "dW": dW, "dX": _crop(s, dXp), "db": dY4.sum(axis=(0, 2, 3))}

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
        F = torch.nn.functional
        xt = torch.tensor(xp, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
        yt = F.conv2d(xt, wt, bt, stride=s.stride, padding=0, dilation=s.dilation, groups=s.groups)
        yt.backward(torch.tensor(dY4, dtype=torch.float64))
        refs["torch"] = {"y": yt.detach().numpy(), "dW": wt.grad.numpy(), "dX": _crop(s, xt.grad.numpy())}
        if bt is not None:
            refs["torch"]["db"] = bt.grad.numpy()

    comparisons = []
    for ref_name, ref in refs.items():
        for name, mine in ours.items():
            theirs = np.asarray(ref[name], dtype=float).reshape(mine.shape)
            diff = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
            scale = max(1.0, float(np.max(np.abs(theirs))) if theirs.size else 1.0)
            comparisons.append(Comparison(ref_name, name, diff, rtol * scale))
    report = CheckReport(tuple(comparisons), tuple(skipped))
    if not report.ok:
        log.warning("graph gradients disagree with a reference: %s", report.lines()[-1])
    return report
