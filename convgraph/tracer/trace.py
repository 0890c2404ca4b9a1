"""The ``Trace``: a recorded computation, its graph, and node-by-node backprop over it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from . import backprop
from .ops import conv2d
from .params import DEFAULT_MAX_NODES, as_array, conv_spec
from .recorder import Recorder, Tensor, Value

__all__ = ["Trace", "Gradients", "trace_conv2d"]


class Gradients(Mapping):
    """Gradients by tensor name, also as attributes: ``grads.x``, ``grads.w``, ``grads.b``.

    ``grads.b`` is ``None`` for a convolution traced without bias.
    """

    def __init__(self, arrays):
        self._arrays = dict(arrays)

    def __getitem__(self, name):
        return self._arrays[name]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __getattr__(self, name):
        try:
            return self.__dict__["_arrays"][name]
        except KeyError:
            raise AttributeError(f"no gradient named {name!r}; have {list(self._arrays)}") from None

    def __repr__(self):
        return "Gradients(" + ", ".join(f"{k}={'None' if v is None else v.shape}" for k, v in self.items()) + ")"


class Trace:
    """A recorded computation: ``graph`` (one node per scalar), its ``output`` and named ``tensors``.

    ``backward`` and ``steps`` both walk ``graph`` node by node and leave each node's gradient in its
    ``grad`` attribute. Build one with :func:`trace_conv2d` or ``Recorder.trace(output)``.
    """

    def __init__(self, recorder, output):
        if isinstance(output, Value):
            output = recorder._register(np.array(output.node, dtype=np.int64), None, "out")
        if not isinstance(output, Tensor) or output.recorder is not recorder:
            raise TypeError(f"output must be a Tensor or Value of this recorder, got {output!r}")
        self.recorder = recorder
        self.graph = recorder.graph
        self.output = output
        self.tensors = recorder.tensors
        self.convs = recorder.convs
        self.dY = None  # the seed of the last complete backward pass
        self._walk = 0  # bumped by every pass; a stale steps() generator notices

    def __repr__(self):
        return (f"<Trace: {self.graph.number_of_nodes():,} nodes, {self.graph.number_of_edges():,} edges, "
                f"output {self.output.name!r} {self.output.shape}>")

    @property
    def conv(self):
        """The :class:`~convgraph.tracer.ops.ConvRecord` of the first traced convolution, or None."""
        return self.convs[0] if self.convs else None

    @property
    def y(self):
        """The forward output, read off the graph's nodes."""
        node = self.graph.nodes
        return np.array([node[int(n)]["value"] for n in self.output.nodes.flat]).reshape(self.output.shape)

    @property
    def has_grad(self):
        """True once a backward pass (or an exhausted ``steps()``) has filled in the gradients."""
        return self.dY is not None

    def counts(self):
        """Number of nodes per op, e.g. ``{'input': 25, 'weight': 9, 'mul': 81, 'add': 72}``."""
        return dict(Counter(op for _, op in self.graph.nodes(data="op")))

    def label(self, n):
        """A readable name for node ``n``: ``x[1,2]`` for tensor elements, else ``mul#42``."""
        attrs = self.graph.nodes[n]
        if "tensor" in attrs:
            idx = ",".join(str(i) for i in attrs["index"])
            return f"{attrs['tensor']}[{idx}]" if idx else attrs["tensor"]
        return f"{attrs['op']}#{n}"

    def _seeds(self, dY):
        shape = self.output.shape
        if dY is None:
            dY = np.ones(shape)
        else:
            dY = as_array("dY", dY)
            if dY.shape != shape:
                raise ValueError(f"dY must have the output's shape {shape}, got {dY.shape}")
        dY = dY.copy()
        dY.flags.writeable = False
        return dY, dict(zip(self.output.nodes.ravel().tolist(), dY.ravel().tolist()))

    def gradients(self):
        """The gradients now on the graph, by tensor name (leaves and results alike)."""
        grads = {name: t.grad for name, t in self.tensors.items()}
        if self.convs and self.convs[0].b is None and "b" not in grads:
            grads["b"] = None
        return Gradients(grads)

    def backward(self, dY=None):
        """Backpropagate ``dY`` (default ones, i.e. loss = sum(output)) through the graph node by node.

        Gradients start from zero on every call. Returns :class:`Gradients`, arrays shaped like the
        tensors: ``.x``, ``.w``, ``.b`` for a convolution.

        Raises
        ------
        ValueError
            If dY's shape differs from the output's or it holds NaN/inf.
        """
        dY, seeds = self._seeds(dY)
        self._walk += 1
        self.dY = None
        backprop.backward(self.graph, seeds)
        self.dY = dY
        return self.gradients()

    def steps(self, dY=None):
        """Yield one immutable :class:`~convgraph.tracer.backprop.Step` per node, in reverse
        topological order, applying the chain rule as it goes. Exhausting it leaves the same
        gradients as :meth:`backward`. Starting another pass invalidates this one."""
        dY, seeds = self._seeds(dY)
        self._walk += 1
        walk = self._walk
        self.dY = None
        return self._steps(walk, dY, seeds)

    def _steps(self, walk, dY, seeds):
        for step in backprop.steps(self.graph, seeds):
            if self._walk != walk:
                raise RuntimeError("another backward pass started on this trace; restart steps()")
            yield step
        self.dY = dY

    def step_list(self, dY=None):
        """All steps as a list (small graphs: the stepper and animations index into it)."""
        return list(self.steps(dY))


def trace_conv2d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, max_nodes=DEFAULT_MAX_NODES):
    """Trace one convolution of numpy arrays down to one node per multiply and add.

    Parameters
    ----------
    x : array (H, W), (C, H, W) or (N, C, H, W)
    w : array (KH, KW) or (O, C/groups, KH, KW)
    b : array (O,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
    groups : int
    max_nodes : int
        Refuse (``ValueError`` with the count) a trace that would exceed this many nodes.

    Returns
    -------
    Trace
        With tensors ``x``, ``w``, (``b``) and ``y``.

    >>> t = trace_conv2d(np.ones((5, 5)), np.ones((3, 3)))
    >>> t.y.shape, t.counts()["mul"], t.backward().w.shape
    ((3, 3), 81, (3, 3))
    """
    x = as_array("x", x, (2, 3, 4))
    w = as_array("w", w, (2, 4))
    b = None if b is None else as_array("b", b, (0, 1))
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape,
                     stride=stride, padding=padding, dilation=dilation, groups=groups)
    rec = Recorder(max_nodes=max_nodes)
    rec.reserve(spec.node_estimate(), f"tracing x {x.shape} ⊛ w {w.shape}")
    xt, wt = rec.input(x), rec.weight(w)
    bt = None if b is None else rec.bias(b)
    y = conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return rec.trace(y)
