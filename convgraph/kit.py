"""The lecture kit: every picture of one convolution in one folder, with an index saying what each shows.

By default :data:`convgraph.lessons.EDGE` (an image patch with an edge, the lesson's Sobel kernel and
a dY of mixed signs, so every panel carries something); ``convgraph demo`` with conv options, or
``lecture_kit(out, trace=...)``, makes the kit of any traced convolution.

:func:`arithmetic_gallery` (``convgraph demo --kit arithmetic``) is the other kit: every configuration
of the convolution-arithmetic guide's animations (Dumoulin & Visin), each as a forward clip, a backward
clip and a focus picture, with numbers, forward and backward.
"""

from __future__ import annotations

import gc
import logging
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .lessons import EDGE, PROBLEMS, SEED_CLIP, stamp_learning
from .renderers.animations.catalog import SCENE_TABLE
from .renderers.files import output_path, write_text

__all__ = ["lecture_kit", "arithmetic_gallery", "arithmetic_trace", "focus_points", "KIT_SCENES", "ARITHMETIC"]

log = logging.getLogger(__name__)

#: The animation scenes, each written as ``<scene>.gif`` (what each shows: the scene table).
KIT_SCENES = ("forward", "weight-grad", "input-grad", "backprop", "graph", "lesson", "dw-as-conv", "dx-as-conv",
              "im2col")


def _nearest(shape, ok):
    """The index of ``ok`` (a boolean array shaped like ``shape``) nearest the centre of its last two
    axes, in the first slice; the centre itself when nothing is ok."""
    grid = np.indices(shape).reshape(len(shape), -1).T  # every index
    centre = (np.array(shape[-2:]) - 1) / 2
    dist = np.abs(grid[:, -2:] - centre).sum(axis=1) + 1e3 * grid[:, :-2].sum(axis=1)
    order = np.lexsort((np.arange(len(grid)), dist))
    hits = [k for k in order if ok.ravel()[k]]
    return tuple(int(i) for i in grid[hits[0] if hits else order[0]])


def focus_points(trace, grads):
    """The three elements the kit's focus views show, each next to the centre: an output, a weight
    whose value and gradient are not zero (its arrows carry something), and an input whose gradient
    is not zero. Returns [(tensor name, index), ...] for y, w and x."""
    rec = trace.conv
    y, w, x = rec.y, rec.w, rec.x
    return [(y.name, _nearest(y.shape, np.ones(y.shape, bool))),
            (w.name, _nearest(w.shape, (w.data != 0) & (grads[w.name] != 0))),
            (x.name, _nearest(x.shape, grads[x.name] != 0))]


def _focus_words(trace, focus):
    """File stem and what a focus view shows, in a lecturer's words."""
    import convgraph as cg

    name, index = focus
    f = cg.focus(trace, focus)
    stem = "focus_" + name + "_".join(str(i) for i in index)
    if f.kind == "output":
        return stem, f"one output, {f.description}"
    if f.kind == "weight":
        return stem, f"one shared weight, {f.description} (a sum over every position: weight sharing)"
    return stem, f"one input element, {f.description}"


def _steps_txt(trace, path):
    from .renderers.steppers.text import StepText

    walk = trace.walk()
    text = StepText(trace, walk)
    lines = [f"{len(walk)} backprop steps of {trace.describe()}, dY {walk.seed_text()}: one per node, "
             "in reverse creation order", ""]
    lines += [text.line(step) for step in walk]
    return write_text(path, "\n".join(lines) + "\n")


def _tasks(trace, focus, dY=None):
    """(file name, what it shows, how to write it), in the order of ``index.md``."""
    import convgraph as cg

    slide = "slide"  # every picture of the kit is made for a 1920×1080 slide
    # An SVG and its PNG come from one layout: the SVG's task writes both (the PNG's task is None).
    tasks = [("graph.svg", "the whole computational graph after backward: x, w and y in their grids, every "
                           "multiply and add between them, node fill and arrow width by the signed gradient",
              lambda p: cg.render_graphs(trace, [p, p.with_suffix(".png")], size=slide)),
             ("graph.png", "the same graph as a 1920×1080 PNG for slides", None)]
    for f in focus:
        stem, what = _focus_words(trace, f)
        tasks.append((f"{stem}.svg", what, lambda p, f=f: cg.render_graphs(trace, [p, p.with_suffix(".png")], focus=f,
                                                                          size=slide)))
        tasks.append((f"{stem}.png", "the same focus view as a 1920×1080 PNG", None))
    for scene in KIT_SCENES:
        entry = SCENE_TABLE[scene]
        if trace.conv.spec.transposed and scene != "graph" and not entry.transposed:  # im2col: a convolution's only
            continue
        shows = entry.shows_transposed if trace.conv.spec.transposed and entry.shows_transposed else entry.shows
        tasks.append((f"{scene}.gif", shows,
                      lambda p, s=scene: cg.animate(trace, p, scene=s, dY=dY, size=slide, progress=False)))
    tasks.append(("01_conv_backprop.gif", f"the lesson notebook's own clip, {SEED_CLIP.title}: the window "
                                          "beside dW accumulating", lambda p: cg.anim_conv_backprop(path=p, size=slide)))
    tasks.append(("train.gif", f"the stamp learning: {SCENE_TABLE['train'].shows}, for "
                               "lessons.stamp_learning() (a random 3×3 kernel learning the Sobel kernel from three "
                               "images)", lambda p: cg.animate(stamp_learning(), p, size=slide, progress=False)))
    tasks.append(("lesson.html", "the interactive stepper: one offline page, → and ← walk backprop node by node",
                  lambda p: cg.render_html(trace, p)))
    tasks.append(("steps.txt", "every backprop step as text: the chain rule with its numbers "
                               "(the output of `convgraph step`)", lambda p: _steps_txt(trace, p)))
    return tasks


_MADE_BY = "Made by `convgraph demo`; every file is regenerated the same way each time."


def _ours(out, made_by=_MADE_BY):
    """The files an earlier kit wrote into ``out``, as its index lists them."""
    index = out / "index.md"
    if not index.is_file():
        return set()
    text = index.read_text(encoding="utf-8", errors="replace")
    if made_by not in text:
        return set()
    return set(re.findall(r"^\| \[([^\]]+)\]\(\1\) \|", text, re.M)) | {"index.md", "index.html"}


def _refuse_others(out, names, overwrite, made_by=_MADE_BY):
    """Refuse to replace files the kit did not write, unless told to."""
    if overwrite or not out.is_dir():
        return
    ours = _ours(out, made_by)
    theirs = [n for n in names if (out / n).exists() and n not in ours]
    if theirs:
        more = f" (and {len(theirs) - 1} more)" if len(theirs) > 1 else ""
        raise ValueError(f"{str(out)!r} holds {theirs[0]!r}{more}, which the lecture kit did not write; "
                         f"replace them with overwrite=True (convgraph demo --overwrite) or pick another folder")


def lecture_kit(out="outputs", *, trace=None, dY=None, progress=True, overwrite=False, jobs=None):
    """Write the lecture kit into ``out``: the graph with gradient heat (SVG and PNG), three focus
    views (SVG and PNG), a GIF of every animation scene of the trace (backward as convolutions and
    im2col included), the lesson notebook's clip and the stamp learning's, the interactive HTML
    stepper, the backprop steps as text, and ``index.md`` listing what each file shows.

    Parameters
    ----------
    out : str or Path
        Folder, created if missing.
    trace : Trace, optional
        A traced convolution (default: :data:`~convgraph.lessons.EDGE`, a 5×5 patch with a diagonal
        edge ⊛ the 3×3 Sobel kernel). It is backpropagated with ``dY``.
    dY : array, optional
        Seed gradient shaped like the output (default: EDGE's own dY for the default trace, else
        ones).
    progress : bool
        Show a progress bar on standard error (when it is a terminal).
    overwrite : bool
        Replace files in ``out`` that an earlier kit did not write (by default such a file is refused
        before any work; the kit's own files, listed in its ``index.md``, are always replaced).
    jobs : int, optional
        Files rendered at once, each in its own process (default: one per processor core, where the
        system can fork; 1 renders them one after another in this process).

    Returns
    -------
    list of (Path, str)
        Every file written and what it shows, in the order of ``index.md``.

    Raises
    ------
    ValueError
        If ``out`` cannot be a folder, holds files the kit did not write (without ``overwrite``), or
        ``trace`` holds no convolution.
    OSError
        If ``out`` cannot be written.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    output_path(out / "index.md")  # refuse a path through a file before any work
    if trace is None:
        trace, dY = EDGE.trace(), EDGE.dY if dY is None else dY
    if trace.conv is None:
        raise ValueError("the lecture kit shows a convolution; this trace holds none")
    grads = trace.backward(dY)
    tasks = _tasks(trace, focus_points(trace, grads), dY)
    _refuse_others(out, [name for name, _, _ in tasks] + ["index.md"], overwrite)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(tasks), desc="lecture kit", unit="file", disable=None if progress else True, leave=False)
    _make_all(tasks, out, _check_jobs(jobs), bar)
    bar.close()
    written = [(out / name, what) for name, what, _ in tasks]
    index = _index(trace, grads, written)
    written.append((write_text(out / "index.md", "\n".join(index) + "\n"), "this index"))
    return written


#: The kit's files, slowest first, so that parallel workers finish together.
_SLOW_FIRST = ("graph.gif", "01_conv_backprop.gif", "im2col.gif", "input-grad.gif", "train.gif", "backprop.gif",
               "dx-as-conv.gif", "forward.gif", "weight-grad.gif", "dw-as-conv.gif", "lesson.gif")
_PENDING = []  # the tasks a forked worker runs, by position (inherited, never pickled)


def _check_jobs(jobs):
    if jobs is None:
        return os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    return jobs


def _make_one(k, path):
    """Write task ``k`` of the kit to ``path`` (in this process or a forked worker), and the files of
    the tasks after it that it writes too (theirs is None); returns how many files it wrote."""
    name, _, make = _PENDING[k]
    make(Path(path))
    n = 1
    while k + n < len(_PENDING) and _PENDING[k + n][2] is None:
        n += 1
    for other in [name] + [_PENDING[k + j][0] for j in range(1, n)]:
        if not (Path(path).parent / other).exists():
            raise OSError(f"the renderer returned without writing {Path(path).parent / other}")
    return n


def _make_early(ks, out, send):
    """Write tasks ``ks`` one after another (in a forked process), telling ``send`` each one's file
    count or the exception that stopped it."""
    try:
        for k in ks:
            try:
                send.send(("done", k, _make_one(k, Path(out) / _PENDING[k][0])))
            except Exception as e:  # noqa: BLE001 - handed to the parent, which raises it
                try:
                    send.send(("failed", k, e))
                except Exception:  # noqa: BLE001 - an exception that cannot be pickled
                    send.send(("failed", k, RuntimeError(f"{type(e).__name__}: {e}")))
                return
    finally:
        send.close()


def _collect_early(first, receive, bar):
    """Wait for the early process's files; raise what stopped it."""
    if first is None:
        return
    while True:
        try:
            what, k, value = receive.recv()
        except EOFError:  # it has finished and closed its end
            break
        if what == "failed":
            raise value
        bar.update(value)
        log.info("wrote %s", _PENDING[k][0])
    first.join()
    if first.exitcode:
        raise RuntimeError(f"the process drawing the kit's Graphviz pictures stopped (exit code {first.exitcode})")


def _preload():
    """Import and warm up what every renderer needs (matplotlib, its fonts, Pillow, the scene modules)
    once, before forking, so that no worker pays for it again."""
    import graphviz  # noqa: F401
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patheffects  # noqa: F401
    from matplotlib import font_manager
    from matplotlib.backends import backend_agg  # noqa: F401
    from PIL import GifImagePlugin, Image, PngImagePlugin  # noqa: F401

    from .renderers import diagrams, style  # noqa: F401
    from .renderers.animations import clip, graph_scene, grid_frames, grid_scenes  # noqa: F401
    from .renderers.steppers import html, text  # noqa: F401

    for family in (style.FONT, style.MONO_FONT):
        font_manager.findfont(family)


def _make_all(tasks, out, jobs, bar):
    """Write every task's file into ``out``: in ``jobs`` forked worker processes, slowest first, or one
    after another where there is one job or the system cannot fork."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _PENDING[:] = tasks
    made = [k for k in range(len(tasks)) if tasks[k][2] is not None]  # the rest are written alongside
    order = sorted(made, key=lambda k: (tasks[k][0] not in _SLOW_FIRST,
                                        _SLOW_FIRST.index(tasks[k][0]) if tasks[k][0] in _SLOW_FIRST else k))
    try:
        if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for k in made:  # in the index's order
                bar.set_postfix_str(tasks[k][0])
                bar.update(_make_one(k, out / tasks[k][0]))
                log.info("wrote %s", tasks[k][0])
            return
        ctx = multiprocessing.get_context("fork")
        # Graphviz's pictures need no matplotlib figure: one process draws them at once, on the core
        # that would wait while matplotlib and its fonts load for the clips' workers.
        early = [k for k in order if tasks[k][0].endswith(".svg")]
        order = [k for k in order if k not in early]
        receive, send = ctx.Pipe(duplex=False)
        first = ctx.Process(target=_make_early, args=(early, str(out), send), daemon=True) if early else None
        if first is not None:
            first.start()
        send.close()
        froze = False
        try:
            _preload()
            # Objects made so far are never collected in the workers: frozen, the collector's passes
            # there do not walk them (nor copy their memory pages to write the collector's marks).
            froze = gc.get_freeze_count() == 0  # (a caller's own freeze is left as it was)
            if froze:
                gc.freeze()
            with ProcessPoolExecutor(max_workers=max(min(jobs, len(order)), 1), mp_context=ctx) as pool:
                futures = {pool.submit(_make_one, k, str(out / tasks[k][0])): k for k in order}
                for done in as_completed(futures):
                    bar.update(done.result())
                    log.info("wrote %s", tasks[futures[done]][0])
            _collect_early(first, receive, bar)
        finally:
            if froze:
                gc.unfreeze()  # this process's objects are collected again as before
            if first is not None and first.is_alive():
                first.terminate()
            receive.close()
    finally:
        _PENDING.clear()


def _seed_words(dY):
    """dY as the index states it: ``ones`` or its numbers."""
    dY = np.asarray(dY)
    return "ones" if np.all(dY == 1) else str(dY.tolist())


_RULES = {  # what the kit's title calls the op, and how its dW and dX are made
    "conv2d": ("a 2-D convolution", "dW[u,v] = Σ dY[i,j]·x[i·s+u·d−p, j·s+v·d−p]",
               "for stride 1: the full convolution of dY with w rotated 180°"),
    "conv1d": ("a 1-D convolution", "dW[k] = Σ dY[j]·x[j·s+k·d−p]", "for stride 1: the full convolution of dY with w reversed"),
    "conv_transpose2d": ("a transposed convolution", "dW[u,v] = Σ x[a,b]·dY[a·s+u·d−p, b·s+v·d−p]",
                         "an ordinary convolution of dY with w, stride s"),
}


def _index(trace, grads, written):
    rec = trace.conv
    named = [p for p in PROBLEMS.values() if p.op == rec.spec.op and p.b is None and rec.b is None
             and p.x.shape == rec.x.shape and p.w.shape == rec.w.shape and np.array_equal(rec.x.data, p.x)
             and np.array_equal(rec.w.data, p.w) and p.trace().conv.spec == rec.spec]
    what = f"The {named[0].name} problem: {named[0].title}" if named else "The convolution"
    kind, dw_rule, dx_rule = _RULES[rec.spec.op]
    index = [
        f"# Lecture kit: backprop through {kind}",
        "",
        f"{what}: {trace.describe()}.",
        f"The graph has {trace.graph.number_of_nodes()} nodes "
        f"({', '.join(f'{n} {op}' for op, n in trace.counts().items())}).",
        "",
        f"- y = {trace.y.tolist()}",
        f"- dY = {_seed_words(trace.walk().dY)}  (the seed of backward: ∂loss/∂y)",
        f"- dW = {grads[rec.w.name].tolist()}  ({dw_rule})",
        f"- dX = {grads[rec.x.name].tolist()}  ({dx_rule})",
        "",
        "Open `lesson.html` to step through backprop node by node; `backprop.gif` is the lecture clip.",
        "",
        "| file | what it shows |",
        "| --- | --- |",
    ]
    index += [f"| [{p.name}]({p.name}) | {what} |" for p, what in written]
    index += ["", _MADE_BY]
    return index


class Arithmetic(NamedTuple):
    """One configuration of the convolution-arithmetic guide: its name and the convolution."""

    name: str
    title: str
    op: str
    x: tuple
    w: tuple
    options: dict


#: The configurations of the convolution-arithmetic guide's animations, in its order: convolutions,
#: their transposed counterparts, and dilation.
ARITHMETIC = (
    Arithmetic("no_padding_no_strides", "no padding, no strides", "conv2d", (4, 4), (3, 3), {}),
    Arithmetic("arbitrary_padding_no_strides", "arbitrary padding, no strides", "conv2d", (5, 5), (4, 4),
               {"padding": 2}),
    Arithmetic("same_padding_no_strides", "half (same) padding, no strides", "conv2d", (5, 5), (3, 3), {"padding": 1}),
    Arithmetic("full_padding_no_strides", "full padding, no strides", "conv2d", (5, 5), (3, 3), {"padding": 2}),
    Arithmetic("no_padding_strides", "no padding, strides", "conv2d", (5, 5), (3, 3), {"stride": 2}),
    Arithmetic("padding_strides", "padding, strides", "conv2d", (5, 5), (3, 3), {"stride": 2, "padding": 1}),
    Arithmetic("padding_strides_odd", "padding, strides (odd)", "conv2d", (6, 6), (3, 3), {"stride": 2, "padding": 1}),
    Arithmetic("no_padding_no_strides_transposed", "no padding, no strides, transposed", "conv_transpose2d",
               (2, 2), (3, 3), {}),
    Arithmetic("arbitrary_padding_no_strides_transposed", "arbitrary padding, no strides, transposed",
               "conv_transpose2d", (6, 6), (4, 4), {"padding": 2}),
    Arithmetic("same_padding_no_strides_transposed", "half (same) padding, no strides, transposed",
               "conv_transpose2d", (5, 5), (3, 3), {"padding": 1}),
    Arithmetic("full_padding_no_strides_transposed", "full padding, no strides, transposed", "conv_transpose2d",
               (7, 7), (3, 3), {"padding": 2}),
    Arithmetic("no_padding_strides_transposed", "no padding, strides, transposed", "conv_transpose2d",
               (2, 2), (3, 3), {"stride": 2}),
    Arithmetic("padding_strides_transposed", "padding, strides, transposed", "conv_transpose2d", (3, 3), (3, 3),
               {"stride": 2, "padding": 1}),
    Arithmetic("padding_strides_odd_transposed", "padding, strides, transposed (odd): output padding 1",
               "conv_transpose2d", (3, 3), (3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    Arithmetic("dilation", "no padding, no strides, dilation 2", "conv2d", (7, 7), (3, 3), {"dilation": 2}),
)


def arithmetic_trace(config):
    """The configuration's convolution with small whole numbers: x and dY from a fixed seed, so that
    every panel carries something and every sum can be checked by hand."""
    import convgraph as cg

    rng = np.random.default_rng(sum(map(ord, config.name)))
    x = rng.integers(0, 5, config.x).astype(float)
    w = rng.integers(-1, 2, config.w).astype(float)
    w[(0,) * w.ndim] = 1.0  # never all zero
    trace = cg.trace_op(config.op, x, w, **config.options)
    dY = rng.integers(-2, 3, trace.y.shape).astype(float)
    return trace, dY


def _arithmetic_tasks():
    """Three files per configuration: the forward clip, the backward clip (the input's gradient:
    for a convolution a transposed convolution of dY, for a transposed one a convolution), and a
    focus picture of the input element nearest the centre."""
    import convgraph as cg

    tasks = []
    for k, config in enumerate(ARITHMETIC, 1):
        trace, dY = arithmetic_trace(config)
        stem = f"{k:02d}_{config.name}"
        grads = trace.backward(dY)
        x_focus = focus_points(trace, grads)[2]
        shows = f"{config.title}: {trace.describe()}"
        tasks += [
            (f"{stem}_forward.gif", f"{shows}; the forward pass",
             lambda p, t=trace, d=dY: cg.animate(t, p, scene="forward", dY=d, size="slide-720", progress=False)),
            (f"{stem}_backward.gif", f"{shows}; dX, the input's gradient",
             lambda p, t=trace, d=dY: cg.animate(t, p, scene="input-grad", dY=d, size="slide-720", progress=False)),
            (f"{stem}_focus.png", f"{shows}; {cg.focus(trace, x_focus).description}",
             lambda p, t=trace, f=x_focus: cg.render_graph(t, p, focus=f, size="slide-720")),
        ]
    return tasks


_GALLERY_BY = "Made by `convgraph demo --kit arithmetic`; every file is regenerated the same way each time."


def arithmetic_gallery(out="outputs/arithmetic", *, progress=True, overwrite=False, jobs=None):
    """Write the convolution-arithmetic gallery into ``out``: for every configuration of
    :data:`ARITHMETIC` a forward clip, a backward clip (dX) and a focus picture of one input
    element, all for a 1280×720 slide, with small whole numbers; ``index.md`` and ``index.html``
    say which configuration each file shows.

    Parameters
    ----------
    out : str or Path
        Folder, created if missing.
    progress, overwrite, jobs
        As for :func:`lecture_kit`.

    Returns
    -------
    list of (Path, str)
        Every file written and what it shows, the two indexes last.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    output_path(out / "index.md")
    tasks = _arithmetic_tasks()
    _refuse_others(out, [name for name, _, _ in tasks] + ["index.md", "index.html"], overwrite, _GALLERY_BY)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(tasks), desc="arithmetic gallery", unit="file", disable=None if progress else True,
               leave=False)
    _make_all(tasks, out, _check_jobs(jobs), bar)
    bar.close()
    written = [(out / name, what) for name, what, _ in tasks]
    lines = ["# The convolution-arithmetic gallery, forward and backward", "",
             "Every configuration of the convolution-arithmetic guide's animations, with numbers: a forward clip, "
             "the backward clip of the input's gradient (a convolution's is a transposed convolution of dY, a "
             "transposed convolution's is a convolution) and a focus picture of one input element.", "",
             "| file | configuration |", "| --- | --- |"]
    lines += [f"| [{p.name}]({p.name}) | {what} |" for p, what in written]
    lines += ["", _GALLERY_BY]
    index_md = write_text(out / "index.md", "\n".join(lines) + "\n")
    index_html = write_text(out / "index.html", _gallery_html(written))
    return written + [(index_md, "this index"), (index_html, "the same index as a page showing every clip")]


def _gallery_html(written):
    """One offline page: each configuration's three files side by side, under its title."""
    import html

    rows = []
    for k in range(0, len(written), 3):
        (fwd, what), (bwd, _), (png, _) = written[k:k + 3]
        rows.append(f"<h2>{html.escape(what.split(';')[0])}</h2><div class=row>"
                    + "".join(f'<figure><img src="{p.name}" alt="{html.escape(p.name)}"><figcaption>{label}'
                              f"</figcaption></figure>" for p, label in ((fwd, "forward"), (bwd, "backward: dX"),
                                                                          (png, "focus on one input")))
                    + "</div>")
    return ("<!doctype html><meta charset=utf-8><title>convgraph: the convolution-arithmetic gallery</title>"
            "<style>body{font-family:sans-serif;margin:2em}.row{display:flex;gap:1em;flex-wrap:wrap}"
            "figure{margin:0;width:32%}img{width:100%;border:1px solid #ccc}h2{font-size:1.1em}</style>"
            "<h1>The convolution-arithmetic gallery, forward and backward</h1>" + "".join(rows)
            + f"<p>{html.escape(_GALLERY_BY.replace('`', ''))}</p>\n")
