"""Focus queries: the nodes that tell one element's story, and what each of them sends back to it.

``focus(trace, ("w", (1, 1)))`` is every multiply that shares weight w[1,1] (dW[1,1] is the sum of
what they send back); ``("x", (i, j))`` every output one input feeds (dX gathers through the flipped
kernel); ``("y", (i, j))`` one output's multiply-adds, its input patch and the kernel; ``("b", …)``
every sum the bias starts. Any other tensor: the element with its operands and results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Focus", "focus"]


@dataclass(frozen=True)
class Focus:
    """One element of a trace and the nodes that show how its gradient is made.

    Attributes
    ----------
    tensor : str
    index : tuple of int
        The full index into the tensor.
    node : int
    kind : str
        ``"output"`` (y of a convolution), ``"weight"``, ``"input"``, ``"bias"`` or ``"other"``.
    nodes : frozenset of int
        What a focus picture shows (the element included).
    elided : tuple of (int, int)
        Pairs (add, y) whose path is left out of the picture: the rest of a sum that ends in y.
    description : str
        One line for the caption, e.g. ``w[1,1]: the 9 multiplies that share it; …``.
    """

    tensor: str
    index: tuple
    node: int
    kind: str
    nodes: frozenset
    elided: tuple
    description: str

    def contributions(self, walk):
        """What each step sends back into this element, in walk order: ``(step number, Push)`` pairs
        (for w[1,1] of the lesson, nine pushes whose amounts sum to dW[1,1])."""
        return walk.contributions(self.node)


def focus(trace, target):
    """The :class:`Focus` of ``target = (tensor name, index)``; a short index is enough when the
    leading axes it leaves out have size one (see :meth:`Trace.element`).

    Raises
    ------
    TypeError, ValueError
        For a target that is not (name, index) or names no element of the trace.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
    >>> f = focus(t, ("w", (1, 1)))
    >>> f.kind, sum(t.graph.nodes[n]["op"] == "mul" for n in f.nodes)
    ('weight', 9)
    """
    if not (isinstance(target, (tuple, list)) and len(target) == 2 and isinstance(target[0], str)):
        raise TypeError(f"focus must be (tensor name, index), like ('w', (1, 1)), got {target!r}")
    name, index = target
    try:
        node = trace.element(name, index)
    except (TypeError, ValueError) as e:
        raise type(e)(f"focus {tuple(target)!r}: {e}") from None
    full = tuple(int(i) for i in trace.graph.nodes[node]["index"]) if "index" in trace.graph.nodes[node] else ()
    rec = trace.conv_of(name)
    if rec is None:
        pred, succ = trace.graph.pred[node], trace.graph.succ[node]
        return Focus(name, full, node, "other", frozenset({node, *pred, *succ}), (),
                     f"{trace.label(node)} with its operands and results")
    if name == rec.y.name:
        kind, shown, elided, what = _output(trace, rec, node)
    elif name in (rec.x.name, rec.w.name):
        kind, shown, elided, what = _shared(trace, rec, node, "weight" if name == rec.w.name else "input")
    else:
        kind, shown, elided, what = _bias(trace, rec, node)
    return Focus(name, full, node, kind, frozenset(shown), tuple(sorted(elided)), what)


def _output(trace, rec, node):
    """One output: its multiply-adds and what they read."""
    taps = rec.taps()
    rows = np.flatnonzero(taps.y == node)
    shown = {node}
    pred = trace.graph.pred
    for m in taps.mul[rows].tolist() + [a for a in taps.add[rows].tolist() if a >= 0]:
        shown.add(m)
        shown.update(pred[m])
    k = len(rows)
    return "output", shown, [], f"{trace.label(node)}: its {k} multiply-add{'s' * (k != 1)}, input patch and kernel"


def _shared(trace, rec, node, kind):
    """A weight or an input element: every multiply that reads it, each with the sum it ends in."""
    taps = rec.taps()
    rows = np.flatnonzero((taps.w if kind == "weight" else taps.x) == node)
    shown, elided = {node}, []
    pred, succ = trace.graph.pred, trace.graph.succ
    for m, y in zip(taps.mul[rows].tolist(), taps.y[rows].tolist()):
        shown.update((m, y))
        shown.update(pred[m])
        for a in succ[m]:
            shown.add(a)
            if a != y:
                elided.append((a, y))
    label, k = trace.label(node), len(rows)
    if kind == "weight":
        what = (f"{label}: the {k} multipl{'ies' if k != 1 else 'y'} that share it; "
                f"∂loss/∂{label} is the sum of what they send back")
    else:
        outs = len(set(taps.y[rows].tolist()))
        how = "the kernel it stamped" if rec.spec.transposed else "the flipped kernel"
        what = (f"{label}: the {outs} output{'s' * (outs != 1)} it feeds; ∂loss/∂{label} gathers "
                f"{'their gradients' if outs != 1 else 'its gradient'} through {how}")
    return kind, shown, elided, what


def _bias(trace, rec, node):
    """The bias: the first add of every sum of its filter, with the output each sum ends in."""
    y4 = rec.nodes4("y")
    starts = rec.bias_adds()  # (N, O, OH, OW)
    shown, elided = {node}, []
    pred = trace.graph.pred
    for a, y in zip(starts.ravel().tolist(), y4.ravel().tolist()):
        if node not in pred[a]:
            continue
        shown.add(a)
        shown.update(pred[a])
        shown.add(y)
        if y != a:
            elided.append((a, y))
    return "bias", shown, elided, f"{trace.label(node)}: every sum it starts"
