"""Practice mode: questions about a traced convolution, answered by hand and checked with the chain
rule's real terms.

:func:`quiz` draws questions from a trace (or from a random problem of a level): a forward value, a
weight gradient, an input gradient, a bias gradient, what one backprop step pushes, which cells one
weight or input touches, and for stride, padding and dilation the output shape and the zero cases.
Every answer comes from the trace and its walk (the same numbers every view shows); every
explanation lists the terms that make it and names the focus view that draws it.

>>> import convgraph as cg
>>> q = cg.quiz(count=3, seed=1)[0]
>>> q.check(q.key), q.check("12345")
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .renderers.numbers import factor, fmt
from .tracer.params import shape_text

__all__ = ["Question", "quiz", "problem", "problem_trace", "problem_lines", "run_quiz", "worksheet", "LEVELS",
           "KINDS"]

#: What each level adds, from the lesson up (random problems, small integers, done by hand).
LEVELS = {
    1: "the lesson's shape: 5×5 ⊛ 3×3, stride 1, dY ones",
    2: "padding 1, a bias and a dY of small integers",
    3: "stride 2 and padding 1",
    4: "dilation 2 (a 7×7 input)",
    5: "two input channels, two filters",
    6: "two groups: each filter sees its own channel",
}

#: The kinds of question, in the order a quiz cycles through them.
KINDS = ("forward", "weight-grad", "input-grad", "push", "weight-reach", "input-reach", "bias-grad", "shape",
         "unread-input", "padding-tap")

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Question:
    """One question about a trace.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    text : str
        The question, e.g. ``What is dW[1,1]?``.
    answer : float, tuple of int, or frozenset of tuple of int
        A number, a shape, or a set of cells (indices as in the trace's labels).
    key : str
        The answer as the one line the quiz accepts (``108``, ``3x3``, ``1,1 1,2``; ``none`` for an
        empty set).
    explanation : str
        The terms that make the answer and the focus view that shows it.
    """

    kind: str
    text: str
    answer: object
    key: str
    explanation: str

    def parse(self, response):
        """``response`` read as this question's kind of answer.

        Raises
        ------
        ValueError
            When it is not one: a word where a number is expected, an empty line, a malformed cell.
        """
        text = str(response).strip().replace("−", "-").replace("×", "x")
        if not text:
            raise ValueError(f"empty answer: type {_hint(self)}")
        if isinstance(self.answer, float):
            if "/" in text:  # a fraction, 1/9
                top, _, bottom = text.partition("/")
                if _NUMBER.match(top.strip()) and _NUMBER.match(bottom.strip()) and float(bottom) != 0:
                    return float(top) / float(bottom)
            if not _NUMBER.match(text):
                raise ValueError(f"{text!r} is not a number: type {_hint(self)}")
            return float(text)
        if isinstance(self.answer, tuple):
            parts = [p for p in re.split(r"[\sx,()]+", text) if p]
            if not parts or not all(p.isdigit() for p in parts):
                raise ValueError(f"{text!r} is not a shape: type {_hint(self)}")
            return tuple(int(p) for p in parts)
        if text.lower() in ("none", "-", "{}", "no cells"):
            return frozenset()
        cells = set()
        for cell in re.split(r"[\s;]+|\)\s*,?\s*\(", text):
            cell = cell.strip("()[]{} ,")
            if not cell:
                continue
            nums = cell.split(",")
            if not all(n.strip().lstrip("-").isdigit() for n in nums):
                raise ValueError(f"{cell!r} is not a cell: type {_hint(self)}")
            cells.add(tuple(int(n) for n in nums))
        return frozenset(cells)

    def check(self, response):
        """Whether ``response`` (a line of text) is the answer: numbers within 1e-6 plus half a
        percent of the answer (three significant digits are right), shapes and sets exactly. Text that
        is not an answer at all is wrong."""
        try:
            got = self.parse(response)
        except ValueError:
            return False
        if isinstance(self.answer, float):
            return _close(got, self.answer)
        return got == self.answer


def _close(got, want):
    return abs(got - want) <= TOLERANCE[0] + TOLERANCE[1] * abs(want)


#: A number is right within ``TOLERANCE[0] + TOLERANCE[1] * |answer|`` (the HTML page uses the same).
TOLERANCE = (1e-6, 5e-3)


def _number_key(value):
    """The answer key of a number: as every view prints it, or more digits where that would not pass."""
    text = fmt(value)
    return text if _close(float(text), value) else f"{value:.10g}"


def _hint(q):
    if isinstance(q.answer, float):
        return "a number, like 12 or -3.5"
    if isinstance(q.answer, tuple):
        return "a shape, like 3x3"
    return "cells as row,col separated by spaces, like 1,1 2,3 (or none)"


# ---- problems ------------------------------------------------------------------------------------
def problem(level=1, seed=0):
    """A random problem of ``level`` (see :data:`LEVELS`): ``(x, w, b, options, dY)`` with small
    integers, the same for the same seed.

    Raises
    ------
    ValueError
        If ``level`` is not one of :data:`LEVELS`.
    """
    if isinstance(level, bool) or level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(str, LEVELS))}, got {level!r}")
    rng = np.random.default_rng([int(seed), int(level)])
    options = {1: {}, 2: {"padding": 1}, 3: {"stride": 2, "padding": 1}, 4: {"dilation": 2},
               5: {"padding": 1}, 6: {"groups": 2, "padding": 1}}[level]
    if level <= 4:
        side = 7 if level == 4 else 5
        x = rng.integers(0, 5, (side, side)).astype(float) if level > 1 else rng.integers(0, 10, (5, 5)).astype(float)
        w = rng.integers(-1, 3, (3, 3)).astype(float)
    else:
        x = rng.integers(0, 4, (2, 4, 4)).astype(float)
        w = rng.integers(-1, 2, (2, 1 if level == 6 else 2, 3, 3)).astype(float)
    b = None if level < 2 else rng.integers(-2, 3, (w.shape[0] if w.ndim == 4 else 1,)).astype(float)
    return x, w, b, options, (None if level == 1 else "integers")


def _random_trace(level, seed):
    import convgraph as cg

    x, w, b, options, dy = problem(level, seed)
    trace = cg.trace_conv2d(x, w, b, **options)
    dY = None
    if dy == "integers":
        dY = np.random.default_rng([int(seed), int(level), 1]).integers(-2, 3, trace.conv.y.shape).astype(float)
        dY[dY == 0] = 1.0  # every output carries something back
    trace.backward(dY)
    return trace


# ---- questions -----------------------------------------------------------------------------------
def quiz(trace=None, *, level=1, seed=0, count=10):
    """``count`` questions about ``trace`` (default: a random problem of ``level``), the same for the
    same seed.

    The trace's last backward seed (else ones) is the dY the gradients come from. Questions cycle
    through :data:`KINDS`, skipping those that do not apply (no bias, no padding), each about an
    element picked by ``seed``.

    Parameters
    ----------
    trace : Trace, optional
        A traced convolution (its first convolution is asked about).
    level : int
        1 … 6 (:data:`LEVELS`), for a random problem.
    seed : int
        Picks the problem and the elements.
    count : int
        Number of questions (1 … 100).

    Returns
    -------
    list of Question

    Raises
    ------
    TypeError, ValueError
        For a trace without a convolution, a bad level, seed or count.
    """
    from .tracer import Trace

    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= 100:
        raise ValueError(f"count must be a whole number from 1 to 100, got {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number 0 or more, got {seed!r}")
    if trace is None:
        trace = _random_trace(level, seed)
    elif not isinstance(trace, Trace):
        raise TypeError(f"trace must be a convgraph Trace, got {type(trace).__name__}")
    elif trace.conv is None:
        raise ValueError("a quiz asks about a convolution; this trace holds none")
    asker = _Asker(trace, np.random.default_rng([int(seed), 7]))
    kinds = [k for k in KINDS if asker.applies(k)]
    out = []
    for n in range(int(count)):
        out.append(asker.ask(kinds[n % len(kinds)]))
    return out


class _Asker:
    """Builds questions about one traced convolution."""

    def __init__(self, trace, rng):
        self.trace, self.rng = trace, rng
        self.rec = trace.conv
        self.walk = trace.walk()
        self.taps = self.rec.taps()
        self.final = self.walk.final
        self.nodes = trace.graph.nodes

    # ---- helpers ---------------------------------------------------------------------------
    def _pick(self, tensor_nodes, ok=None):
        flat = np.asarray(tensor_nodes).ravel()
        if ok is not None:
            flat = flat[[ok(int(n)) for n in flat]] if len(flat) else flat
        return int(flat[self.rng.integers(len(flat))])

    def _index(self, node):
        return tuple(int(i) for i in self.nodes[node]["index"])

    def _value(self, node):
        return float(self.nodes[node]["value"])

    def _label(self, node):
        return self.trace.label(node)

    def _cells(self, nodes):
        return frozenset(self._index(int(n)) for n in nodes)

    def _focus(self, node):
        name, index = self.nodes[node]["tensor"], self._index(node)
        return f"the focus view shows it: convgraph render --focus {name}:{','.join(map(str, index))}"

    def applies(self, kind):
        spec = self.rec.spec
        if kind == "bias-grad":
            return self.rec.b is not None
        if kind == "shape":
            return spec.stride != (1, 1) or spec.dilation != (1, 1) or any(spec.padding)
        if kind == "unread-input":
            return bool(self._never_read(self.rec.x, self.taps.x))
        if kind == "padding-tap":
            return bool(self._never_read(self.rec.w, self.taps.w))
        return True

    def ask(self, kind):
        return getattr(self, "_" + kind.replace("-", "_"))()

    # ---- the kinds --------------------------------------------------------------------------
    def _forward(self):
        rec, taps = self.rec, self.taps
        y = self._pick(rec.y.nodes)
        rows = np.flatnonzero(taps.y == y)
        terms = [f"{factor(self._value(int(taps.w[r])))}·{factor(self._value(int(taps.x[r])))}" for r in rows]
        names = [f"{self._label(int(taps.w[r]))}·{self._label(int(taps.x[r]))}" for r in rows]
        value = self._value(y)
        bias = ""
        if rec.b is not None:
            b = int(rec.b.nodes.ravel()[int(self.taps.out[rows[0], 1])]) if len(rows) else None
            if b is not None:
                bias = f" + {self._label(b)}"
                terms.append(factor(self._value(b)))
        label = self._label(y)
        what = "the stamps that land there, each x·w" if self.rec.spec.transposed else "the window's dot product"
        text = f"What is {label}, the output at that position ({what}{' plus bias' if bias else ''})?"
        why = (f"{label} = {' + '.join(names)}{bias}\n= {' + '.join(terms) or '0'} = {fmt(value)}; "
               f"{self._focus(y)}")
        return Question("forward", text, value, _number_key(value), why)

    def _shared_grad(self, kind):
        """dW[u,v] or dX[i,j]: the sum of what every multiply that reads it sends back."""
        rec, taps = self.rec, self.taps
        t = rec.w if kind == "weight-grad" else rec.x
        node = self._pick(t.nodes)
        rows = np.flatnonzero((taps.w if kind == "weight-grad" else taps.x) == node)
        other = taps.x if kind == "weight-grad" else taps.w
        terms, names = [], []
        for r in rows:
            y = int(taps.y[r])
            dY = float(self.final[y])
            terms.append(f"{factor(dY)}·{factor(self._value(int(other[r])))}")
            names.append(f"{_d(self._label(y))}·{self._label(int(other[r]))}")
        grad = float(self.final[node])
        label = self._label(node)
        short = _d(label)
        if kind == "weight-grad":
            text = f"What is {short} = ∂loss/∂{label}, summed over every position that shares the weight?"
            how = (f"weight sharing: the {len(rows)} multipl{'ies' if len(rows) != 1 else 'y'} that read {label} "
                   f"each send back dY·x")
        else:
            text = f"What is {short} = ∂loss/∂{label}?"
            kernel = "the kernel it stamped" if self.rec.spec.transposed else "the flipped kernel"
            how = (f"the {len(rows)} output{'s' * (len(rows) != 1)} {label} feeds each send back dY·w (the gather "
                   f"through {kernel})" if len(rows) else f"no output reads {label}")
        why = (f"{how}: {short} = {' + '.join(names) or '0'}\n= {' + '.join(terms) or '0'} = {fmt(grad)}; "
               f"{self._focus(node)}")
        return Question(kind, text, grad, _number_key(grad), why)

    def _weight_grad(self):
        return self._shared_grad("weight-grad")

    def _input_grad(self):
        return self._shared_grad("input-grad")

    def _bias_grad(self):
        rec = self.rec
        b = self._pick(rec.b.nodes)
        o = self._index(b)[-1]
        ys = rec.nodes4("y")[:, o].ravel()
        terms = [factor(float(self.final[int(y)])) for y in ys]
        grad = float(self.final[b])
        label = self._label(b)
        text = f"What is d{label} = ∂loss/∂{label}?"
        why = (f"{label} is added once into every output of filter {o}, with local derivative 1: "
               f"d{label} = Σ dY over its {len(ys)} outputs = {' + '.join(terms)} = {fmt(grad)}; {self._focus(b)}")
        return Question("bias-grad", text, grad, _number_key(grad), why)

    def _push(self):
        taps, walk = self.taps, self.walk
        mul = int(taps.mul[self.rng.integers(len(taps))])
        k = walk.number(mul)
        step = walk.step(k)
        target = step.pushes[int(self.rng.integers(len(step.pushes)))]
        other = next((p.node for p in step.pushes if p.node != target.node), target.node)
        name = self.trace.name(mul)
        amount = float(target.amount)
        text = (f"Step {k} processes the multiply {name}, whose gradient is {fmt(step.grad)}. "
                f"What does it push into {self._label(target.node)}?")
        why = (f"grad · local = {fmt(step.grad)} · {factor(target.local)} = {fmt(amount)}: the local derivative of "
               f"a product with respect to one factor is the other factor, here {self._label(other)} = "
               f"{fmt(target.local)}; the HTML stepper shows it at #step={k} (convgraph html)")
        return Question("push", text, amount, _number_key(amount), why)

    def _weight_reach(self):
        rec, taps = self.rec, self.taps
        w = self._pick(rec.w.nodes)
        cells = self._cells(taps.x[taps.w == w])
        label = self._label(w)
        if rec.spec.transposed:
            text = f"Which input cells does {label} multiply? (cells of x)"
            how = (f"every input element stamps through {label} once, onto output a·s+u·d−p; where that lands on "
                   f"the cropped padding there is no multiply")
        else:
            text = f"Which input cells does {label} multiply, over every position of the window? (cells of x)"
            how = (f"at each output position {label} meets one cell of x, shifted by the stride "
                   f"(padding cells are skipped)")
        return Question("weight-reach", text, cells, _cells_key(cells),
                        f"{how}: {_cells_text(cells, rec.x.name)}; {self._focus(w)}")

    def _input_reach(self):
        rec, taps = self.rec, self.taps
        x = self._pick(rec.x.nodes)
        cells = self._cells(taps.y[taps.x == x])
        label = self._label(x)
        text = f"Which outputs does {label} feed? (cells of y)"
        return Question("input-reach", text, cells, _cells_key(cells),
                        f"{label} {'stamps into' if rec.spec.transposed else 'sits in the window of'} exactly these "
                        f"outputs: {_cells_text(cells, rec.y.name)}; "
                        f"{self._focus(x)}")

    def _shape(self):
        spec = self.rec.spec
        shape = tuple(int(s) for s in self.rec.y.shape)
        parts = []
        axes = ((spec.H, spec.KH, spec.stride[0], spec.dilation[0], spec.padding[0], spec.padding[1], spec.OH,
                 spec.output_padding[0]),
                (spec.W, spec.KW, spec.stride[1], spec.dilation[1], spec.padding[2], spec.padding[3], spec.OW,
                 spec.output_padding[1]))
        for n, k, s, d, p0, p1, o, e in axes[2 - spec.dims:]:
            if spec.transposed:
                parts.append(f"({n} − 1)·{s} − {p0 + p1} + {d}·({k} − 1) + {e} + 1 = {o}")
            else:
                parts.append(f"⌊({n} + {p0 + p1} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {o}")
        options = [o for o in spec.options(every=True) if not o.startswith("groups")]
        text = (f"What is the shape of y? (x is {shape_text(spec.x_shape)}, w is {shape_text(spec.w_shape)}, "
                f"{', '.join(options)})")
        rule = ("(size − 1)·stride − both paddings + dilation·(kernel − 1) + output padding + 1" if spec.transposed else
                "⌊(size + padding − dilation·(kernel − 1) − 1) / stride⌋ + 1")
        why = f"{'each side' if spec.dims == 2 else 'the length'}: {rule}: {'; '.join(parts)}; " \
              f"convgraph trace with the same options prints y"
        return Question("shape", text, shape, "x".join(map(str, shape)), why)

    def _never_read(self, tensor, read):
        """The cells of ``tensor`` that no multiply reads (``read``: the nodes the taps read)."""
        read = set(read.tolist())
        return frozenset(self._index(int(n)) for n in np.asarray(tensor.nodes).ravel() if int(n) not in read)

    def _zero_case(self, kind, tensor, read, text, how):
        """A question whose answer is the cells of ``tensor`` that no multiply reads."""
        cells = self._never_read(tensor, read)
        view = f"; {self._focus(int(tensor.nodes[min(cells)]))} (no multiply reads it)" if cells else ""
        return Question(kind, text, cells, _cells_key(cells), f"{how}: {_cells_text(cells, tensor.name)}{view}")

    def _unread_input(self):
        how = ("their every stamp lands on the padding, which the output crops off" if self.rec.spec.transposed
               else f"with {self.rec.spec.options(every=True)[0]} the window skips them")
        return self._zero_case("unread-input", self.rec.x, self.taps.x,
                               "Which input cells does no output read (their gradient is 0 whatever dY is)?", how)

    def _padding_tap(self):
        return self._zero_case("padding-tap", self.rec.w, self.taps.w,
                               "Which weight taps only ever see padding (their gradient is 0 whatever dY is)?",
                               "their stamps always land on the cropped padding" if self.rec.spec.transposed
                               else "at every position these taps fall on the zero padding")


def _d(label):
    """The gradient's name as the lesson writes it: y[1,2] -> dY[1,2], w[0,1] -> dW[0,1], b[0] -> db[0]."""
    name, bracket, rest = label.partition("[")
    big = {"y": "dY", "w": "dW", "x": "dX", "b": "db"}.get(name, "d" + name)
    return big + bracket + rest


def _cells_key(cells):
    return " ".join(",".join(map(str, c)) for c in sorted(cells)) or "none"


def _cells_text(cells, name):
    return ", ".join(f"{name}[{','.join(map(str, c))}]" for c in sorted(cells)) or "none"




# ---- the problem, the session, the worksheet ------------------------------------------------------
def problem_trace(level=1, seed=0):
    """The traced random problem :func:`quiz` asks about for ``level`` and ``seed`` (backpropagated
    with its dY): ``quiz(problem_trace(level, seed), seed=seed)`` is ``quiz(level=level, seed=seed)``."""
    return _random_trace(level, seed)


def problem_lines(trace):
    """The problem as text: the options, then x, w, the bias and dY as grids (each 2-D slice of a
    bigger tensor under its index)."""
    from .renderers.steppers.text import format_grid

    rec = trace.conv
    lines = [trace.describe()]  # with its stride, padding, dilation and groups where they are not 1 and 0
    reaching = trace.walk().final[np.asarray(rec.y.nodes)]  # ∂loss/∂y: the seed, or what later ops send back
    arrays = [(rec.x.name, rec.x.data), (rec.w.name, rec.w.data)]
    dims = rec.spec.dims  # a 1-D convolution's tensors print row by row
    if rec.b is not None:
        arrays.append((rec.b.name, np.asarray(rec.b.data).reshape(1, -1) if dims == 2 else rec.b.data))
    arrays.append(("dY", np.asarray(reaching, dtype=float).reshape(rec.y.shape)))
    for name, data in arrays:
        data = np.asarray(data, dtype=float)
        for lead in np.ndindex(*data.shape[:-dims]) if data.ndim > dims else [()]:
            title = name + ("[" + ",".join(map(str, lead)) + ",:" * dims + "]" if lead else "")
            lines += [""] + ["  " + r for r in format_grid(np.asarray(data[lead]).reshape(-1, data.shape[-1]),
                                                            title=title)]
    return lines


def run_quiz(questions, *, read=input, write=print, prompt="answer ▸ "):
    """Ask ``questions`` one at a time: read an answer (``read(prompt)``, one line), say right or wrong
    with the explanation, re-ask after a line that is no answer at all (an empty line, a word where a
    number is expected), and end with a scorecard whose last line is ``score: N/M``. End of input ends
    the quiz early; unanswered questions count as wrong. Returns the number right."""
    marks = []
    for n, q in enumerate(questions, 1):
        write(f"\nQ{n}/{len(questions)}. {q.text}")
        while True:
            try:
                line = read(prompt)
            except (EOFError, KeyboardInterrupt):
                line = None
                break
            try:
                q.parse(line)
                break
            except ValueError as e:
                write(f"  {e}")
                write(f"Q{n}/{len(questions)}. {q.text}")
        if line is None:
            write("  (end of input)")
            break
        right = q.check(line)
        marks.append(right)
        write("  right. " + q.explanation if right else f"  wrong: the answer is {q.key}. {q.explanation}")
    score = sum(marks)
    write("")
    write("scorecard:")
    for n, q in enumerate(questions, 1):
        mark = "right" if n <= len(marks) and marks[n - 1] else "wrong" if n <= len(marks) else "not answered"
        write(f"  Q{n:<3} {q.kind:<13} {mark}")
    write(f"score: {score}/{len(questions)}")
    return score


def worksheet(questions, trace, *, title="Backprop through a convolution: practice"):
    """A worksheet for the lecturer: (problems, answer key), both markdown. The problems show the
    grids and number the questions; the key gives each answer with the terms that make it."""
    head = [f"# {title}", ""]
    grid = ["```text"] + problem_lines(trace) + ["```", ""]
    sheet = head + ["Work these out by hand; `convgraph quiz` with the same options checks them.", ""] + grid
    key = [f"# {title}: answer key", ""] + grid
    for n, q in enumerate(questions, 1):
        sheet += [f"{n}. {q.text}", ""]
        key += [f"{n}. {q.text}", "", f"   **{q.key}**", "", "   " + q.explanation.replace("\n", "\n   "), ""]
    return "\n".join(sheet) + "\n", "\n".join(key) + "\n"
