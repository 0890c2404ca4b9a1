"""The lecture kit: every picture of the lesson in one folder, with an index saying what each shows."""

from __future__ import annotations

import logging
from pathlib import Path

from .lessons import LESSON
from .renderers.animations.catalog import SCENE_TABLE
from .renderers.files import write_text

__all__ = ["lecture_kit", "KIT_SCENES", "KIT_FOCUS"]

log = logging.getLogger(__name__)

#: The animation scenes, each written as ``<scene>.gif`` (what each shows: the scene table).
KIT_SCENES = ("forward", "weight-grad", "input-grad", "backprop", "graph", "lesson")

#: The focus views: (tensor, index) -> (file stem, what it shows).
KIT_FOCUS = {
    ("y", (1, 1)): ("focus_y11", "one output, y[1,1]: its 9 multiplies and 8 adds, its 3×3 input patch "
                                 "and the kernel"),
    ("w", (1, 1)): ("focus_w11", "one shared weight, w[1,1]: the 9 multiplies that use it, one per output, "
                                 "which is why dW[1,1] is a sum over positions"),
    ("x", (2, 2)): ("focus_x22", "one input element, x[2,2]: the 9 outputs it feeds, each through a different "
                                 "weight, which is how dX gathers through the flipped kernel (dX[2,2] is 0 here: the Sobel "
                                 "kernel's middle column is zero)"),
}


def _steps_txt(trace, path):
    from .renderers.steppers.text import StepText

    walk = trace.walk()
    text = StepText(trace, walk)
    lines = [f"{len(walk)} backprop steps of {trace.describe()}, dY {walk.seed_text()}: one per node, "
             "in reverse creation order", ""]
    lines += [text.line(step) for step in walk]
    return write_text(path, "\n".join(lines) + "\n")


def _tasks(trace):
    """(file name, what it shows, how to write it), in the order of ``index.md``."""
    import convgraph as cg

    tasks = [("graph.svg", "the whole computational graph after backward: x, w and y in their grids, every "
                           "multiply and add between them, node fill and edge width by gradient",
              lambda p: cg.render_graph(trace, p)),
             ("graph.png", "the same graph as a PNG for slides", lambda p: cg.render_graph(trace, p))]
    for focus, (stem, what) in KIT_FOCUS.items():
        tasks.append((f"{stem}.svg", what, lambda p, f=focus: cg.render_graph(trace, p, focus=f)))
        tasks.append((f"{stem}.png", "the same focus view as a PNG", lambda p, f=focus: cg.render_graph(trace, p, focus=f)))
    for scene in KIT_SCENES:
        tasks.append((f"{scene}.gif", SCENE_TABLE[scene].shows,
                      lambda p, s=scene: cg.animate(trace, p, scene=s, progress=False)))
    tasks.append(("lesson.html", "the interactive stepper: one offline page, → and ← walk backprop node by node",
                  lambda p: cg.render_html(trace, p)))
    tasks.append(("steps.txt", "every backprop step as text: the chain rule with its numbers "
                               "(the output of `convgraph step`)", lambda p: _steps_txt(trace, p)))
    return tasks


def lecture_kit(out="outputs", *, progress=True):
    """Write the lecture kit of the lesson (:data:`convgraph.lessons.LESSON`: 5×5 input, 3×3 Sobel
    kernel, dY of ones) into ``out``.

    The graph with gradient heat (SVG and PNG), the three focus views (SVG and PNG), a GIF of every
    animation scene, the interactive HTML stepper, the backprop steps as text, and ``index.md``
    listing what each file shows.

    Parameters
    ----------
    out : str or Path
        Folder, created if missing.
    progress : bool
        Show a progress bar on standard error (when it is a terminal).

    Returns
    -------
    list of (Path, str)
        Every file written and what it shows, in the order of ``index.md``.

    Raises
    ------
    OSError
        If ``out`` cannot be written.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trace = LESSON.trace()
    grads = trace.backward()
    written = []
    tasks = _tasks(trace)
    bar = tqdm(tasks, desc="lecture kit", unit="file", disable=None if progress else True, leave=False)
    for name, what, make in bar:
        bar.set_postfix_str(name)
        path = out / name
        make(path)
        if not path.exists():
            raise OSError(f"the renderer returned without writing {path}")
        written.append((path, what))
        log.info("wrote %s", path)
    bar.close()
    index = _index(trace, grads, written)
    written.append((write_text(out / "index.md", "\n".join(index) + "\n"), "this index"))
    return written


def _index(trace, grads, written):
    index = [
        "# Lecture kit: backprop through a 2-D convolution",
        "",
        f"The lesson: {LESSON.title}, and dY = ones (loss = sum of y): {trace.describe()}.",
        f"The graph has {trace.graph.number_of_nodes()} nodes "
        f"({', '.join(f'{n} {op}' for op, n in trace.counts().items())}).",
        "",
        f"- y = {trace.y.tolist()}",
        f"- dW = {grads.w.tolist()}  (dW[u,v] = Σ dY[i,j]·x[i+u, j+v])",
        f"- dX = {grads.x.tolist()}  (the full convolution of dY with w rotated 180°)",
        "",
        "| file | what it shows |",
        "| --- | --- |",
    ]
    index += [f"| [{p.name}]({p.name}) | {what} |" for p, what in written]
    index += ["", "Made by `convgraph demo`; every file is regenerated the same way each time."]
    return index
