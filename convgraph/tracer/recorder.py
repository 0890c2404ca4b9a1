"""Recording scalar arithmetic as a NetworkX graph: one node per scalar, edges carry local derivatives.

A :class:`Recorder` owns one ``networkx.DiGraph``. Every traced scalar is a node whose id is its
creation number (0, 1, 2, ...), so creation order is a topological order and output is
deterministic. Node attributes: ``op``, ``value``, ``grad`` and, for elements of named tensors,
``tensor`` and ``index``. Edges run operand → result and carry ``local``, the derivative of the
result with respect to that operand.

Edge attribute dicts are read-only and shared between edges with the same local derivative (every
edge out of ``x[2,3]`` into a multiply carries the same ``w`` value): that sharing, and filling the
graph's adjacency dicts directly, is what keeps a traced convolution within micrograd's time and
memory. Copy the graph (``graph.copy()``) to annotate edges.
"""

from __future__ import annotations

import gc
import itertools
import math
import numbers
from contextlib import contextmanager

import networkx as nx
import numpy as np

from .params import DEFAULT_MAX_NODES, as_array

__all__ = ["Recorder", "Value", "Tensor", "EdgeData"]


class EdgeData(dict):
    """Read-only edge attributes (``{"local": d}``), shared between edges with the same derivative."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("convgraph edge data is read-only and shared between edges; "
                        "annotate a copy instead: graph.copy()")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _read_only

    def copy(self):
        return dict(self)

    def __deepcopy__(self, memo):
        return dict(self)

    def __reduce__(self):
        return (dict, (dict(self),))


ONE = EdgeData(local=1.0)
ZERO = EdgeData(local=0.0)


def _edge(local):
    if local == 1.0:
        return ONE
    if local == 0.0:
        return ZERO
    return EdgeData(local=local)


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: its passes cost more than building a large graph."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_number(v):
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


class Recorder:
    """Records traced scalars and tensors into one ``networkx.DiGraph``.

    Parameters
    ----------
    max_nodes : int
        Refuse, before building anything, an operation that would take the graph past this many
        nodes (default 2,000,000: about 2 GB).

    >>> rec = Recorder()
    >>> a, b = rec.value(2.0), rec.value(3.0)
    >>> c = a * b + a
    >>> c.data, rec.graph.nodes[c.node]["op"]
    (8.0, 'add')
    """

    def __init__(self, *, max_nodes=DEFAULT_MAX_NODES):
        if not isinstance(max_nodes, numbers.Integral) or isinstance(max_nodes, bool):
            raise TypeError(f"max_nodes must be an int, got {max_nodes!r}")
        if max_nodes < 1:
            raise ValueError(f"max_nodes must be at least 1, got {max_nodes!r}")
        self.graph = nx.DiGraph()
        self.max_nodes = int(max_nodes)
        self.tensors = {}  # name -> Tensor, in creation order
        self.convs = []  # ConvRecord per conv2d call, in order
        self.traced = None  # the Trace that froze the recording (see trace())
        # The dicts behind graph.nodes, graph.succ and graph.pred, filled directly (see module doc).
        self._node = self.graph._node
        self._succ = self.graph._adj
        self._pred = self.graph._pred

    def __len__(self):
        return len(self._node)

    def __repr__(self):
        return f"<Recorder: {len(self)} nodes, tensors {list(self.tensors)}>"

    # ---- capacity -------------------------------------------------------------------------
    def _check_open(self, what):
        if self.traced is not None:
            raise RuntimeError(f"cannot record {what}: this recorder was frozen by trace(), so its trace stays "
                               f"what was traced; start a new Recorder to record another computation")

    def reserve(self, count, what="this operation"):
        """Raise ``ValueError`` if adding ``count`` nodes would pass ``max_nodes``, and
        ``RuntimeError`` once the recording is frozen by :meth:`trace`."""
        self._check_open(what)
        total = len(self) + int(count)
        if total > self.max_nodes:
            raise ValueError(
                f"{what} would make the graph {total:,} scalar nodes, over max_nodes={self.max_nodes:,}; "
                f"trace a smaller case or raise max_nodes"
            )

    def _changed(self):
        self.graph.__networkx_cache__.clear()

    # ---- node primitives ------------------------------------------------------------------
    def _add(self, op, value, operands=(), locals_=()):
        """Add one node computed from ``operands`` (node ids) with the given local derivatives."""
        nid = len(self._node)
        self._node[nid] = {"op": op, "value": value, "grad": 0.0}
        preds = {}
        for p, d in zip(operands, locals_):
            preds[p] = preds.get(p, 0.0) + d  # a*a: one edge carrying 2a
        preds = {p: _edge(d) for p, d in preds.items()}
        self._pred[nid] = preds
        self._succ[nid] = {}
        for p, e in preds.items():
            self._succ[p][nid] = e
        return nid

    def _name(self, name, default):
        if name is None:
            name, k = default, 2
            while name in self.tensors:
                name, k = f"{default}{k}", k + 1
            return name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        if name in self.tensors:
            raise ValueError(f"a tensor named {name!r} already exists in this recorder")
        return name

    def _register(self, nodes, name, default):
        """Label the nodes of a result tensor with ``tensor`` and ``index`` and return the Tensor."""
        self._check_open(f"naming tensor {name or default!r}")
        name = self._name(name, default)
        node = self._node
        ids = nodes.ravel().tolist()
        for index, nid in zip(itertools.product(*map(range, nodes.shape)), ids):
            attrs = node[nid]
            if "tensor" not in attrs:  # a node that already belongs to a tensor keeps its first name
                attrs["tensor"] = name
                attrs["index"] = index
        values = np.array([node[n]["value"] for n in ids], dtype=np.float64).reshape(nodes.shape)
        t = Tensor(self, name, nodes, values)
        self.tensors[name] = t
        self._changed()
        return t

    # ---- leaves ---------------------------------------------------------------------------
    def tensor(self, array, name, *, op="input"):
        """A tensor of leaf nodes holding ``array``'s values, with ``op`` ``"input"``,
        ``"weight"``, ``"bias"`` or ``"const"``."""
        if op not in ("input", "weight", "bias", "const"):
            raise ValueError(f"op must be 'input', 'weight', 'bias' or 'const', got {op!r}")
        label = name if isinstance(name, str) else "array"
        arr = as_array(label, array)
        name = self._name(name, "const" if op == "const" else label)
        self.reserve(arr.size, f"tensor {name!r}")
        start = len(self._node)
        node, succ, pred = self._node, self._succ, self._pred
        with _no_gc():
            indices = itertools.product(*map(range, arr.shape))
            for nid, index, v in zip(range(start, start + arr.size), indices, arr.ravel().tolist()):
                node[nid] = {"op": op, "value": v, "grad": 0.0, "tensor": name, "index": index}
                succ[nid] = {}
                pred[nid] = {}
        nodes = np.arange(start, start + arr.size, dtype=np.int64).reshape(arr.shape)
        t = Tensor(self, name, nodes, arr)
        self.tensors[name] = t
        self._changed()
        return t

    def input(self, array, name="x"):
        """Input tensor (``op="input"``), named ``x`` by default."""
        return self.tensor(array, name, op="input")

    def weight(self, array, name="w"):
        """Weight tensor (``op="weight"``), named ``w`` by default."""
        return self.tensor(array, name, op="weight")

    def bias(self, array, name="b"):
        """Bias tensor (``op="bias"``), named ``b`` by default."""
        return self.tensor(array, name, op="bias")

    def const(self, array, name=None):
        """A tensor of constants (``op="const"``): targets and the like, which get no gradient use."""
        return self.tensor(array, name, op="const")

    def value(self, data, *, op="input"):
        """One scalar leaf (``op`` ``"input"`` by default; ``"const"`` for literals)."""
        if not _is_number(data):
            raise TypeError(f"data must be a real number, got {data!r}")
        try:
            value = float(data)
        except OverflowError:
            shown = repr(data) if len(repr(data)) < 30 else repr(data)[:12] + "…"
            raise ValueError(f"data must be finite, got {shown} (too large for a float)") from None
        if not math.isfinite(value):
            raise ValueError(f"data must be finite, got {data!r}")
        self.reserve(1, "a value")
        return Value(self, self._add(op, value), value)

    def trace(self, output):
        """Freeze the recording into a :class:`~convgraph.tracer.trace.Trace` whose output is ``output``
        (a Tensor or a Value).

        After this the recorder takes no more operations (each raises ``RuntimeError``), so the
        trace's graph stays exactly what was traced; record another computation on a new Recorder.

        Raises
        ------
        RuntimeError
            If this recorder was traced already.
        """
        from .trace import Trace

        self._check_open("trace")
        t = Trace(self, output)
        self.traced = t
        return t


class Value:
    """A traced scalar: a handle on one node of its recorder's graph (micrograd's ``Value``).

    Arithmetic with numbers or other Values of the same recorder adds one node per operation.
    """

    __slots__ = ("recorder", "node", "data")

    def __init__(self, recorder, node, data):
        self.recorder, self.node, self.data = recorder, node, data

    def __repr__(self):
        return f"Value(node={self.node}, data={self.data:.6g})"

    @property
    def grad(self):
        """The gradient stored on this node by the last backward pass."""
        return self.recorder._node[self.node]["grad"]

    def backward(self):
        """micrograd's ``c.backward()``: trace the recording with this value as its output (which
        freezes the recorder) and backpropagate; afterwards ``a.grad`` is d(c)/d(a) for every Value
        ``a`` of the recording. Calling it again re-runs the same backward. Returns the Trace.

        >>> rec = Recorder()
        >>> a, b = rec.value(2.0), rec.value(-3.0)
        >>> c = a * b + a
        >>> _ = c.backward()
        >>> a.grad, b.grad  # b + 1, a
        (-2.0, 2.0)

        Raises
        ------
        RuntimeError
            If the recording was already traced with another output.
        """
        rec = self.recorder
        t = rec.traced if rec.traced is not None else rec.trace(self)
        if t.output.nodes.shape != () or int(t.output.nodes) != self.node:
            raise RuntimeError(f"this recorder was traced with another output ({t.output.name}); backpropagate "
                               f"that trace, or record this computation on a new Recorder")
        t.backward()
        return t

    def _operand(self, other):
        if isinstance(other, Value):
            if other.recorder is not self.recorder:
                raise ValueError("cannot combine Values from different recorders")
            return other
        if _is_number(other):
            return self.recorder.value(other, op="const")
        raise TypeError(f"cannot combine a Value with {type(other).__name__} {other!r}")

    def _new(self, op, data, operands, locals_):
        if not math.isfinite(data):
            raise ValueError(f"{op} produced a non-finite value ({data}) from "
                             f"{[o.data for o in operands]}")
        self.recorder.reserve(1, op)
        return Value(self.recorder, self.recorder._add(op, data, [o.node for o in operands], locals_), data)

    def __add__(self, other):
        other = self._operand(other)
        return self._new("add", self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = self._operand(other)
        return self._new("mul", self.data * other.data, (self, other), (other.data, self.data))

    def __sub__(self, other):
        other = self._operand(other)
        return self._new("sub", self.data - other.data, (self, other), (1.0, -1.0))

    def __truediv__(self, other):
        other = self._operand(other)
        if other.data == 0:
            raise ZeroDivisionError(f"division by a Value equal to zero (node {other.node})")
        return self._new("div", self.data / other.data, (self, other),
                         (1.0 / other.data, -self.data / other.data ** 2))

    def __radd__(self, other):
        return self._operand(other) + self

    def __rmul__(self, other):
        return self._operand(other) * self

    def __rsub__(self, other):
        return self._operand(other) - self

    def __rtruediv__(self, other):
        return self._operand(other) / self

    def __neg__(self):
        return self._new("neg", -self.data, (self,), (-1.0,))

    def __pow__(self, exponent):
        if not _is_number(exponent):
            raise TypeError(f"exponent must be a constant number, got {exponent!r}")
        exponent = float(exponent)
        if self.data == 0 and exponent < 1:
            raise ValueError(f"0 ** {exponent} has no finite derivative")
        if self.data < 0 and not exponent.is_integer():
            raise ValueError(f"{self.data} ** {exponent} is not a real number (a negative base, a fractional power)")
        return self._new("pow", self.data ** exponent, (self,), (exponent * self.data ** (exponent - 1),))

    def relu(self):
        return self._new("relu", max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))

    def maximum(self, other):
        """max(self, other); the gradient goes to the first operand on ties."""
        other = self._operand(other)
        first = self.data >= other.data
        return self._new("max", max(self.data, other.data), (self, other),
                         (1.0 if first else 0.0, 0.0 if first else 1.0))

    def exp(self):
        e = math.exp(self.data) if self.data < 709.0 else math.inf  # past ~709, exp overflows a float
        return self._new("exp", e, (self,), (e,))

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive value, got {self.data} (node {self.node})")
        return self._new("log", math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self):
        t = math.tanh(self.data)
        return self._new("tanh", t, (self,), (1.0 - t * t,))


class Tensor:
    """A named array of traced scalars: node ids ``nodes`` and their forward values ``data``."""

    __slots__ = ("recorder", "name", "nodes", "data")

    def __init__(self, recorder, name, nodes, data):
        self.recorder, self.name = recorder, name
        self.nodes = nodes  # int64 node ids, shaped like the tensor
        self.data = data  # float64 forward values
        self.nodes.flags.writeable = False
        self.data.flags.writeable = False

    @property
    def shape(self):
        return self.nodes.shape

    @property
    def ndim(self):
        return self.nodes.ndim

    @property
    def size(self):
        return self.nodes.size

    def __repr__(self):
        return f"Tensor({self.name!r}, shape={self.shape})"

    def __getitem__(self, index):
        nid = self.nodes[index]
        if np.ndim(nid):
            raise IndexError(f"index one element of {self.name!r} {self.shape}, got {index!r}")
        return Value(self.recorder, int(nid), float(self.data[index]))

    @property
    def grad(self):
        """Gradients stored on this tensor's nodes by the last backward pass, shaped like it."""
        node = self.recorder._node
        return np.array([node[int(n)]["grad"] for n in self.nodes.flat]).reshape(self.shape)
