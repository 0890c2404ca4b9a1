"""The stamp learning: plain gradient descent on a convolution's kernel, every step's gradient from a
traced graph walked node by node.

``fit_kernel(x, target, w0, lr=…, steps=…)`` traces loss = mse(conv2d(x, W), target) at each step,
walks it backward, and moves W (and the bias, when one is given) against its gradient. The history
holds each step's kernel, gradient and loss, for the ``"train"`` picture of each location reshaping
the shared kernel.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .ops import conv2d, mse_loss
from .params import DEFAULT_MAX_NODES, as_array, conv_spec
from .recorder import Recorder

__all__ = ["FitHistory", "fit_kernel"]


@dataclass(frozen=True)
class FitHistory:
    """What gradient descent did, step by step (k = 0 … steps).

    Attributes
    ----------
    weights : tuple of numpy.ndarray
        ``weights[k]`` is the kernel after k steps; ``weights[0]`` is w0.
    grads : tuple of numpy.ndarray
        ``grads[k]`` is dW at ``weights[k]``, from the graph's walk.
    losses : tuple of float
        ``losses[k]`` is the loss at ``weights[k]``.
    biases, bias_grads : tuple of numpy.ndarray, or None
        The same for the bias, when one was given.
    outputs : tuple of numpy.ndarray
        The convolution's output at ``weights[k]``.
    x, target : numpy.ndarray
    lr : float
    options : dict
        stride, padding, dilation and groups, as given.
    """

    weights: tuple
    grads: tuple
    losses: tuple
    biases: tuple | None
    bias_grads: tuple | None
    outputs: tuple
    x: np.ndarray
    target: np.ndarray
    lr: float
    options: dict

    @property
    def steps(self):
        return len(self.weights) - 1

    def describe(self):
        """One line: the problem and how far the loss came down."""
        spec = conv_spec(self.x.shape, self.weights[0].shape, None if self.biases is None else self.biases[0].shape,
                         **self.options)
        return (f"{spec.describe()}: {self.steps} steps of gradient descent, lr {self.lr:g}, mse loss "
                f"{self.losses[0]:.4g} → {self.losses[-1]:.4g}")


def _check(lr, steps, loss, max_nodes):
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}: {steps!r}")
    if not 1 <= steps <= 10_000:
        raise ValueError(f"steps must be from 1 to 10,000, got {steps}")
    if loss != "mse":
        raise ValueError(f"loss must be 'mse' (the mean squared error), got {loss!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")


def _step(x, w, b, target, options, max_nodes):
    """One traced forward and node-by-node backward: (loss, y, dW, db)."""
    rec = Recorder(max_nodes=max_nodes)
    xs, ws = rec.input(x), rec.weight(w)
    bs = None if b is None else rec.bias(b)
    y = conv2d(xs, ws, bs, **options)
    loss = mse_loss(y, target)
    trace = rec.trace(loss)
    grads = trace.backward()
    return float(trace.y), y.data.copy(), grads.w, None if b is None else grads.b


def fit_kernel(x, target, w0, *, b0=None, lr=0.1, steps=20, stride=1, padding=0, dilation=1, groups=1,
               loss="mse", max_nodes=DEFAULT_MAX_NODES):
    """Gradient descent on a convolution's kernel: at each step trace loss = mse(conv2d(x, W, b),
    target), walk it backward node by node, and move W ← W − lr·dW (and b ← b − lr·db).

    Parameters
    ----------
    x : array
        The input, in any shape conv2d takes: (H, W), (C, H, W) or (N, C, H, W) (a few images).
    target : array
        The output W should learn to make, shaped like conv2d(x, w0).
    w0 : array
        The starting kernel, (KH, KW) or (O, C/groups, KH, KW).
    b0 : array, optional
        A starting bias (O,): learned too.
    lr : float
        Learning rate.
    steps : int
        Steps of gradient descent (1 to 10,000).
    stride, padding, dilation, groups
        As for :func:`~convgraph.tracer.trace.trace_conv2d`.
    loss : str
        ``"mse"``, the mean squared error (``torch.nn.functional.mse_loss``).
    max_nodes : int
        Refuse, before any work, a run whose trace would pass this many nodes.

    Returns
    -------
    FitHistory

    Raises
    ------
    TypeError, ValueError
        Naming the argument: shapes that do not fit, a target not shaped like the output, a
        non-positive lr, steps out of range, another loss, a trace past ``max_nodes``.

    >>> import numpy as np
    >>> h = fit_kernel(np.arange(16.0).reshape(4, 4) / 16, np.ones((2, 2)), np.zeros((3, 3)), lr=0.1, steps=3)
    >>> len(h.weights), [round(v, 3) for v in h.losses]
    (4, [1.0, 0.287, 0.109, 0.064])
    """
    _check(lr, steps, loss, max_nodes)
    x = as_array("x", x, (2, 3, 4))
    w = as_array("w0", w0, (2, 4))
    b = None if b0 is None else as_array("b0", b0, (0, 1))
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape, **options)
    target = as_array("target", target)
    if target.shape != spec.y_shape:
        raise ValueError(f"target must have the output's shape {spec.y_shape}, got {target.shape}")
    size = int(np.prod(spec.y_shape))
    nodes = spec.node_estimate() + 4 * size + 2  # the convolution, then the loss: target, sub, pow, sum, mean
    if nodes > max_nodes:
        raise ValueError(f"each step's trace would hold {nodes:,} nodes, more than max_nodes={max_nodes:,}: "
                         f"fit a smaller input or kernel (the stamp learning is a lecture-sized picture)")
    weights, grads, losses, outputs = [w.copy()], [], [], []
    biases, bias_grads = ([b.copy()], []) if b is not None else (None, None)
    for k in range(steps + 1):
        value, y, dW, db = _step(x, weights[k], None if b is None else biases[k], target, options, max_nodes)
        losses.append(value)
        outputs.append(y)
        grads.append(dW)
        if b is not None:
            bias_grads.append(db)
        if k < steps:
            weights.append(weights[k] - lr * dW)
            if b is not None:
                biases.append(biases[k] - lr * db)
    for arr in weights + grads + outputs + (biases or []) + (bias_grads or []) + [x, target]:
        arr.flags.writeable = False
    return FitHistory(tuple(weights), tuple(grads), tuple(losses), None if b is None else tuple(biases),
                      None if b is None else tuple(bias_grads), tuple(outputs), x, target, float(lr), options)
