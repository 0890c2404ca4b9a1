"""The named example problems of the lesson, defined once: the kit, the command line, the examples and
the tests all take them from here.

- ``"lesson"``: x = 0..24 as a 5×5 grid and the 3×3 Sobel kernel, stride 1, no padding, dY of ones.
  The default problem of every ``convgraph`` command and of the lecture kit.
- ``"seed-clip"``: the original lesson notebook's clip, an 8×8 input 0..63 and the 2×2 kernel
  [[1, -1], [2, 0]] (``anim_conv_backprop()``: one frame per output position).

>>> PROBLEMS["lesson"].trace().y.shape
(3, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tracer import trace_conv2d

__all__ = ["Problem", "PROBLEMS", "LESSON", "SEED_CLIP", "problem", "lesson_arrays"]


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
    options: dict = field(default_factory=dict)  # stride, padding, dilation, groups

    def trace(self, **limits):
        """A fresh :class:`~convgraph.tracer.trace.Trace` of the problem (``max_nodes`` may be given)."""
        return trace_conv2d(self.x, self.w, self.b, **self.options, **limits)

    def arrays(self):
        """(x, w) as writable copies."""
        return self.x.copy(), self.w.copy()


LESSON = Problem(
    "lesson", "x = 0..24 as a 5×5 grid, the 3×3 Sobel kernel, stride 1, no padding",
    _frozen(np.arange(25).reshape(5, 5)),  # (H, W)
    _frozen([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),  # (KH, KW)
)
SEED_CLIP = Problem(
    "seed-clip", "the lesson notebook's clip: an 8×8 input 0..63 and the 2×2 kernel [[1, -1], [2, 0]]",
    _frozen(np.arange(64).reshape(8, 8)),
    _frozen([[1, -1], [2, 0]]),
)
#: Every named problem, by name.
PROBLEMS = {p.name: p for p in (LESSON, SEED_CLIP)}


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


def lesson_arrays():
    """The lesson's (x, w): x = 0..24 as 5×5 and the 3×3 Sobel kernel, as writable copies."""
    return LESSON.arrays()
