"""Backpropagation over the graph, one node at a time, in reverse topological order.

Node ids are creation numbers, so reverse creation order is a reverse topological order: each node
is visited after every node it feeds. At each node the chain rule pushes
``grad(node) · local(edge)`` into every operand, accumulating with ``+=``, which is how a shared
kernel weight collects the sum over all positions.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Push", "Step", "backward", "steps"]


class Push(NamedTuple):
    """What one step adds to one operand: ``amount = grad · local``; ``total`` is the operand's
    gradient right after."""

    node: int
    local: float
    amount: float
    total: float


class Step(NamedTuple):
    """One node visited by backprop: its gradient and what it pushed to each operand. Immutable."""

    index: int  # 0, 1, ... in visiting order
    node: int
    op: str
    grad: float
    pushes: tuple  # of Push, one per operand, in operand order


def _reset(graph, seeds):
    node = graph._node  # the dict behind graph.nodes
    for attrs in node.values():
        attrs["grad"] = 0.0
    for n, g in seeds.items():
        node[n]["grad"] = float(g)


def backward(graph, seeds):
    """Set every node's ``grad``: zero, then ``seeds`` ({node: dL/dnode}), then the chain rule
    node by node. Returns the graph.

    Node ids must be the creation numbers 0..N-1 (as a Recorder makes them): the walk keeps the
    running gradients in a list indexed by id and writes them onto the nodes at the end.

    >>> from convgraph.tracer.recorder import Recorder
    >>> rec = Recorder()
    >>> a, b = rec.value(2.0), rec.value(3.0)
    >>> c = a * b
    >>> _ = backward(rec.graph, {c.node: 1.0})
    >>> a.grad, b.grad
    (3.0, 2.0)
    """
    node, pred = graph._node, graph._pred  # the dicts behind graph.nodes and graph.pred
    grads = [0.0] * len(node)
    for n, g in seeds.items():
        grads[n] = float(g)
    for n in range(len(grads) - 1, -1, -1):
        g = grads[n]
        for p, edge in pred[n].items():
            grads[p] += g * edge["local"]
    for attrs, g in zip(node.values(), grads):
        attrs["grad"] = g
    return graph


def steps(graph, seeds):
    """Like :func:`backward`, but yield one :class:`Step` per node as it is processed."""
    _reset(graph, seeds)
    node, pred = graph._node, graph._pred
    for index, n in enumerate(reversed(node)):
        attrs = node[n]
        g = attrs["grad"]
        pushes = []
        for p, edge in pred[n].items():
            local = edge["local"]
            target = node[p]
            target["grad"] += g * local
            pushes.append(Push(p, local, g * local, target["grad"]))
        yield Step(index, n, attrs["op"], g, tuple(pushes))
