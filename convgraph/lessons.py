"""The named example problems of the lesson, defined once: the kit, the command line, the examples and
the tests all take them from here.

- ``"lesson"``: x = 0..24 as a 5×5 grid and the 3×3 Sobel kernel, stride 1, no padding, dY of ones.
  The default problem of every ``convgraph`` command and of the lecture kit.
- ``"edge"``: a 5×5 image patch crossed by a bright diagonal edge, the same Sobel kernel and a dY of
  mixed signs: y, dY, dW and dX all vary, so every panel of every picture carries something. The
  default problem of the lecture kit (``convgraph demo``).
- ``"seed-clip"``: the original lesson notebook's clip, an 8×8 input 0..63 and the 2×2 kernel
  [[1, -1], [2, 0]] (``anim_conv_backprop()``: one frame per output position).
- ``"signal"``: conv1d of an 8-sample signal with a rise and a fall by the difference kernel
  [1, 0, -1], padding 1, and a dY of mixed signs: the simplest convolution to draw on a board
  (``--op conv1d``).
- ``"upsample"``: conv_transpose2d of a 2×2 input by a 3×3 tent kernel, stride 2, padding 1, output
  padding 1: a decoder's 2× upsampling, 2×2 to 4×4 (``--op conv_transpose2d``).

>>> PROBLEMS["lesson"].trace().y.shape
(3, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tracer import trace_op

__all__ = ["Problem", "PROBLEMS", "LESSON", "EDGE", "SEED_CLIP", "SIGNAL", "UPSAMPLE", "ARRAYS", "problem",
           "lesson_arrays", "default_for", "stamp_learning"]


def _frozen(array):
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Problem:
    """One named convolution problem: arrays, options and ``title``, the words that introduce it."""

    name: str
    title: str
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None = None
    options: dict = field(default_factory=dict)  # stride, padding, dilation, groups (output_padding)
    dY: np.ndarray | None = None  # the seed of backward, shaped like y; None: ones
    op: str = "conv2d"  # or "conv1d", "conv_transpose2d"

    def trace(self, **limits):
        """A fresh :class:`~convgraph.tracer.trace.Trace` of the problem (``max_nodes`` may be given)."""
        return trace_op(self.op, self.x, self.w, self.b, **self.options, **limits)

    def arrays(self):
        """(x, w) as writable copies."""
        return self.x.copy(), self.w.copy()


LESSON = Problem(
    "lesson", "x = 0..24 as a 5×5 grid, the 3×3 Sobel kernel, stride 1, no padding",
    _frozen(np.arange(25).reshape(5, 5)),  # (H, W)
    _frozen([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),  # (KH, KW)
)
SEED_CLIP = Problem(
    "seed-clip", "an 8×8 input 0..63 and the 2×2 kernel [[1, -1], [2, 0]]",
    _frozen(np.arange(64).reshape(8, 8)),
    _frozen([[1, -1], [2, 0]]),
)
EDGE = Problem(
    "edge", "a 5×5 image patch with a diagonal edge, the 3×3 Sobel kernel, dY of mixed signs",
    _frozen([[1, 1, 2, 7, 8],  # dark at the top left, bright at the bottom right
             [1, 2, 6, 8, 9],
             [0, 5, 7, 9, 8],
             [4, 7, 8, 9, 9],
             [6, 8, 9, 8, 9]]),
    LESSON.w,
    dY=_frozen([[1, -1, 2],
                [0, 2, -1],
                [-2, 1, 1]]),
)
SIGNAL = Problem(
    "signal", "an 8-sample signal with a rise and a fall, the difference kernel [1, 0, -1], padding 1",
    _frozen([0, 0, 2, 6, 6, 6, 3, 0]),
    _frozen([1, 0, -1]),
    options={"padding": 1},
    dY=_frozen([1, 0, -1, 2, 1, -2, 0, 1]),
    op="conv1d",
)
UPSAMPLE = Problem(
    "upsample", "a 2×2 input stamped through a 3×3 tent kernel, stride 2, padding 1, output padding 1: "
                "2×2 up to 4×4",
    _frozen([[1, 2], [3, 4]]),
    _frozen([[1, 2, 1], [2, 4, 2], [1, 2, 1]]),
    options={"stride": 2, "padding": 1, "output_padding": 1},
    op="conv_transpose2d",
)
#: Every named problem, by name.
PROBLEMS = {p.name: p for p in (LESSON, EDGE, SEED_CLIP, SIGNAL, UPSAMPLE)}

#: Named arrays the command line takes for ``--input`` and ``--kernel`` (``--kernel sobel``).
ARRAYS = {
    "ramp": LESSON.x,  # 0..24 as 5×5: the lesson's input
    "ramp8": SEED_CLIP.x,  # 0..63 as 8×8: the seed clip's input
    "edge": EDGE.x,  # 5×5: an image patch crossed by a diagonal edge (the kit's input)
    "sobel": LESSON.w,  # the 3×3 Sobel kernel (horizontal change): the lesson's kernel
    "laplace": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),  # 3×3: the second difference
    "seed": SEED_CLIP.w,  # 2×2 [[1, -1], [2, 0]]: the seed clip's kernel
    "signal": SIGNAL.x,  # 8 samples with a rise and a fall (1-D)
    "diff": SIGNAL.w,  # [1, 0, -1]: the 1-D difference kernel
    "tent": UPSAMPLE.w,  # 3×3 [[1, 2, 1], [2, 4, 2], [1, 2, 1]]: the upsampling kernel
}


def problem(name):
    """The :class:`Problem` called ``name`` (a key of :data:`PROBLEMS`).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if name not in PROBLEMS:
        raise ValueError(f"no problem named {name!r}; there are {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


def default_for(op):
    """The problem a command shows for ``op`` when given no arrays: the lesson, the signal or the
    upsampling."""
    return {"conv2d": LESSON, "conv1d": SIGNAL, "conv_transpose2d": UPSAMPLE}[op]


def lesson_arrays():
    """The lesson's (x, w): x = 0..24 as 5×5 and the 3×3 Sobel kernel, as writable copies."""
    return LESSON.arrays()


def stamp_learning(steps=60, lr=0.02):
    """The stamp learning's example: a random 3×3 kernel learning the lesson's Sobel kernel from three
    6×6 images of small whole numbers (a fixed seed), by :func:`~convgraph.tracer.fit.fit_kernel`.

    >>> h = stamp_learning(steps=60)
    >>> round(h.losses[0], 1), h.losses[-1] < 0.05
    (53.4, True)
    """
    from .tracer import conv2d_forward, fit_kernel

    rng = np.random.default_rng(3)
    images = rng.integers(0, 5, (3, 1, 6, 6)).astype(float)
    target = conv2d_forward(images, LESSON.w.reshape(1, 1, 3, 3))
    return fit_kernel(images, target, rng.standard_normal((1, 1, 3, 3)) * 0.5, lr=lr, steps=steps)
