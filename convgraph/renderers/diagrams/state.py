"""The gradients one diagram shows, as the tracer states them: none (before backward), the ones on
the graph (after backward), or the walk's state after step k."""

from __future__ import annotations

import numpy as np

__all__ = ["GradState"]


class GradState:
    """What a picture of ``trace`` shows of backprop.

    Parameters
    ----------
    trace : Trace
    step : int or None
        None: the gradients now on the graph (``trace.backward()``'s), or none before backward.
        k (0 … N): the state after step k of ``trace.walk(dY)``.
    dY : array, optional
        The seed of the walk; given without a step, the picture shows that walk's final gradients.
        Default: the trace's last seed, else ones.
    """

    def __init__(self, trace, step=None, dY=None):
        self.step = step
        self.walk = None
        self.current = None
        if step is not None or dY is not None:
            self.walk = trace.walk(dY)
            self.grads = self.walk.grads_after(step) if step is not None else self.walk.final
            self.final = self.walk.final
            self.dY = self.walk.dY
            self.current = self.walk.node(step) if step else None
        elif trace.has_grad:
            self.grads = self.final = trace.grad_array()
            self.dY = trace.dY
        else:
            self.grads = self.final = self.dY = None
        self.has = self.grads is not None

    def __call__(self, n):
        """The gradient node ``n`` holds in this picture (partial, in a step view, until it is visited)."""
        return float(self.grads[n])

    def final_grad(self, n):
        return float(self.final[n])

    def visited(self, n):
        """In a step view: whether the walk has visited ``n`` yet."""
        return self.step is not None and self.walk.visited(n, self.step)

    def waiting(self, n):
        """In a step view: ``n`` is not visited yet (drawn dashed)."""
        return self.step is not None and not self.walk.visited(n, self.step)

    def visited_mask(self):
        """In a step view, which nodes the walk has visited (boolean array by node id); else None."""
        if self.step is None:
            return None
        ids = np.arange(len(self.walk))
        return ids >= len(self.walk) - self.step

    def flow(self, u, v, local):
        """The gradient sent back along edge u → v: grad(v) · local, once v has been visited."""
        if self.step is not None and not self.walk.visited(v, self.step):
            return 0.0
        return float(self.final[v]) * local

    def seed_text(self, trace):
        """``∂loss/∂y = ones`` (or ``= 1`` for a scalar output, ``given`` otherwise)."""
        name = trace.output.name
        if np.all(np.asarray(self.dY) == 1):
            return f"∂loss/∂{name} = ones" if np.ndim(self.dY) else f"∂loss/∂{name} = 1"
        return f"∂loss/∂{name} given"
