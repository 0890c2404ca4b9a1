"""Jupyter: a Trace shows its graph inline, and a stepper widget scrubs through backprop.

Importing :mod:`convgraph` inside IPython registers the display formatter (nothing happens
elsewhere); ``%load_ext convgraph.notebook`` does the same explicitly. The widget needs the
``notebook`` extra: ``pip install 'convgraph[notebook]'``.
"""

from __future__ import annotations

import html
import logging
import sys

__all__ = ["register", "load_ipython_extension", "trace_svg", "stepper_widget", "quiz_widget"]

log = logging.getLogger(__name__)


def trace_svg(trace):
    """The trace's graph as SVG text as wide as the notebook's column (the Graphviz diagram with heat
    when backward has run), or None when Graphviz's ``dot`` is missing (Jupyter then shows the text
    repr)."""
    try:
        from .renderers.diagrams import notebook_svg, to_digraph

        return notebook_svg(to_digraph(trace))
    except Exception as e:  # a missing dot must not break printing a Trace in a notebook
        log.warning("convgraph: cannot draw the trace inline (%s); showing its text form", e)
        return None


def register(ipython=None):
    """Show :class:`~convgraph.Trace` objects as their graph in IPython/Jupyter.

    Parameters
    ----------
    ipython : InteractiveShell, optional
        Default: the running shell; without one this does nothing.

    Returns
    -------
    bool
        True if a formatter was registered.
    """
    if ipython is None:
        ipy = sys.modules.get("IPython")
        ipython = ipy.get_ipython() if ipy is not None and hasattr(ipy, "get_ipython") else None
    if ipython is None or not hasattr(ipython, "display_formatter"):
        return False
    svg = ipython.display_formatter.formatters["image/svg+xml"]
    svg.for_type_by_name("convgraph.tracer.trace", "Trace", trace_svg)
    return True


def load_ipython_extension(ipython):
    """``%load_ext convgraph.notebook``."""
    register(ipython)


def _pre(lines):
    """The stepper's lines as HTML: monospace, each line wrapping to the column with a hanging indent
    (continuations 6 characters in) instead of running off to the right."""
    rows = "".join(f"<div style='padding-left:6ch;text-indent:-6ch'>{html.escape(line) or '&nbsp;'}</div>"
                   for line in lines)
    return ("<div style='font-family:monospace;font-size:13px;line-height:1.35;white-space:pre-wrap'>"
            + rows + "</div>")


def stepper_widget(trace, dY=None, *, digits=2, graph=False):
    """A widget that scrubs through the backprop steps of ``trace``: a slider, play button, ◀ ▶, and
    for each step the chain rule with numbers, the running gradients and the dW / dX grids, in the
    words of ``convgraph step`` (nodes named as a slide names them: ``w[2,2]·x[4,3]``).

    The slider's value k is "step k of N" as every view counts it (0: before the first step); with
    ``graph=True`` the picture beside the text is ``to_digraph(trace, step=k)`` of the same walk.
    The trace is only read.

    Parameters
    ----------
    trace : Trace
    dY : array, optional
        Seed gradient (default: the trace's last seed, else ones).
    digits : int
        Precision of printed numbers: whole numbers bare, others with ``digits + 1`` significant
        digits (default 2: ``0.371``, ``12.3``), as in every view.
    graph : bool
        Also draw the graph with the current node marked (Graphviz; small traces).

    Returns
    -------
    ipywidgets.VBox
        ``.children[-1]`` is the HTML view; ``.slider`` is the step slider (0 … N).

    Raises
    ------
    ImportError
        If ipywidgets is missing, with the install command.
    """
    try:
        import ipywidgets as widgets
    except ImportError as e:
        raise ImportError("the stepper widget needs ipywidgets: pip install 'convgraph[notebook]'") from e
    from .renderers.steppers.text import StepText

    walk = trace.walk(dY)
    text = StepText(trace, walk, digits=digits)
    n = len(walk)
    slider = widgets.IntSlider(value=0, min=0, max=n, description="step", continuous_update=True,
                               layout=widgets.Layout(width="60%"))
    play = widgets.Play(value=0, min=0, max=n, interval=400, description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    back, ahead = widgets.Button(description="◀", layout=widgets.Layout(width="3em")), \
        widgets.Button(description="▶", layout=widgets.Layout(width="3em"))
    view = widgets.HTML()
    picture = widgets.HTML()

    def show(change=None):
        k = slider.value
        view.value = _pre(text.block(walk.step(k)) if k else [text.before()])
        if graph:
            from .renderers.diagrams import notebook_svg, to_digraph

            try:
                picture.value = notebook_svg(to_digraph(trace, step=k, dY=walk.dY))
            except Exception as e:
                picture.value = f"<i>{html.escape(str(e))}</i>"

    back.on_click(lambda _: setattr(slider, "value", max(slider.value - 1, 0)))
    ahead.on_click(lambda _: setattr(slider, "value", min(slider.value + 1, n)))
    slider.observe(show, names="value")
    show()
    box = widgets.VBox([widgets.HBox([play, back, slider, ahead]), picture, view])
    box.slider = slider
    return box


def quiz_widget(trace=None, *, level=1, seed=0, count=10):
    """Practice in a notebook: the problem's grids, one question at a time with a box for the answer,
    the verdict with the chain rule's terms, and the score; the questions of
    :func:`convgraph.quiz` for the same arguments.

    Parameters
    ----------
    trace : Trace, optional
        Ask about this convolution (default: a random problem of ``level``).
    level, seed, count : int
        As for :func:`convgraph.quiz`.

    Returns
    -------
    ipywidgets.VBox
        ``.answer`` is the text box, ``.check`` and ``.next`` the buttons, ``.verdict`` the HTML the
        verdict is written into, ``.questions`` the questions and ``.score()`` the (right, asked) pair.

    Raises
    ------
    ImportError
        If ipywidgets is missing, with the install command.
    TypeError, ValueError
        As :func:`convgraph.quiz`.
    """
    try:
        import ipywidgets as widgets
    except ImportError as e:
        raise ImportError("the quiz widget needs ipywidgets: pip install 'convgraph[notebook]'") from e
    from .practice import problem_lines, problem_trace, quiz

    if trace is None:
        trace = problem_trace(level, seed)
    questions = quiz(trace, seed=seed, count=count)
    problem = widgets.HTML(_pre(problem_lines(trace)))
    question, verdict = widgets.HTML(), widgets.HTML()
    answer = widgets.Text(placeholder="your answer", continuous_update=False)
    check, ahead = widgets.Button(description="check"), widgets.Button(description="next", disabled=True)
    state = {"k": 0, "right": 0, "done": []}

    def ask():
        q = questions[state["k"]]
        question.value = f"<b>Q{state['k'] + 1}/{len(questions)}.</b> {html.escape(q.text)}"
        answer.value, verdict.value, ahead.disabled, check.disabled = "", "", True, False

    def on_check(_=None):
        q = questions[state["k"]]
        try:
            q.parse(answer.value)
        except ValueError as e:  # no answer at all: say so, ask again
            verdict.value = f"<i>{html.escape(str(e))}</i>"
            return
        right = q.check(answer.value)
        state["right"] += right
        state["done"].append(right)
        head = "right." if right else f"wrong: the answer is {html.escape(q.key)}."
        verdict.value = (f"<b>{head}</b> " + _pre(q.explanation.split("\n"))
                         + f"<p>score: {state['right']}/{len(state['done'])} of {len(questions)}</p>")
        check.disabled, ahead.disabled = True, state["k"] + 1 >= len(questions)

    def on_next(_=None):
        state["k"] += 1
        ask()

    check.on_click(on_check)
    ahead.on_click(on_next)
    answer.observe(lambda change: on_check() if not check.disabled else None, names="value")
    ask()
    box = widgets.VBox([problem, question, widgets.HBox([answer, check, ahead]), verdict])
    box.answer, box.check, box.next, box.verdict, box.questions = answer, check, ahead, verdict, questions
    box.score = lambda: (state["right"], len(state["done"]))
    return box
