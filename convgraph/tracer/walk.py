"""The walk: backpropagation over the graph one node at a time, as a pure function of the graph and dY.

Node ids are creation numbers 0..N-1, so reverse creation order is a reverse topological order:
each node is visited after every node it feeds. At each node the chain rule pushes
``grad(node) · local(edge)`` into every operand, accumulating with ``+=``, which is how a shared
kernel weight collects the sum over all positions.

**One step numbering, everywhere**: step k (k = 1 … N) is the k-th node the walk visits, node
``N − k``; "step k of N" names it; step 0 is "nothing visited yet" (only the outputs hold their
seed dY). Every view of convgraph (diagrams, clips, the terminal, notebook and HTML steppers) asks a
:class:`Walk` for the node, the gradients and the words of step k.

A walk never writes onto the graph: :meth:`Trace.backward <convgraph.tracer.trace.Trace.backward>`
is what stores gradients on the nodes. :func:`gradients` is the fast bulk pass (no step records),
tested to give exactly :attr:`Walk.final`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Push", "Step", "Walk", "StepStream", "gradients", "step_text", "seed_text"]


class Push(NamedTuple):
    """What one step adds to one operand: ``amount = grad · local``; ``total`` is the operand's
    gradient right after; this push is the ``ordinal``-th of the ``received`` contributions the
    operand gets in the whole walk."""

    node: int
    local: float
    amount: float
    total: float
    ordinal: int
    received: int


class Step(NamedTuple):
    """One node visited by backprop: its gradient and what it pushed to each operand. Immutable.

    ``number`` is the step number, 1 … N (see the module docstring).
    """

    number: int
    node: int
    op: str
    grad: float
    pushes: tuple  # of Push, one per operand, in operand order


def step_text(k, count):
    """``"step k of N"``: the words every view uses for step ``k`` of a walk of ``count`` steps.

    >>> step_text(40, 187)
    'step 40 of 187'
    """
    return f"step {k} of {count}"


def seed_text(dY):
    """How captions name a seed: ``"ones"`` when dY is all ones (loss = sum of the output), else ``"given"``.

    >>> seed_text(np.ones((2, 2))), seed_text([[1.0, 0.5]])
    ('ones', 'given')
    """
    return "ones" if np.all(np.asarray(dY) == 1) else "given"


def _seed_list(count, seeds):
    grads = [0.0] * count
    for n, g in seeds.items():
        grads[n] = float(g)
    return grads


def gradients(graph, seeds):
    """Every node's gradient after the whole walk, as a list indexed by node id: the fast bulk pass
    (no step records), for :meth:`Trace.backward`. Writes nothing onto the graph.

    Node ids must be the creation numbers 0..N-1 (as a Recorder makes them).

    >>> from convgraph.tracer.recorder import Recorder
    >>> rec = Recorder()
    >>> a, b = rec.value(2.0), rec.value(3.0)
    >>> c = a * b
    >>> gradients(rec.graph, {c.node: 1.0})
    [3.0, 2.0, 1.0]
    """
    pred = graph._pred  # the dict behind graph.pred: the tracer's own graph, read only
    grads = _seed_list(len(pred), seeds)
    for n in range(len(grads) - 1, -1, -1):
        g = grads[n]
        for p, edge in pred[n].items():
            grads[p] += g * edge["local"]
    return grads


def _visit(graph, seeds):
    """The chain rule, once, lazily: visit every node in reverse creation order and yield
    ``(node, grad, pushes)``, each push ``(operand, local, amount, total, ordinal, received)``."""
    pred, succ = graph._pred, graph._succ  # the tracer's own graph, read only
    count = len(pred)
    grads = _seed_list(count, seeds)
    seen = [0] * count  # contributions received so far
    for n in range(count - 1, -1, -1):
        g = grads[n]
        pushes = []
        for p, edge in pred[n].items():
            d = edge["local"]
            a = g * d
            grads[p] += a
            seen[p] += 1
            pushes.append((p, d, a, grads[p], seen[p], len(succ[p])))
        yield n, g, pushes


class Walk:
    """One backward pass over a graph for one seed, recorded step by step without writing onto the graph.

    Build one with :meth:`Trace.walk <convgraph.tracer.trace.Trace.walk>`. Step ``k`` (1 … N) visits
    node ``N − k``; ``grads_after(k)`` gives every node's gradient after step k (k = 0 … N).

    Attributes
    ----------
    dY : numpy.ndarray
        The seed, shaped like the trace's output (read-only).
    seeds : dict
        node id -> its seed gradient (the output elements).
    count : int
        N, the number of steps (one per node).

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(4.0).reshape(2, 2), np.ones((2, 2)))
    >>> walk = t.walk()
    >>> len(walk), walk.text(1), t.label(walk.node(1))
    (15, 'step 1 of 15', 'y[0,0]')
    >>> w11 = t.element("w", (1, 1))  # dW[1,1] = dY[0,0]·x[1,1] = 3 after the walk, 0 before
    >>> float(walk.grads_after(0)[w11]), float(walk.final[w11])
    (0.0, 3.0)
    >>> t.has_grad  # nothing was written onto the trace
    False
    """

    def __init__(self, graph, output_nodes, dY):
        self.dY = dY
        self.seeds = dict(zip(np.ravel(output_nodes).tolist(), np.ravel(dY).tolist()))
        self._ops = [attrs["op"] for attrs in graph._node.values()]
        self.count = len(self._ops)
        self._record(graph)
        self._state_k = None  # incremental cache of grads_after / touched_after
        self._by_target = None

    # ---- the chain rule, once ----------------------------------------------------------------
    def _record(self, graph):
        """Run the walk to the end, keeping every push as arrays."""
        target, local, amount, total, ordinal, off = [], [], [], [], [], [0]
        for _, _, pushes in _visit(graph, self.seeds):
            for p, d, a, t, k, _ in pushes:
                target.append(p)
                local.append(d)
                amount.append(a)
                total.append(t)
                ordinal.append(k)
            off.append(len(target))
        self._target = np.array(target, dtype=np.int64)
        self._local = np.array(local, dtype=float)
        self._amount = np.array(amount, dtype=float)
        self._total = np.array(total, dtype=float)
        self._ordinal = np.array(ordinal, dtype=np.int64)
        self._off = np.array(off, dtype=np.int64)
        self._received = np.array([len(graph._succ[n]) for n in range(self.count)], dtype=np.int64)
        final = np.array(_seed_list(self.count, self.seeds))
        if len(target):  # each node's gradient is the running total of its last push, or its seed
            rev = self._target[::-1]
            nodes, last = np.unique(rev, return_index=True)
            final[nodes] = self._total[::-1][last]
        self.final = final
        for arr in (self.final, self._target, self._local, self._amount, self._total, self._off, self._received,
                    self._ordinal):
            arr.flags.writeable = False

    # ---- steps -------------------------------------------------------------------------------
    def __len__(self):
        return self.count

    def __repr__(self):
        return f"<Walk: {self.count:,} steps, {len(self._target):,} pushes>"

    def _check(self, k, lo=0):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"step must be an int, got {k!r}")
        if not lo <= k <= self.count:
            raise ValueError(f"step must be in {lo}..{self.count} (one step per node"
                             f"{', 0 before the first' if lo == 0 else ''}), got {k}")
        return int(k)

    def node(self, k):
        """The node visited at step ``k`` (1 … N)."""
        return self.count - self._check(k, 1)

    def number(self, node):
        """The step that visits ``node``."""
        return self.count - int(node)

    def visited(self, node, k):
        """Whether step ``k`` or an earlier one visited ``node``."""
        return self.count - int(node) <= k

    def text(self, k):
        """``"step k of N"``."""
        return step_text(self._check(k), self.count)

    def step(self, k):
        """The :class:`Step` record of step ``k`` (1 … N)."""
        k = self._check(k, 1)
        n = self.count - k
        g = float(self.final[n])
        a, b = int(self._off[k - 1]), int(self._off[k])
        pushes = tuple(Push(int(self._target[j]), float(self._local[j]), float(self._amount[j]),
                            float(self._total[j]), int(self._ordinal[j]), int(self._received[self._target[j]]))
                       for j in range(a, b))
        return Step(k, n, self._ops[n], g, pushes)

    def __iter__(self):
        for k in range(1, self.count + 1):
            yield self.step(k)

    def steps(self, first=1, last=None):
        """The steps ``first`` … ``last`` (default: to the end), as a list."""
        last = self.count if last is None else last
        return [self.step(k) for k in range(self._check(first, 1), self._check(last) + 1)]

    def arrays(self):
        """The walk as flat arrays (what the HTML page embeds): ``node`` and ``grad`` per step (in
        step order), and the pushes as ``target``/``local``/``amount``/``total``/``ordinal`` with
        ``offsets``: step k's pushes are ``offsets[k-1]:offsets[k]``."""
        nodes = np.arange(self.count - 1, -1, -1, dtype=np.int64)
        return {"node": nodes, "grad": self.final[nodes], "target": self._target, "local": self._local,
                "amount": self._amount, "total": self._total, "ordinal": self._ordinal, "offsets": self._off}

    # ---- who receives what -------------------------------------------------------------------
    def received(self, node):
        """How many contributions ``node`` receives in the whole walk (its number of consumers)."""
        return int(self._received[node])

    def contributions(self, node):
        """Every push into ``node`` in walk order, as ``(step number, Push)`` pairs."""
        if self._by_target is None:
            order = np.argsort(self._target, kind="stable")
            starts = np.concatenate([[0], np.cumsum(self._received)])
            self._by_target = (order, starts)
        order, starts = self._by_target
        out = []
        for j in order[starts[node]:starts[node + 1]].tolist():
            k = int(np.searchsorted(self._off, j, side="right"))
            out.append((k, Push(node, float(self._local[j]), float(self._amount[j]), float(self._total[j]),
                                int(self._ordinal[j]), int(self._received[node]))))
        return out

    def feeding(self, node):
        """Step numbers of the steps that push gradient into ``node``."""
        return [k for k, _ in self.contributions(node)]

    # ---- the state after step k --------------------------------------------------------------
    def _advance(self, k):
        """Bring the cached state to step k: forward from the cache, or from step 0."""
        if self._state_k is None or k < self._state_k:
            grads = np.zeros(self.count)
            touched = np.zeros(self.count, dtype=bool)
            seeds = np.fromiter(self.seeds, dtype=np.int64, count=len(self.seeds))
            grads[seeds] = np.fromiter(self.seeds.values(), dtype=float, count=len(self.seeds))
            touched[seeds] = True
            self._state = (grads, touched)
            self._state_k = 0
        grads, touched = self._state
        a, b = int(self._off[self._state_k]), int(self._off[k])
        if b > a:  # the last push into each node within the range holds its running total
            t, v = self._target[a:b][::-1], self._total[a:b][::-1]
            nodes, last = np.unique(t, return_index=True)
            grads[nodes] = v[last]
            touched[nodes] = True
        self._state_k = k
        return grads, touched

    def grads_after(self, k):
        """Every node's gradient after step ``k`` (0 … N), as a read-only array indexed by node id:
        final for visited nodes, a partial sum for the rest. Cheapest when k only grows."""
        grads, _ = self._advance(self._check(k))
        out = grads.copy()
        out.flags.writeable = False
        return out

    def touched_after(self, k):
        """Which nodes hold a gradient after step ``k``: the seeded outputs and every node a step
        has pushed into (read-only boolean array by node id)."""
        _, touched = self._advance(self._check(k))
        out = touched.copy()
        out.flags.writeable = False
        return out

    def flow(self, u, v, local, k=None):
        """The gradient sent back along edge ``u → v`` (local derivative ``local``) by step ``k``
        (default: the whole walk): ``grad(v) · local`` once ``v`` is visited, else 0."""
        if k is not None and self.count - v > k:
            return 0.0
        return float(self.final[v]) * local

    def seed_text(self):
        """``"ones"`` when dY is all ones, else ``"given"``."""
        return seed_text(self.dY)


class StepStream:
    """The walk's steps computed one at a time, only as far as they are asked for: printing the first
    steps of a trace of millions of nodes costs those steps, not the whole walk. Offers what the
    steppers' one-line form needs of a :class:`Walk` (``text``, ``received``, ``contributions`` of a
    leaf at its own step).

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(4.0).reshape(2, 2), np.ones((2, 2)))
    >>> stream = StepStream(t.graph, t.output.nodes, np.ones((1, 1)))
    >>> [s.number for s in stream.steps(1, 3)], len(stream)
    ([1, 2, 3], 15)
    """

    def __init__(self, graph, output_nodes, dY):
        self.dY = dY
        self.seeds = dict(zip(np.ravel(output_nodes).tolist(), np.ravel(dY).tolist()))
        self._graph = graph
        self.count = graph.number_of_nodes()
        self._visits = _visit(graph, self.seeds)
        self._done = 0
        self._leaf_pushes = {}  # leaf -> [(step number, Push), ...]: a leaf's step lists them

    def __len__(self):
        return self.count

    def text(self, k):
        """``"step k of N"``."""
        return step_text(k, self.count)

    def seed_text(self):
        return seed_text(self.dY)

    def received(self, node):
        return len(self._graph._succ[node])

    def contributions(self, node):
        """The pushes into leaf ``node`` seen so far (all of them once its own step is reached)."""
        return self._leaf_pushes.get(node, [])

    def steps(self, first=1, last=None):
        """Yield steps ``first`` … ``last`` (default: to the end), computing up to ``last`` only once;
        earlier steps than the last one yielded cannot be asked for again."""
        last = self.count if last is None else min(last, self.count)
        if first <= self._done:
            raise ValueError(f"steps are streamed: step {first} was already passed (at {self._done})")
        nodes = self._graph._node
        for n, g, pushes in self._visits:
            self._done += 1
            k = self._done
            records = tuple(Push(*push) for push in pushes)
            for push in records:
                if not self._graph._pred[push.node] and "tensor" in nodes[push.node]:
                    self._leaf_pushes.setdefault(push.node, []).append((k, push))
            if k >= first:
                yield Step(k, n, nodes[n]["op"], g, records)
            if k >= last:
                return
