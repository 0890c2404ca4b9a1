"""The lecture kit: every picture of the seed lesson in one folder, with an index saying what each shows."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .renderers.writers import write_text

__all__ = ["lecture_kit", "lesson_arrays", "KIT_SCENES", "KIT_FOCUS"]

log = logging.getLogger(__name__)

#: The animation scenes, each written as ``<scene>.gif``, with what it shows.
KIT_SCENES = {
    "forward": "the forward pass: the 3×3 window slides over x, y fills in, the dot product written out",
    "weight-grad": "dW builds up: each dY[i,j] times the patch it saw is added into dW; "
                   "dW[u,v] = Σ dY[i,j]·x[i+u, j+v]",
    "input-grad": "dX: each dY[i,j] scatters dY[i,j]·W into its patch; then the same dX as the kernel "
                  "rotated 180° sliding over the zero-padded dY",
    "backprop": "the lecture clip: forward then backward, x, W, y, dY, dW and dX side by side",
    "graph": "the computational graph backpropagating node by node, one frame per step",
    "lesson": "the seed lesson's two panels: the forward window beside dW accumulating, one frame per output",
}

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


def lesson_arrays():
    """The seed lesson: x = 0..24 as 5×5 and the 3×3 Sobel kernel. Returns (x, w)."""
    x = np.arange(25, dtype=float).reshape(5, 5)  # (H, W)
    w = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # (KH, KW)
    return x, w


def lecture_kit(out="outputs", *, progress=True):
    """Write the lecture kit of the seed lesson (5×5 input, 3×3 Sobel kernel, dY of ones) into ``out``.

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
    import convgraph as cg
    from tqdm.auto import tqdm

    from .renderers.text import StepText

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, w = lesson_arrays()
    trace = cg.trace_conv2d(x, w)
    grads = trace.backward()

    def steps_txt(path):
        text = StepText(trace, trace.step_list())
        lines = [f"{len(text.steps)} backprop steps of x (5, 5) ⊛ w (3, 3), dY ones: one per node, "
                 "in reverse creation order", ""]
        lines += [text.line(s) for s in text.steps]  # the exhausted walk left backward()'s gradients
        return write_text(path, "\n".join(lines) + "\n")

    tasks = [("graph.svg", "the whole computational graph after backward: x, w and y in their grids, every "
                           "multiply and add between them, node fill and edge width by gradient",
              lambda p: cg.render_graph(trace, p)),
             ("graph.png", "the same graph as a PNG for slides", lambda p: cg.render_graph(trace, p))]
    for focus, (stem, what) in KIT_FOCUS.items():
        tasks.append((f"{stem}.svg", what, lambda p, f=focus: cg.render_graph(trace, p, focus=f)))
        tasks.append((f"{stem}.png", "the same focus view as a PNG", lambda p, f=focus: cg.render_graph(trace, p, focus=f)))
    for scene, what in KIT_SCENES.items():
        tasks.append((f"{scene}.gif", what, lambda p, s=scene: cg.animate(trace, p, scene=s, progress=False)))
    tasks.append(("lesson.html", "the interactive stepper: one offline page, → and ← walk backprop node by node",
                  lambda p: cg.render_html(trace, p)))
    tasks.append(("steps.txt", "every backprop step as text: the chain rule with its numbers "
                               "(the output of `convgraph step`)", steps_txt))

    written = []
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

    index = [
        "# Lecture kit: backprop through a 2-D convolution",
        "",
        "The seed lesson: x = 0..24 as a 5×5 grid, the 3×3 Sobel kernel w, stride 1, no padding, and",
        "dY = ones (loss = sum of y). The graph has "
        f"{trace.graph.number_of_nodes()} nodes ({', '.join(f'{n} {op}' for op, n in trace.counts().items())}).",
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
    written.append((write_text(out / "index.md", "\n".join(index) + "\n"), "this index"))
    return written
