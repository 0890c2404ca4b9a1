"""Lecture animations of a traced convolution as a GIF, an MP4 or a folder of PNG frames.

Scenes: ``"forward"`` (the window slides over x, y fills in), ``"weight-grad"`` (dW builds up from
dY times the patches), ``"input-grad"`` (dX by scattering dY·W, then by the kernel rotated 180°
sliding over the dilated, zero-padded dY), ``"backprop"`` (forward then backward, all six tensors)
and ``"graph"`` (the computational graph backpropagating node by node). ``"lesson"`` is the lesson
notebook's two panels (forward window beside dW accumulating). The table of scenes is
:data:`~convgraph.renderers.animations.catalog.SCENE_TABLE`.

One figure is drawn once; every frame restores its background and redraws only what changed
(blitting), then the frames go to one encoder: a GIF with one shared palette through Pillow, an MP4
through imageio-ffmpeg, or numbered PNGs, written to a temporary name and renamed into place.
"""

from __future__ import annotations

import importlib
import logging
import numbers
from pathlib import Path

import numpy as np

from .. import style
from . import encoding
from .catalog import SCENE_TABLE, SCENES

__all__ = ["SCENES", "animate", "anim_conv_backprop", "build_frames", "frame_seconds", "auto_pace"]

log = logging.getLogger(__name__)


def _check_dpi(dpi):
    if isinstance(dpi, bool) or not isinstance(dpi, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"dpi must be a number, got {type(dpi).__name__}: {dpi!r}")
    dpi = float(dpi)
    if not (10 <= dpi <= 600):
        raise ValueError(f"dpi must be between 10 and 600, got {dpi!r}")
    return dpi


def _seconds_option(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}: {value!r}")
    value = float(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g} seconds, got {value!r}")
    return value


def auto_pace(frames):
    """Seconds a frame shows by default: one a second for a lesson-sized clip, faster for long ones,
    so that a clip lasts about 40 s at most (and never faster than ten frames a second).

    >>> auto_pace(9), auto_pace(80), auto_pace(400)
    (1.0, 0.5, 0.1)
    """
    return min(1.0, max(0.1, 40.0 / max(frames, 1)))


def frame_seconds(frames, *, pace=None, pause=1.0, hold=2.0):
    """How long each frame shows: ``pace`` each (default :func:`auto_pace`), ``pause`` more where
    one phase ends and another begins (forward → backward, scatter → gather, the seed → the walk),
    and ``hold`` more on the last frame."""
    pace = auto_pace(len(frames)) if pace is None else pace
    phase = [getattr(f, "phase", None) or f.caption for f in frames]
    seconds = [pace] * len(frames)
    for k in range(len(frames) - 1):
        if phase[k] != phase[k + 1]:
            seconds[k] += pause
    if seconds:
        seconds[-1] += hold
    return seconds


def _check_options(trace, scene, fps, dpi, max_frames, numbers_):
    from ...tracer import FitHistory, Trace

    if not isinstance(trace, (Trace, FitHistory)):
        raise TypeError(f"trace must be a convgraph Trace (or a fit_kernel history for scene='train'), got "
                        f"{type(trace).__name__}")
    if not isinstance(scene, str):
        raise TypeError(f"scene must be a str, one of {SCENES}, got {type(scene).__name__}: {scene!r}")
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    if (scene == "train") != isinstance(trace, FitHistory):
        raise ValueError("scene 'train' animates a fit_kernel history, and a history only that scene: "
                         f"got scene={scene!r} with a {type(trace).__name__}")
    fps = None if fps is None else encoding.check_fps(fps)
    dpi = _check_dpi(dpi)
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)):
        raise TypeError(f"max_frames must be an int, got {type(max_frames).__name__}: {max_frames!r}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be positive, got {max_frames!r}")
    if numbers_ is not None and not isinstance(numbers_, bool):
        raise TypeError(f"numbers must be True, False or None (automatic), got {numbers_!r}")
    if scene not in ("graph", "train") and trace.conv is None:
        raise ValueError(f"scene {scene!r} needs a traced convolution; this trace has none (try scene='graph')")
    return fps, dpi, int(max_frames)


def _builder(scene, transposed=False):
    entry = SCENE_TABLE[scene]
    module, _, function = (entry.transposed if transposed else entry.builder).partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def _check_grid(spec, scene):
    """Refuse, before building anything, a grid scene whose grids have more cells than a frame shows."""
    from .. import style

    if spec.transposed and not SCENE_TABLE[scene].transposed:
        raise ValueError(f"scene {scene!r} draws a convolution's column matrix; a transposed convolution's is the "
                         f"one its input gradient uses (animate that convolution, or scene='forward')")
    limit = style.ANIM["max_grid_cells"]
    if spec.transposed:  # the uncropped output, and x′ (the gather grid)
        padded = spec.N * spec.O * (spec.OH + spec.padding[0] + spec.padding[1]) * (spec.OW + spec.padding[2] + spec.padding[3])
        dilated = spec.N * spec.C * (spec.OH + (spec.KH - 1) * spec.dilation[0]) * (spec.OW + (spec.KW - 1) * spec.dilation[1])
        grids, big = "the output and x′", scene == "forward"  # its gather grid is the biggest
    else:
        padded = spec.N * spec.C * (spec.H + spec.padding[0] + spec.padding[1]) * (spec.W + spec.padding[2] + spec.padding[3])
        dilated = spec.N * spec.O * (spec.H + (spec.KH - 1) * spec.dilation[0]) * (spec.W + (spec.KW - 1) * spec.dilation[1])
        grids, big = "x and dY′", scene in ("input-grad", "dx-as-conv")
    cells = max(padded, dilated if big else 0)
    if cells > limit:
        raise ValueError(f"scene {scene!r} draws every cell of {grids if big else grids.split(' and ')[0]}: "
                         f"{cells:,} cells, more than {limit:,} (each would be under a pixel); animate a smaller "
                         f"input, or scene='graph'")


def _check_pixels(width_in, height_in, dpi):
    """Refuse frames bigger than the pixel budget, naming the dpi that fits."""
    from .. import style

    max_w, max_h = style.ANIM["max_px"]
    w, h = width_in * dpi, height_in * dpi
    if w > max_w or h > max_h:
        fits = int(min(max_w / width_in, max_h / height_in))
        raise ValueError(f"frames would be {w:,.0f}×{h:,.0f} px at dpi={dpi:g}, more than {max_w:,}×{max_h:,}; "
                         f"use dpi={fits} or less")


def build_frames(trace, scene="backprop", *, dY=None, dpi=100, max_frames=400, numbers=None, graph_steps=None,
                 fit=None):
    """The renderer and the frame list of ``scene``, without writing anything (tests and notebooks).

    The trace is only read: the backward pass is ``trace.walk(dY)`` (default: the trace's last seed,
    else ones). With ``fit`` = (width, height) pixels, the drawing is made at the dpi that fills them
    as far as its shape allows, instead of at ``dpi``.

    Returns
    -------
    (renderer, frames)
        ``renderer.render(frame)`` gives an (H, W, 3) uint8 array; ``frames`` a list of frame
        records (for grid scenes :class:`~convgraph.renderers.animations.grid_scenes.Frame`, with the
        scene as ``renderer.scene``; for ``"graph"``, frame k shows step k of the walk).
    """
    _, dpi, max_frames = _check_options(trace, scene, 10, dpi, max_frames, numbers)
    if fit is not None and not (isinstance(fit, tuple) and len(fit) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 16 <= v <= 7680 for v in fit)):
        raise ValueError(f"fit must be None or (width, height) in pixels, each from 16 to 7680, got {fit!r}")
    if scene == "train":  # a fit_kernel history: one frame per step
        from .grid_frames import GridRenderer
        from .train_scene import train_scene

        sc = train_scene(trace, max_frames)
        return GridRenderer(sc, dpi=dpi, numbers=numbers, check=_check_pixels, fit=fit), sc.frames
    walk = trace.walk(dY)
    if scene == "graph":
        return _builder(scene)(trace, walk, dpi=dpi, max_frames=max_frames, numbers=numbers, stride=graph_steps,
                               check=_check_pixels, fit=fit)
    from .grid_frames import GridRenderer

    _check_grid(trace.conv.spec, scene)
    conv_dY = walk.final[trace.conv.y.nodes]  # the gradient reaching the first convolution's output
    sc = _builder(scene, trace.conv.spec.transposed)(trace.conv, conv_dY, max_frames)
    renderer = GridRenderer(sc, dpi=dpi, numbers=numbers, check=_check_pixels, fit=fit)
    return renderer, sc.frames


class _Letterbox:
    """A renderer whose frames are centred on a background of exactly ``size`` (width, height) pixels."""

    def __init__(self, renderer, size):
        self.inner, (self.width, self.height) = renderer, size
        self.size = (self.height, self.width)
        self.background = tuple(int(v) for v in np.round(np.array(style.to_rgba(style.BACKGROUND)[:3]) * 255))

    def render(self, frame):
        return self._place(self.inner.render(frame))

    def render_rgba(self, frame):
        return self._place(self.inner.render_rgba(frame))

    def _place(self, pixels):
        if pixels.shape[:2] == self.size:  # drawn at the slide's size already
            return pixels
        return encoding.on_screen(pixels, (self.width, self.height, self.background))[0]  # the encoder's letterbox

    def palette_colors(self):
        return self.inner.palette_colors()

    def close(self):
        self.inner.close()


def _check_size(size):
    if size is not None and not isinstance(size, str):
        raise TypeError(f"size must be None, 'slide' or 'slide-720', got {type(size).__name__}: {size!r}")
    if size is not None and size not in style.SIZES:
        raise ValueError(f"size must be None, 'slide' or 'slide-720', got {size!r}")
    return size


def _frames_for(trace, scene, size, dpi, **options):
    """build_frames, and for a slide size the drawing at the dpi that fills the slide (one build, the
    dpi worked out from the figure's inches first), each frame centred on exactly that many pixels."""
    if size is None:
        return build_frames(trace, scene, dpi=dpi, **options)
    width, height = style.SIZES[size]
    renderer, frames = build_frames(trace, scene, dpi=dpi, fit=(width, height), **options)
    return _Letterbox(renderer, (width, height)), frames


def animate(trace, path, *, scene=None, dY=None, pace=None, pause=1.0, hold=2.0, fps=None, dpi=100,
            size=None, max_frames=400, numbers=None, graph_steps=None, progress=None):
    """Render a lecture animation of ``trace`` to ``path`` (``.gif``, ``.mp4`` or a PNG folder).

    Parameters
    ----------
    trace : Trace or FitHistory
        A traced convolution (``trace_conv2d`` or a Recorder chain; conv scenes show its first
        convolution). Any trace for ``scene="graph"``. A :func:`~convgraph.tracer.fit.fit_kernel`
        history for ``scene="train"``.
    path : str or os.PathLike
        ``*.gif`` (looping, one shared palette), ``*.mp4`` (needs imageio-ffmpeg) or a folder without
        suffix, which receives ``frame_0000.png``, ``frame_0001.png``, ...
    scene : str, optional
        ``"backprop"`` (the default for a trace), ``"forward"``, ``"weight-grad"``, ``"input-grad"``,
        ``"graph"``, ``"lesson"``, ``"dw-as-conv"``, ``"dx-as-conv"``; ``"train"`` (the default and the
        only scene for a :func:`~convgraph.tracer.fit.fit_kernel` history passed as ``trace``).
    dY : array, optional
        Seed of the backward pass, shaped like the trace's output. Default: the trace's last seed if
        it has gradients, else ones. The trace is only read (``trace.walk(dY)``).
    pace : float, optional
        Seconds each frame shows (each position of the window, each backprop step). Default: one a
        second for a lesson-sized clip, faster for long ones, so no clip passes about 40 s
        (:func:`auto_pace`).
    pause : float
        Seconds more where one phase ends and the next begins (forward → backward, scatter →
        gather, before backprop → the walk). Default 1.
    hold : float
        Seconds more on the last frame, before the clip loops. Default 2.
    fps : float, optional
        A fixed frame rate (0.01 to 100): each frame is repeated to last its time. Default: a GIF
        gives each frame its own duration; an MP4 runs at 15 frames a second.
    dpi : float
        Pixels per inch of the figure (the figure is sized in inches for a 16:9 slide).
    size : {None, "slide", "slide-720"}
        Frames of exactly 1920×1080 (1280×720) pixels: the drawing at the resolution that fills the
        slide (``dpi`` scaled up or down), centred on the background.
    max_frames : int
        Longer clips advance several positions (or graph steps) per frame; the last frame always
        shows the complete result.
    numbers : bool, optional
        Numbers in cells; default: when the cells are large enough to read them.
    graph_steps : int, optional
        ``scene="graph"``: backprop steps per frame (default 1, or more to stay within max_frames).
    progress : bool, optional
        tqdm progress bar; default: only when stderr is a terminal.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError, ValueError
        For a bad trace, scene, pace, pause, hold, fps, dpi, max_frames, numbers or path suffix
        (naming the value).
    ImportError
        For ``.mp4`` without imageio-ffmpeg.
    """
    from ...tracer import FitHistory

    fmt = encoding.output_format(path)
    if scene is None:
        scene = "train" if isinstance(trace, FitHistory) else "backprop"
    fps, dpi, max_frames = _check_options(trace, scene, fps, dpi, max_frames, numbers)
    pace = None if pace is None else _seconds_option("pace", pace, 0.02, 60)
    pause, hold = _seconds_option("pause", pause, 0, 60), _seconds_option("hold", hold, 0, 60)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None (automatic), got {progress!r}")
    if graph_steps is not None and scene != "graph":
        raise ValueError(f"graph_steps applies to scene='graph' only, got scene={scene!r}")
    if fmt == "mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as e:
            raise ImportError("writing .mp4 needs imageio-ffmpeg: pip install 'convgraph[mp4]' "
                              "(or pip install imageio-ffmpeg)") from e
    renderer, frames = _frames_for(trace, scene, _check_size(size), dpi, dY=dY, max_frames=max_frames,
                                   numbers=numbers, graph_steps=graph_steps)
    try:
        palette, drawn, screen = None, {}, None
        if fmt == "gif":  # encoded from RGBA, letterboxed by the encoder (one copy, not one a frame)
            if isinstance(renderer, _Letterbox):
                screen = (renderer.width, renderer.height, renderer.background)
                renderer = renderer.inner
            drawn = {k: renderer.render_rgba(frames[k]) for k in sorted({0, len(frames) // 2, len(frames) - 1})}
            palette = encoding.shared_palette([a[..., :3] for a in drawn.values()], fixed=renderer.palette_colors())
        seconds = frame_seconds(frames, pace=pace, pause=pause, hold=hold)
        draw = renderer.render_rgba if fmt == "gif" else renderer.render
        pixels = (drawn.pop(k) if k in drawn else draw(f) for k, f in enumerate(frames))  # samples drawn once
        out = encoding.write_frames(pixels, path, seconds=seconds, fps=fps, total=len(frames), palette=palette,
                                    progress=progress, screen=screen)
    finally:
        renderer.close()
    log.info("%s: %d frames of scene %r", out, len(frames), scene)
    return Path(out)


def anim_conv_backprop(dY=None, fps=15, *, path="outputs/01_conv_backprop.gif", dpi=100, size=None):
    """The lesson notebook's clip (:data:`convgraph.lessons.SEED_CLIP`): the 8×8 input, kernel
    [[1, -1], [2, 0]], one picture per output position, the forward window beside dW accumulating.
    Writes ``outputs/01_conv_backprop.gif``, at ``fps`` frames a second and the lecture pace of
    :func:`animate` (each position shows for about a second; the last is held).

    Parameters
    ----------
    dY : array (7, 7), optional
        Upstream gradient; default ones.
    fps : float
        The clip's frame rate (each position is repeated to last its time).
    path : str or os.PathLike
    dpi : float
    size : {None, "slide", "slide-720"}
        As for :func:`animate`.

    Returns
    -------
    pathlib.Path
    """
    from ...lessons import SEED_CLIP

    return animate(SEED_CLIP.trace(), path, scene="lesson", dY=dY, fps=fps, dpi=dpi, size=size)
