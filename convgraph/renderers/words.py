"""The sentences every view says about a backprop step, in one place: its headline (``step k of N``,
the node, where it sits) and its chain rule with the real numbers.

``convgraph step``, the notebook widget, the graph clip and the diagrams' step view say these words;
the HTML page says them in JavaScript, kept equal by its browser tests.
"""

from __future__ import annotations

from .numbers import factor, fmt

__all__ = ["definition", "chain", "role", "headline", "before"]


def definition(trace, step, readable=False):
    """``mul#42 = w[1,1]·x[2,3]``, ``add#43 = add#41 + mul#42``, ``relu#7 = relu(y[0,0])``.

    ``readable`` (for slides): every node as :meth:`~convgraph.tracer.trace.Trace.name` says it, a
    convolution's multiply as its product (``w[1,1]·x[2,3]``), an add of its running sum as
    ``y[1,1] after 3 of 9 taps = y[1,1] after 2 of 9 taps + w[1,0]·x[2,1]``."""
    say = trace.name if readable else trace.label
    preds = [say(p.node) for p in step.pushes]
    name = say(step.node)
    if readable and step.op == "mul" and name != trace.label(step.node):
        return name  # a convolution's multiply: its name is its product
    if step.op == "mul" and len(preds) == 2:
        return f"{name} = {preds[0]}·{preds[1]}"
    if step.op == "add" and len(preds) == 2:
        return f"{name} = {preds[0]} + {preds[1]}"
    if step.op == "sub" and len(preds) == 2:
        return f"{name} = {preds[0]} - {preds[1]}"
    return f"{name} = {step.op}({', '.join(preds)})"


def chain(trace, step, digits=2, readable=False):
    """The chain rule of ``step`` in one line, with its numbers (:func:`~.numbers.fmt`, ``digits``
    its precision): ``mul#42 = w[1,1]·x[2,3]   grad 1 → w[1,1] += 1·0.371, x[2,3] += 1·1``;
    ``readable`` (the steppers, slides): ``w[1,1]·x[2,3]   grad 1 → …``, see :func:`definition`."""
    say = trace.name if readable else trace.label
    g = fmt(step.grad, digits)
    if not step.pushes:
        return (f"{say(step.node)}   grad {g}   ({step.op}, a leaf: nothing to push; "
                f"this is its final gradient)")
    pushes = ", ".join(f"{say(p.node)} += {g}·{factor(p.local, digits)}" for p in step.pushes)
    return f"{definition(trace, step, readable)}   grad {g} → {pushes}"


def role(trace, node):
    """Where ``node`` sits in a convolution, e.g. ``part of y[1,2]: tap w[0,1] (2 of 9)``; or ''."""
    r = trace.conv_role(node)
    if r is None:
        return ""
    return f"part of {trace.label(r.y)}: tap {trace.label(r.w)} ({r.order} of {r.per_sum})"


def headline(trace, walk, step):
    """``step 5 of 187 · w[2,2]·x[4,3] · part of y[2,2]: tap w[2,2] (9 of 9)``: the step, its node
    as a slide names it (:meth:`~convgraph.tracer.trace.Trace.name`) and where the node sits."""
    parts = [walk.text(step.number), trace.name(step.node)]
    attrs = trace.graph.nodes[step.node]
    if attrs.get("tensor") == trace.output.name:
        parts.append("an output: its grad is the seed dY[" + ",".join(str(i) for i in attrs["index"]) + "]")
    else:
        where = role(trace, step.node)
        if where:
            parts.append(where)
    return " · ".join(parts)


def before(trace, walk):
    """What step 0 (nothing visited yet) says: ``step 0 of 187 · before backprop: dY (ones) seeds …``."""
    return (f"{walk.text(0)} · before backprop: dY ({walk.seed_text()}) seeds the outputs, "
            f"so ∂loss/∂{trace.output.name} = dY")
