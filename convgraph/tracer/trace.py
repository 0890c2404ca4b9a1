"""The ``Trace``: a recorded computation, its graph, and node-by-node backprop over it."""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from . import walk as walk_module
from .ops import _conv
from .params import DEFAULT_MAX_NODES, as_array, conv_spec, shape_text, spatial_dims
from .recorder import Recorder, Tensor, Value
from .walk import StepStream, Walk

__all__ = ["Trace", "Gradients", "trace_conv2d", "trace_conv1d", "trace_conv_transpose2d", "trace_op"]


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

    The recording is frozen: the recorder takes no more operations once traced. :meth:`walk` gives
    one backward pass step by step without writing anything; :meth:`backward` and an exhausted
    :meth:`steps` store the gradients on the nodes (``grad``) and the seed in ``dY``. Build one with
    :func:`trace_conv2d` or ``Recorder.trace(output)``.
    """

    def __init__(self, recorder, output):
        if not isinstance(output, (Tensor, Value)) or output.recorder is not recorder:
            raise TypeError(f"output must be a Tensor or Value of this recorder, got {output!r}"
                            + (" from another recorder" if isinstance(output, (Tensor, Value)) else ""))
        if isinstance(output, Value):
            output = recorder._register(np.array(output.node, dtype=np.int64), None, "out")
        self.recorder = recorder
        self.graph = recorder.graph
        self.output = output
        self.tensors = MappingProxyType(dict(recorder.tensors))
        self.convs = tuple(recorder.convs)
        self.dY = None  # the seed of the last complete backward pass
        self._passes = 0  # bumped by every pass; a stale steps() generator notices
        self._size = self._graph_size(recorder.graph)
        self._last_walk = None

    def __repr__(self):
        return (f"<Trace: {self.graph.number_of_nodes():,} nodes, {self.graph.number_of_edges():,} edges, "
                f"output {self.output.name!r} {self.output.shape}>")

    @property
    def conv(self):
        """The :class:`~convgraph.tracer.structure.ConvRecord` of the first traced convolution, or None."""
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

    def name(self, n):
        """What node ``n`` is, as a slide names it: ``x[1,2]`` for a tensor element, ``w[2,2]·x[4,3]``
        for a convolution's multiply, ``y[1,1] after 3 of 9 taps`` for a step of its running sum,
        else :meth:`label` (``relu#42``).

        >>> t = trace_conv2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))
        >>> [t.name(n) for n in sorted(t.graph)[14:17]]
        ['w[0,1]·x[0,1]', 'y[0,0] after 2 of 4 taps', 'w[1,0]·x[1,0]']
        """
        attrs = self.graph.nodes[n]
        if "tensor" not in attrs:
            role = self.conv_role(n)
            if role is not None and attrs["op"] == "mul":
                return f"{self.label(role.w)}·{self.label(role.x)}"
            if role is not None and attrs["op"] == "add":
                return f"{self.label(role.y)} after {role.order} of {role.per_sum} taps"
        return self.label(n)

    def describe(self):
        """The computation in one line, as every caption and title states it:
        ``x 5×5 ⊛ w 3×3 → y 3×3``, options in brackets, ``→ … → loss`` when later stages follow.

        >>> trace_conv2d(np.ones((5, 5)), np.ones((3, 3)), stride=2).describe()
        'x 5×5 ⊛ w 3×3 → y 2×2 (stride 2)'
        """
        rec = self.conv
        if rec is None:
            return f"{self.output.name} ({shape_text(self.output.shape)})"
        head = rec.spec.describe()
        if len(self.convs) > 1 or self.output.name != rec.y.name:
            head += f" → … → {self.output.name}"
        return head

    def element(self, name, index):
        """The node of element ``index`` of tensor ``name``. A short index is enough when the leading
        axes it leaves out have size one (``("w", (1, 1))`` for w of shape (1, 1, 3, 3)).

        Raises
        ------
        TypeError
            If ``name`` is not a str or ``index`` not an int or a tuple of ints.
        ValueError
            Naming the tensor, the index and its shape when there is no such element.

        >>> trace_conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))).element("w", (1, 1))
        20
        """
        if not isinstance(name, str):
            raise TypeError(f"tensor name must be a str, got {name!r}")
        if name not in self.tensors:
            raise ValueError(f"no tensor named {name!r}; this trace has {', '.join(self.tensors)}")
        nodes = self.tensors[name].nodes
        given = (index,) if isinstance(index, (numbers.Integral, np.integer)) else index
        if not isinstance(given, (tuple, list)) or not all(
                isinstance(i, (numbers.Integral, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in given):
            raise TypeError(f"index must be a tuple of ints, like (1, 1), got {index!r}")
        idx = tuple(int(i) for i in given)
        if len(idx) < nodes.ndim and all(d == 1 for d in nodes.shape[:nodes.ndim - len(idx)]):
            idx = (0,) * (nodes.ndim - len(idx)) + idx
        if len(idx) != nodes.ndim or any(not 0 <= i < d for i, d in zip(idx, nodes.shape)):
            raise ValueError(f"{name} has shape {nodes.shape}; there is no {name}[{','.join(map(str, given))}]")
        return int(nodes[idx])

    def conv_of(self, name):
        """The :class:`~convgraph.tracer.structure.ConvRecord` whose x, w, b or y is tensor ``name``, or None."""
        for rec in self.convs:
            if name in (rec.x.name, rec.w.name, rec.y.name) or (rec.b is not None and name == rec.b.name):
                return rec
        return None

    def conv_role(self, node):
        """The :class:`~convgraph.tracer.structure.Role` of a multiply or add of a traced convolution
        (``part of y[i,j]``, which weight and input, which tap), or None."""
        for rec in self.convs:
            role = rec.role(node)
            if role is not None:
                return role
        return None

    def slice_of(self, node):
        """``(tensor name, leading index)`` of the 2-D slice holding tensor element ``node`` (the
        leading index leaves out the last two axes: ``("x", (1,))`` for x[1,2,3] of x (C, H, W); in
        a trace of conv1d, the last axis: a slice is a row), or None for a node of no tensor."""
        attrs = self.graph.nodes[node]
        if "tensor" not in attrs:
            return None
        index = tuple(attrs["index"])
        rec = self.conv_of(attrs["tensor"])
        dims = rec.spec.dims if rec is not None else self.spatial_dims
        return attrs["tensor"], index[:-dims] if len(index) > dims else ()

    @property
    def spatial_dims(self):
        """Axes of a tensor's picture: 1 in a trace whose convolutions are all conv1d (a slice is a
        row), else 2. A convolution's own tensors follow that convolution (``ConvSpec.dims``)."""
        return 1 if self.convs and all(rec.spec.dims == 1 for rec in self.convs) else 2

    def slice_wiring(self):
        """Which tensor slices feed which: a sorted list of ``((source, lead), (result, lead))`` pairs,
        each side as :meth:`slice_of` names it.

        A convolution contributes its real wiring (x channel c to y channel o only where c feeds o,
        w[o, c] to y[o], b to y; see :meth:`ConvRecord.channel_pairs
        <convgraph.tracer.structure.ConvRecord.channel_pairs>`); every other node is followed back
        through intermediate nodes to the slices it comes from.

        >>> t = trace_conv2d(np.ones((2, 4, 4)), np.ones((2, 1, 3, 3)), groups=2)
        >>> [pair for pair in t.slice_wiring() if pair[0][0] == "x"]
        [(('x', (0,)), ('y', (0,))), (('x', (1,)), ('y', (1,)))]
        """
        pairs = set()
        internal = np.zeros(self.graph.number_of_nodes(), dtype=bool)
        for rec in self.convs:
            names = {"x": rec.x.name, "w": rec.w.name, "b": None if rec.b is None else rec.b.name}
            pairs |= {((names[p.source], p.source_lead), (rec.y.name, p.y_lead)) for p in rec.channel_pairs()}
            internal[rec.internal()] = True
            internal[rec.y.nodes.ravel()] = False  # an output element is its tensor's, not the sum's
        origins = {}  # node -> the slices it comes from
        pred = self.graph.pred
        for n in np.flatnonzero(~internal).tolist():
            own = self.slice_of(n)
            srcs = set()
            for p in pred[n]:
                srcs |= origins.get(p, set())
            if own is not None:
                pairs |= {(s, own) for s in srcs if s != own}
                origins[n] = {own}
            else:
                origins[n] = srcs
        return sorted(pairs)

    # ---- backward -----------------------------------------------------------------------------
    @staticmethod
    def _graph_size(graph):
        """(nodes, edges): ``len(graph.edges)`` counts the edges three times faster than
        ``number_of_edges()``, which sums every node's degree (a fitted kernel traces a graph a step)."""
        return graph.number_of_nodes(), len(graph.edges)

    def _check_graph(self):
        """The graph must still be what was traced (a NetworkX graph can be changed by anyone)."""
        size = self._graph_size(self.graph)
        if size != self._size:
            raise ValueError(f"trace.graph was changed after tracing ({size[0]:,} nodes and {size[1]:,} edges, "
                             f"traced with {self._size[0]:,} and {self._size[1]:,}); it is the record of the "
                             f"computation: annotate a copy, trace.graph.copy()")

    def _check_finite(self, grads):
        grads = np.asarray(grads, dtype=float)
        if not np.isfinite(grads).all():
            n = int(np.flatnonzero(~np.isfinite(grads))[0])
            raise ValueError(f"backward produced a non-finite gradient ({grads[n]}) at {self.label(n)}: dY or the "
                             f"values are too large for float64")

    def seed(self, dY=None):
        """``dY`` checked against the output's shape, as a read-only float array; ``None`` gives the
        seed of the last backward pass when there is one, else ones (loss = sum of the output).

        Raises
        ------
        ValueError
            If dY's shape differs from the output's or it holds NaN/inf.
        """
        shape = self.output.shape
        if dY is None:
            dY = self.dY if self.dY is not None else np.ones(shape)
        else:
            dY = as_array("dY", dY)
            if dY.shape != shape:
                raise ValueError(f"dY must have the output's shape {shape}, got {dY.shape}")
        dY = np.array(dY, dtype=float)
        dY.flags.writeable = False
        return dY

    def walk(self, dY=None):
        """One backward pass, step by step, written nowhere: a :class:`~convgraph.tracer.walk.Walk`.

        Step k (1 … N) visits the k-th node in reverse creation order; ``walk.grads_after(k)`` gives
        every gradient after step k. Every view of convgraph asks a walk for what step k means.

        Parameters
        ----------
        dY : array, optional
            Seed shaped like the output. Default: the seed of the last backward pass
            (``trace.dY``), or ones when none has run.

        Raises
        ------
        ValueError
            If dY's shape differs from the output's or it holds NaN/inf.
        """
        dY = self.seed(dY)
        self._check_graph()
        last = self._last_walk
        if last is not None and np.array_equal(last.dY, dY):
            return last
        walk = Walk(self.graph, self.output.nodes, dY)
        self._check_finite(walk.final)
        self._last_walk = walk
        return walk

    def stream(self, dY=None):
        """The steps of :meth:`walk` computed one at a time, only as far as they are asked for (a
        :class:`~convgraph.tracer.walk.StepStream`): the first steps of a huge trace cost only those."""
        dY = self.seed(dY)
        self._check_graph()
        return StepStream(self.graph, self.output.nodes, dY)

    def gradients(self):
        """The gradients now on the graph, by tensor name (leaves and results alike)."""
        grads = {name: t.grad for name, t in self.tensors.items()}
        if self.convs and self.convs[0].b is None and "b" not in grads:
            grads["b"] = None
        return Gradients(grads)

    def grad_array(self):
        """The gradients now on the graph, one per node by id (zeros before any backward), read-only."""
        out = np.fromiter((attrs["grad"] for attrs in self.graph._node.values()), dtype=float,
                          count=self.graph.number_of_nodes())
        out.flags.writeable = False
        return out

    def _store(self, grads, dY):
        for attrs, g in zip(self.graph._node.values(), grads):
            attrs["grad"] = g
        self.dY = dY

    def backward(self, dY=None):
        """Backpropagate ``dY`` (default ones, i.e. loss = sum(output)) through the graph node by node
        and store every node's gradient on it (``grad``).

        Gradients start from zero on every call. Returns :class:`Gradients`, arrays shaped like the
        tensors: ``.x``, ``.w``, ``.b`` for a convolution.

        Raises
        ------
        ValueError
            If dY's shape differs from the output's or it holds NaN/inf.
        """
        dY = self.seed(np.ones(self.output.shape) if dY is None else dY)
        self._check_graph()
        self._passes += 1
        seeds = dict(zip(self.output.nodes.ravel().tolist(), dY.ravel().tolist()))
        grads = walk_module.gradients(self.graph, seeds)
        self._check_finite(grads)
        self._store(grads, dY)
        return self.gradients()

    def steps(self, dY=None):
        """Yield one immutable :class:`~convgraph.tracer.walk.Step` per node, in reverse topological
        order (``walk(dY)``'s steps, dY default ones). Exhausting it stores the same gradients as
        :meth:`backward`. Starting another pass invalidates this one."""
        dY = self.seed(np.ones(self.output.shape) if dY is None else dY)
        self._passes += 1
        return self._steps(self._passes, self.walk(dY))

    def _steps(self, passes, walk):
        for step in walk:
            if self._passes != passes:
                raise RuntimeError("another backward pass started on this trace; restart steps()")
            yield step
        self._store(walk.final.tolist(), walk.dY)

    def step_list(self, dY=None):
        """All steps as a list, storing the gradients as :meth:`backward` does."""
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
    return _trace("conv2d", x, w, b, max_nodes, stride=stride, padding=padding, dilation=dilation, groups=groups)


def trace_conv1d(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1, max_nodes=DEFAULT_MAX_NODES):
    """Trace one 1-D convolution of numpy arrays (``torch.nn.functional.conv1d``) down to one node per
    multiply and add; its tensors stay 1-D (``x[3]``, ``y[o,3]``).

    Parameters
    ----------
    x : array (L,), (C, L) or (N, C, L)
    w : array (K,) or (O, C/groups, K)
    b : array (O,), optional
    stride, dilation : int
    padding : int, "valid" or "same"
    groups : int
    max_nodes : int

    Returns
    -------
    Trace

    >>> t = trace_conv1d([1.0, 2, 3, 4, 5], [1.0, 0, -1])
    >>> t.y.tolist(), t.backward().x.tolist()
    ([-2.0, -2.0, -2.0], [1.0, 1.0, 0.0, -1.0, -1.0])
    """
    return _trace("conv1d", x, w, b, max_nodes, stride=stride, padding=padding, dilation=dilation, groups=groups)


def trace_conv_transpose2d(x, w, b=None, *, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                           max_nodes=DEFAULT_MAX_NODES):
    """Trace one transposed 2-D convolution of numpy arrays (``torch.nn.functional.conv_transpose2d``)
    down to one node per multiply and add.

    Parameters
    ----------
    x : array (H, W), (C, H, W) or (N, C, H, W)
    w : array (KH, KW) or (C, O/groups, KH, KW)
    b : array (O,), optional
    stride, dilation, padding, output_padding : int or (int, int)
    groups : int
    max_nodes : int

    Returns
    -------
    Trace

    >>> t = trace_conv_transpose2d(np.ones((2, 2)), np.ones((3, 3)), stride=2)
    >>> t.y.shape, t.counts()["mul"], t.y[2].tolist()
    ((5, 5), 36, [2.0, 2.0, 4.0, 2.0, 2.0])
    """
    return _trace("conv_transpose2d", x, w, b, max_nodes, stride=stride, padding=padding, dilation=dilation,
                  groups=groups, output_padding=output_padding)


def _trace(op, x, w, b, max_nodes, **options):
    dims = spatial_dims(op)
    x = as_array("x", x, (dims, dims + 1, dims + 2))
    w = as_array("w", w, (dims, dims + 2))
    b = None if b is None else as_array("b", b, (0, 1))
    spec = conv_spec(x.shape, w.shape, None if b is None else b.shape, op=op, **options)
    rec = Recorder(max_nodes=max_nodes)
    rec.reserve(spec.node_estimate(), f"tracing x {x.shape} ⊛{'ᵀ' if spec.transposed else ''} w {w.shape}")
    xt, wt = rec.input(x), rec.weight(w)
    bt = None if b is None else rec.bias(b)
    y = _conv(op, xt, wt, bt, name=None, **options)
    return rec.trace(y)


def trace_op(op, x, w, b=None, **options):
    """Trace convolution ``op`` (``"conv2d"``, ``"conv1d"`` or ``"conv_transpose2d"``) of numpy arrays:
    :func:`trace_conv2d`, :func:`trace_conv1d` or :func:`trace_conv_transpose2d` by name.

    >>> trace_op("conv1d", [1.0, 2, 3], [1.0, -1]).y.tolist()
    [-1.0, -1.0]
    """
    tracers = {"conv2d": trace_conv2d, "conv1d": trace_conv1d, "conv_transpose2d": trace_conv_transpose2d}
    if op not in tracers:
        raise ValueError(f"op must be one of {', '.join(map(repr, tracers))}, got {op!r}")
    return tracers[op](x, w, b, **options)
