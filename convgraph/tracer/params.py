"""Checking and normalising the arguments of a 2-D convolution: shapes, stride, padding, dilation, groups."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ConvSpec", "conv_spec", "as_array", "shape_text", "DEFAULT_MAX_NODES", "MAX_TAPS", "MAX_INT"]

#: Default ceiling on the number of scalar nodes one trace may hold (about 2 GB of graph).
DEFAULT_MAX_NODES = 2_000_000
#: conv2d refuses to examine more (output, kernel tap) pairs than this, padding taps included (about
#: 1 GB of index tables while tracing).
MAX_TAPS = 20_000_000
#: Sizes, strides, dilations and paddings above this are refused (numpy's int64 index arithmetic).
MAX_INT = 2**31 - 1


def as_array(name, value, ndims=None):
    """Return ``value`` as a finite float64 array, or raise naming ``name``.

    >>> as_array("x", [[1, 2], [3, 4]]).dtype
    dtype('float64')
    """
    if np.ma.isMaskedArray(value) and np.ma.getmaskarray(value).any():
        raise TypeError(f"{name} is a masked array with masked values, which would be lost: fill them "
                        f"first ({name}.filled(0))")
    try:
        arr = np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {e}") from e
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a numeric array (int or float), got dtype {arr.dtype}")
    if ndims is not None and arr.ndim not in ndims:
        allowed = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite, got {arr[where]} at index {where}")
    return arr


def _positive_pair(name, value):
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if max(pair) > MAX_INT:
        raise ValueError(f"{name} must be at most {MAX_INT:,}, got {value!r}")
    return pair


def shape_text(shape):
    """A shape as captions write it: ``5×5``, ``2×3×6×6``; ``scalar`` for ().

    >>> shape_text((2, 3, 6, 6)), shape_text(())
    ('2×3×6×6', 'scalar')
    """
    return "×".join(str(int(s)) for s in shape) or "scalar"


def _pair_text(pair):
    """(2, 2) -> '2', (1, 2) -> '1,2': as the command line takes them."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _padding(value, kernel, dilation, stride):
    """Padding as (top, bottom, left, right)."""
    if isinstance(value, str):
        if value == "valid":
            return (0, 0, 0, 0)
        if value == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride={stride}")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]  # the odd pixel goes bottom/right, as in PyTorch
            return tuple(pads)
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {value!r}")
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        ph = pw = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value
    ):
        ph, pw = int(value[0]), int(value[1])
    else:
        raise TypeError(f"padding must be an int, a pair, 'valid' or 'same', got {value!r}")
    if min(ph, pw) < 0:
        raise ValueError(f"padding must be non-negative, got {value!r}")
    if max(ph, pw) > MAX_INT:
        raise ValueError(f"padding must be at most {MAX_INT:,}, got {value!r}")
    return (ph, ph, pw, pw)


def _axis_taps(size, out, k, stride, dilation, pad_before):
    """Input coordinate of output i, kernel tap u along one axis, and whether it is real (not padding)."""
    coord = np.arange(out)[:, None] * stride + np.arange(k)[None, :] * dilation - pad_before  # (out, k)
    return coord, (coord >= 0) & (coord < size)


def _axis_counts(size, out, k, stride, dilation, pad_before):
    """Along one axis, by arithmetic alone (no arrays, any size): the (output, tap) pairs whose input
    coordinate i·stride + u·dilation − pad is real, and how many outputs have at least one."""
    intervals = []
    for u in range(k):
        off = u * dilation - pad_before
        lo = max(0, -((off) // stride))  # the first i with i·stride + off ≥ 0
        hi = min(out - 1, (size - 1 - off) // stride)  # the last i with i·stride + off < size
        if hi >= lo:
            intervals.append((lo, hi))
    pairs = sum(hi - lo + 1 for lo, hi in intervals)
    covered, end = 0, -1
    for lo, hi in sorted(intervals):
        if hi > end:
            covered += hi - max(lo, end + 1) + 1
            end = hi
    return pairs, covered


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of one convolution, in the (N, C, H, W) ⊛ (O, C/groups, KH, KW) form."""

    N: int
    C: int
    H: int
    W: int
    O: int
    KH: int
    KW: int
    groups: int
    stride: tuple
    dilation: tuple
    padding: tuple  # (top, bottom, left, right)
    OH: int
    OW: int
    x_shape: tuple  # the shapes as the caller gave them
    w_shape: tuple
    has_bias: bool

    @property
    def Cg(self):
        """Input channels seen by each filter."""
        return self.C // self.groups

    @property
    def y_shape(self):
        """Output shape in the caller's form: 2-D in, 2-D out."""
        shape = [self.N, self.O, self.OH, self.OW]
        if len(self.w_shape) == 2:
            del shape[1]
        if len(self.x_shape) < 4:
            del shape[0]
        return tuple(shape)

    def taps(self):
        """Per axis: input coordinates (out, k) and the mask of real (non-padding) taps."""
        rows, rows_ok = _axis_taps(self.H, self.OH, self.KH, self.stride[0], self.dilation[0], self.padding[0])
        cols, cols_ok = _axis_taps(self.W, self.OW, self.KW, self.stride[1], self.dilation[1], self.padding[2])
        return rows, rows_ok, cols, cols_ok

    # ---- channels and groups -------------------------------------------------------------------
    @property
    def Og(self):
        """Output channels (filters) of each group."""
        return self.O // self.groups

    def in_channels(self, o):
        """The input channels filter ``o`` reads: its group's, ``range(g·C/groups, (g+1)·C/groups)``."""
        g = o // self.Og
        return range(g * self.Cg, (g + 1) * self.Cg)

    def out_channels(self, c):
        """The output channels (filters) input channel ``c`` feeds: every filter of its group."""
        g = c // self.Cg
        return range(g * self.Og, (g + 1) * self.Og)

    def wiring(self):
        """Every (input channel c, output channel o) pair where c feeds o: all pairs for groups=1,
        within each group otherwise.

        >>> conv_spec((4, 5, 5), (2, 2, 3, 3), groups=2).wiring()
        ((0, 0), (1, 0), (2, 1), (3, 1))
        """
        return tuple((c, o) for o in range(self.O) for c in self.in_channels(o))

    # ---- the caller's leading indices --------------------------------------------------------
    def x_lead(self, n, c):
        """The leading index of input slice (n, c) in the caller's x shape: (n, c), (c,) or ()."""
        return ((n,) if len(self.x_shape) == 4 else ()) + ((c,) if len(self.x_shape) >= 3 else ())

    def w_lead(self, o, c):
        """The leading index of kernel slice (o, c) in the caller's w shape: (o, c) or ()."""
        return (o, c) if len(self.w_shape) == 4 else ()

    def y_lead(self, n, o):
        """The leading index of output slice (n, o) in the caller's y shape: (n, o), (o,), (n,) or ()."""
        return ((n,) if len(self.x_shape) == 4 else ()) + ((o,) if len(self.w_shape) == 4 else ())

    def lead_names(self, tensor):
        """Names of the leading axes of ``"x"``, ``"w"`` or ``"y"`` in the caller's shape, e.g. ("n", "c")."""
        return {"x": ("n", "c")[4 - len(self.x_shape):] if len(self.x_shape) > 2 else (),
                "w": ("o", "c") if len(self.w_shape) == 4 else (),
                "y": (("n",) if len(self.x_shape) == 4 else ()) + (("o",) if len(self.w_shape) == 4 else ())}[tensor]

    def window(self, i, j):
        """Input rows and columns under output (i, j)'s kernel taps (negative or past the edge on
        padding): two int arrays, (KH,) and (KW,)."""
        rows = i * self.stride[0] + np.arange(self.KH) * self.dilation[0] - self.padding[0]
        cols = j * self.stride[1] + np.arange(self.KW) * self.dilation[1] - self.padding[2]
        return rows, cols

    # ---- words -------------------------------------------------------------------------------
    def options(self, every=False):
        """The options that differ from the defaults (``every``: all four), as a lecturer says them:
        ``["stride 2", "padding 1"]``; padding is one number when all four sides agree.

        >>> conv_spec((5, 5), (3, 3)).options(every=True)
        ['stride 1', 'padding 0', 'dilation 1', 'groups 1']
        """
        s = self
        t, b, l, r = s.padding
        pad = (f"padding {t}" if len(set(s.padding)) == 1 else
               f"padding {t},{l}" if (t, l) == (b, r) else f"padding top {t}, bottom {b}, left {l}, right {r}")
        out = [(s.stride != (1, 1), f"stride {_pair_text(s.stride)}"), (any(s.padding), pad),
               (s.dilation != (1, 1), f"dilation {_pair_text(s.dilation)}"), (s.groups != 1, f"groups {s.groups}")]
        return [text for differs, text in out if differs or every]

    def describe(self):
        """The convolution in one line, as every caption states it:
        ``x 5×5 ⊛ w 3×3 → y 3×3`` (options that differ from the defaults in brackets).

        >>> conv_spec((2, 6, 6), (2, 2, 3, 3), (2,), stride=2, padding=1).describe()
        'x 2×6×6 ⊛ w 2×2×3×3 + b → y 2×3×3 (stride 2, padding 1)'
        """
        head = (f"x {shape_text(self.x_shape)} ⊛ w {shape_text(self.w_shape)}{' + b' if self.has_bias else ''}"
                f" → y {shape_text(self.y_shape)}")
        extras = self.options()
        return head + (f" ({', '.join(extras)})" if extras else "")

    def _counts(self):
        rows = _axis_counts(self.H, self.OH, self.KH, self.stride[0], self.dilation[0], self.padding[0])
        cols = _axis_counts(self.W, self.OW, self.KW, self.stride[1], self.dilation[1], self.padding[2])
        return rows, cols

    @property
    def macs(self):
        """Multiply-adds whose input element is real (padding taps excluded), by arithmetic alone."""
        (rows, _), (cols, _) = self._counts()
        return self.N * self.O * self.Cg * rows * cols

    def node_estimate(self):
        """Scalar nodes that tracing this convolution creates: inputs, weights, bias, one ``mul`` per
        multiply-add and one ``add`` per multiply-add (less the first of each sum without bias); an
        output whose taps all fall on padding is a ``const`` 0 (plus an ``add`` of the bias).
        Counted by arithmetic on the shapes, so that a trace too big to build is refused before any
        array is allocated."""
        (_, rows_covered), (_, cols_covered) = self._counts()
        outputs = self.N * self.O * self.OH * self.OW
        nonempty = self.N * self.O * rows_covered * cols_covered
        empty = outputs - nonempty
        leaves = self.N * self.C * self.H * self.W + self.O * self.Cg * self.KH * self.KW
        if self.has_bias:
            return leaves + self.O + 2 * self.macs + 2 * empty
        return leaves + 2 * self.macs - nonempty + empty


def conv_spec(x_shape, w_shape, b_shape=None, *, stride=1, padding=0, dilation=1, groups=1):
    """Check a convolution's arguments and return its :class:`ConvSpec`.

    Raises ``ValueError``/``TypeError`` naming the offending parameter and value.

    >>> conv_spec((5, 5), (3, 3)).y_shape
    (3, 3)
    """
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) not in (2, 3, 4):
        raise ValueError(f"x must be (H, W), (C, H, W) or (N, C, H, W), got shape {x_shape}")
    if len(w_shape) not in (2, 4):
        raise ValueError(f"w must be (KH, KW) or (O, C/groups, KH, KW), got shape {w_shape}")
    N, C, H, W = (1,) * (4 - len(x_shape)) + x_shape  # (H, W) is one channel, (C, H, W) one sample
    O, Cw, KH, KW = (1, 1, *w_shape) if len(w_shape) == 2 else w_shape
    if min(N, C, H, W) < 1:
        raise ValueError(f"x must not be empty, got shape {x_shape}")
    if min(O, Cw, KH, KW) < 1:
        raise ValueError(f"w must not be empty, got shape {w_shape}")
    if not isinstance(groups, (numbers.Integral, np.integer)) or isinstance(groups, (bool, np.bool_)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    if groups > MAX_INT:
        raise ValueError(f"groups must be at most {MAX_INT:,}, got {groups}")
    if C % groups:
        raise ValueError(f"groups={groups} must divide the input channels C={C} (x shape {x_shape})")
    if O % groups:
        raise ValueError(f"groups={groups} must divide the output channels O={O} (w shape {w_shape})")
    if Cw * groups != C:
        raise ValueError(
            f"channel mismatch: x has C={C} channels (shape {x_shape}) but w expects "
            f"C/groups={Cw} with groups={groups} (w shape {w_shape})"
        )
    if b_shape is not None:
        b_shape = tuple(b_shape)
        if b_shape not in ((O,),) + (((),) if len(w_shape) == 2 else ()):
            raise ValueError(f"b must have shape ({O},) to match w's {O} filters, got shape {b_shape}")
    stride = _positive_pair("stride", stride)
    dilation = _positive_pair("dilation", dilation)
    pad = _padding(padding, (KH, KW), dilation, stride)
    eff_h, eff_w = dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1
    ph, pw = H + pad[0] + pad[1], W + pad[2] + pad[3]
    if eff_h > ph or eff_w > pw:
        raise ValueError(
            f"kernel larger than the padded input: w spans {eff_h}x{eff_w} (shape {w_shape}, "
            f"dilation {dilation}) but the padded input is {ph}x{pw} (x shape {x_shape}, padding {padding!r})"
        )
    OH = (ph - eff_h) // stride[0] + 1
    OW = (pw - eff_w) // stride[1] + 1
    return ConvSpec(N, C, H, W, O, KH, KW, groups, stride, dilation, pad, OH, OW,
                    x_shape, w_shape, b_shape is not None)
