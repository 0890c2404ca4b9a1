"""Checking and normalising the arguments of a convolution (conv2d, conv1d, conv_transpose2d): shapes,
stride, padding, output padding, dilation, groups.

Every op is held in one form, :class:`ConvSpec`: (N, C, H, W) in, (N, O, OH, OW) out, a kernel of
KH×KW taps per (output channel, input channel of its group). conv1d is the case H = KH = 1; a
transposed convolution states its own map from (output, tap) to the input element it reads.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ConvSpec", "conv_spec", "OPS", "spatial_dims", "as_array", "shape_text", "DEFAULT_MAX_NODES", "MAX_TAPS", "MAX_INT"]

#: Default ceiling on the number of scalar nodes one trace may hold (about 2 GB of graph).
DEFAULT_MAX_NODES = 2_000_000
#: conv2d refuses to examine more (output, kernel tap) pairs than this, padding taps included (about
#: 1 GB of index tables while tracing).
MAX_TAPS = 20_000_000
#: Sizes, strides, dilations and paddings above this are refused (numpy's int64 index arithmetic).
MAX_INT = 2**31 - 1
#: The convolutions convgraph traces, by their PyTorch names.
OPS = ("conv2d", "conv1d", "conv_transpose2d")


def spatial_dims(op):
    """Spatial axes of ``op``'s tensors: 1 for conv1d, 2 for conv2d and conv_transpose2d."""
    return 1 if op == "conv1d" else 2


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


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _int_pair(name, value, dims=2, what="an int or a pair of ints"):
    """An int, or ``dims`` ints (a 1-D op takes an int or a 1-tuple), as the (rows, cols) pair."""
    if dims == 1 and isinstance(value, (tuple, list)) and len(value) == 1 and _is_int(value[0]):
        value = value[0]
    if _is_int(value):
        return (int(value), int(value)) if dims == 2 else (0, int(value))
    if dims == 2 and isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{name} must be {what}, got {value!r}")


def _positive_pair(name, value, dims=2):
    pair = _int_pair(name, value, dims, "an int or a pair of ints" if dims == 2 else "an int")
    if dims == 1:
        pair = (1, pair[1])
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


def _pair_text(pair, dims=2):
    """(2, 2) -> '2', (1, 2) -> '1,2': as the command line takes them; a 1-D op's one number."""
    if dims == 1:
        return str(pair[1])
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _padding(value, kernel, dilation, stride, dims=2, transposed=False):
    """Padding as (top, bottom, left, right); a 1-D op pads left and right only."""
    if isinstance(value, str):
        if transposed:
            raise ValueError(f"padding must be an int or a pair for a transposed convolution (as in PyTorch), "
                             f"got {value!r}")
        if value == "valid":
            return (0, 0, 0, 0)
        if value == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride="
                                 f"{stride[1] if dims == 1 else stride}")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]  # the odd pixel goes bottom/right, as in PyTorch
            return tuple(pads)
        raise ValueError(f"padding must be an int, {'a pair, ' if dims == 2 else ''}'valid' or 'same', got {value!r}")
    what = ("an int or a pair" if transposed else "an int, a pair, 'valid' or 'same'") if dims == 2 else \
        "an int, 'valid' or 'same'"
    ph, pw = _int_pair("padding", value, dims, what)
    if min(ph, pw) < 0:
        raise ValueError(f"padding must be non-negative, got {value!r}")
    if max(ph, pw) > MAX_INT:
        raise ValueError(f"padding must be at most {MAX_INT:,}, got {value!r}")
    return (ph, ph, pw, pw)


def _axis_taps(size, out, k, stride, dilation, pad_before, transposed=False):
    """Along one axis, the input coordinate that output i's kernel tap u reads, and whether it is real,
    both (out, k). A convolution reads i·stride + u·dilation − pad (padding where it falls outside);
    a transposed one, whose input element a lands on output a·stride + u·dilation − pad, reads
    a = (i + pad − u·dilation) / stride where that is a whole number inside the input (elsewhere the
    tap falls between the stride's inserted zeros, or off the input)."""
    if not transposed:
        coord = np.arange(out)[:, None] * stride + np.arange(k)[None, :] * dilation - pad_before  # (out, k)
        return coord, (coord >= 0) & (coord < size)
    at = np.arange(out)[:, None] + pad_before - np.arange(k)[None, :] * dilation  # (out, k)
    coord = at // stride
    return coord, (at % stride == 0) & (coord >= 0) & (coord < size)


def _axis_counts(size, out, k, stride, dilation, pad_before, transposed=False):
    """Along one axis, by arithmetic alone (no arrays, any size): the (output, tap) pairs whose input
    coordinate is real, and how many outputs have at least one."""
    runs = {}  # residue -> [(lo, hi)]: the outputs each tap reaches, i = r + k·step for k in lo..hi
    pairs = 0
    for u in range(k):
        off = u * dilation - pad_before
        if transposed:  # input a lands on output a·stride + off
            lo, hi = max(0, -(off // stride)), min(size - 1, (out - 1 - off) // stride)
            key, shift = off % stride, off // stride  # output = (a + shift)·stride + key
        else:  # output i reads input i·stride + off
            lo, hi = max(0, -(off // stride)), min(out - 1, (size - 1 - off) // stride)
            key, shift = 0, 0
        if hi >= lo:
            pairs += hi - lo + 1
            runs.setdefault(key, []).append((lo + shift, hi + shift))
    covered = 0
    for intervals in runs.values():  # a residue's runs overlap; different residues never do
        end = None
        for lo, hi in sorted(intervals):
            if end is None or hi > end:
                covered += hi - (lo if end is None else max(lo, end + 1)) + 1
                end = hi
    return pairs, covered


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of one convolution, in the (N, C, H, W) → (N, O, OH, OW) form.

    ``op`` is ``"conv2d"``, ``"conv1d"`` (held as H = KH = 1: stride, dilation and padding act on the
    columns) or ``"conv_transpose2d"``, whose w is (C, O/groups, KH, KW) as in PyTorch and whose
    ``padding`` and ``output_padding`` are PyTorch's. ``x_shape``, ``w_shape`` are the shapes as the
    caller gave them.
    """

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
    op: str = "conv2d"
    output_padding: tuple = (0, 0)

    @property
    def Cg(self):
        """Input channels seen by each filter."""
        return self.C // self.groups

    @property
    def dims(self):
        """Spatial axes of the caller's tensors: 1 for conv1d, else 2."""
        return spatial_dims(self.op)

    @property
    def transposed(self):
        return self.op == "conv_transpose2d"

    @property
    def y_shape(self):
        """Output shape in the caller's form: 2-D in, 2-D out (1-D in, 1-D out for conv1d)."""
        shape = [self.N, self.O] + ([self.OW] if self.dims == 1 else [self.OH, self.OW])
        if len(self.w_shape) == self.dims:
            del shape[1]
        if len(self.x_shape) < self.dims + 2:
            del shape[0]
        return tuple(shape)

    def taps(self):
        """Per axis: input coordinates (out, k) and the mask of real taps (not padding, and for a
        transposed convolution not between the stride's inserted zeros)."""
        t = self.transposed
        rows, rows_ok = _axis_taps(self.H, self.OH, self.KH, self.stride[0], self.dilation[0], self.padding[0], t)
        cols, cols_ok = _axis_taps(self.W, self.OW, self.KW, self.stride[1], self.dilation[1], self.padding[2], t)
        return rows, rows_ok, cols, cols_ok

    def uncropped(self):
        """A transposed convolution's output before the padding crops it, (rows, cols): every stamp
        lands inside, and so does y, rows ``padding[0]`` … ``padding[0] + OH − 1`` of it (output
        padding can reach past the last stamp)."""
        return (max((self.H - 1) * self.stride[0] + self.dilation[0] * (self.KH - 1) + 1, self.padding[0] + self.OH),
                max((self.W - 1) * self.stride[1] + self.dilation[1] * (self.KW - 1) + 1, self.padding[2] + self.OW))

    def w_index(self, o, c, u, v):
        """The flat index into w's data of the weight that output channel ``o`` applies to input
        channel ``c`` of its group at tap (u, v): w[o, c, u, v] for a convolution, w[g·C/groups + c,
        o mod O/groups, u, v] (g the group of o) for a transposed one. Works on arrays."""
        if self.transposed:
            Og = self.Og
            return ((((o // Og) * self.Cg + c) * Og + o % Og) * self.KH + u) * self.KW + v
        return ((o * self.Cg + c) * self.KH + u) * self.KW + v

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
    def _batched(self):
        return len(self.x_shape) == self.dims + 2

    def _channels(self):
        return len(self.w_shape) == self.dims + 2

    def x_lead(self, n, c):
        """The leading index of input slice (n, c) in the caller's x shape: (n, c), (c,) or ()."""
        return ((n,) if self._batched() else ()) + ((c,) if len(self.x_shape) > self.dims else ())

    def w_lead(self, o, c):
        """The leading index of the kernel slice output channel ``o`` applies to input channel ``c``
        of its group, in the caller's w shape: (o, c), for a transposed convolution (g·C/groups + c,
        o mod O/groups), or ()."""
        if not self._channels():
            return ()
        if self.transposed:
            return ((o // self.Og) * self.Cg + c, o % self.Og)
        return (o, c)

    def y_lead(self, n, o):
        """The leading index of output slice (n, o) in the caller's y shape: (n, o), (o,), (n,) or ()."""
        return ((n,) if self._batched() else ()) + ((o,) if self._channels() else ())

    def lead_names(self, tensor):
        """Names of the leading axes of ``"x"``, ``"w"`` or ``"y"`` in the caller's shape, e.g. ("n", "c").
        A grouped transposed convolution's w is (c, o′): o′ = o mod O/groups, the filter within the group."""
        x_lead = len(self.x_shape) - self.dims
        return {"x": ("n", "c")[2 - x_lead:] if x_lead else (),
                "w": ((("c", "o′") if self.groups > 1 else ("c", "o")) if self.transposed else ("o", "c"))
                if self._channels() else (),
                "y": (("n",) if self._batched() else ()) + (("o",) if self._channels() else ())}[tensor]

    def window(self, i, j):
        """Where the kernel's taps meet the grid, per axis: two int arrays, (KH,) and (KW,). For a
        convolution, the input rows and columns under output (i, j)'s taps (negative or past the edge
        on padding); for a transposed convolution, the output rows and columns input element (i, j)'s
        stamp lands on (negative or past the edge where the padding crops it off). The same
        arithmetic, i·stride + u·dilation − padding, read from the other side."""
        u, v = np.arange(self.KH), np.arange(self.KW)
        rows = i * self.stride[0] + u * self.dilation[0] - self.padding[0]
        cols = j * self.stride[1] + v * self.dilation[1] - self.padding[2]
        return rows, cols

    # ---- words -------------------------------------------------------------------------------
    def options(self, every=False):
        """The options that differ from the defaults (``every``: all of them), as a lecturer says them:
        ``["stride 2", "padding 1"]``; padding is one number when all four sides agree.

        >>> conv_spec((5, 5), (3, 3)).options(every=True)
        ['stride 1', 'padding 0', 'dilation 1', 'groups 1']
        """
        s, d = self, self.dims
        t, b, l, r = s.padding
        if d == 1:
            pad = f"padding {l}" if l == r else f"padding left {l}, right {r}"
        else:
            pad = (f"padding {t}" if len(set(s.padding)) == 1 else
                   f"padding {t},{l}" if (t, l) == (b, r) else f"padding top {t}, bottom {b}, left {l}, right {r}")
        out = [(s.stride != (1, 1), f"stride {_pair_text(s.stride, d)}"), (any(s.padding), pad)]
        if s.transposed:
            out.append((s.output_padding != (0, 0), f"output padding {_pair_text(s.output_padding)}"))
        out += [(s.dilation != (1, 1), f"dilation {_pair_text(s.dilation, d)}"), (s.groups != 1, f"groups {s.groups}")]
        return [text for differs, text in out if differs or every]

    def describe(self):
        """The convolution in one line, as every caption states it: ``x 5×5 ⊛ w 3×3 → y 3×3``
        (options that differ from the defaults in brackets); a transposed convolution is ``⊛ᵀ``, a
        1-D one says so.

        >>> conv_spec((2, 6, 6), (2, 2, 3, 3), (2,), stride=2, padding=1).describe()
        'x 2×6×6 ⊛ w 2×2×3×3 + b → y 2×3×3 (stride 2, padding 1)'
        >>> conv_spec((2, 2), (3, 3), op="conv_transpose2d", stride=2).describe()
        'x 2×2 ⊛ᵀ w 3×3 → y 5×5 (stride 2)'
        """
        star = "⊛ᵀ" if self.transposed else "⊛"
        head = (f"x {shape_text(self.x_shape)} {star} w {shape_text(self.w_shape)}{' + b' if self.has_bias else ''}"
                f" → y {shape_text(self.y_shape)}")
        extras = (["1-D"] if self.dims == 1 else []) + self.options()
        return head + (f" ({', '.join(extras)})" if extras else "")

    def _counts(self):
        t = self.transposed
        rows = _axis_counts(self.H, self.OH, self.KH, self.stride[0], self.dilation[0], self.padding[0], t)
        cols = _axis_counts(self.W, self.OW, self.KW, self.stride[1], self.dilation[1], self.padding[2], t)
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


def _channels(op, x_shape, w_shape, groups):
    """N, C, H, W, O, KH, KW and groups of ``op`` on these shapes, checked: ranks, emptiness, groups
    dividing the channels, and w's channels matching x's."""
    dims, transposed = spatial_dims(op), op == "conv_transpose2d"
    if len(x_shape) not in (dims, dims + 1, dims + 2):
        raise ValueError(f"x must be {_SHAPES[op][0]}, got shape {x_shape}")
    if len(w_shape) not in (dims, dims + 2):
        raise ValueError(f"w must be {_SHAPES[op][1]}, got shape {w_shape}")
    x4 = x_shape[:-1] + (1, x_shape[-1]) if dims == 1 else x_shape  # conv1d: a convolution of one row
    w4 = w_shape[:-1] + (1, w_shape[-1]) if dims == 1 else w_shape
    N, C, H, W = (1,) * (4 - len(x4)) + x4  # (H, W) is one channel, (C, H, W) one sample
    w4 = (1, 1) + w4 if len(w4) == 2 else w4
    if min(N, C, H, W) < 1:
        raise ValueError(f"x must not be empty, got shape {x_shape}")
    if min(w4) < 1:
        raise ValueError(f"w must not be empty, got shape {w_shape}")
    if not _is_int(groups):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    if groups > MAX_INT:
        raise ValueError(f"groups must be at most {MAX_INT:,}, got {groups}")
    if C % groups:
        raise ValueError(f"groups={groups} must divide the input channels C={C} (x shape {x_shape})")
    if transposed:
        Cw, Og, KH, KW = w4
        if Cw != C:
            raise ValueError(f"channel mismatch: x has C={C} channels (shape {x_shape}) but w (C, O/groups, KH, KW) "
                             f"has {Cw} (w shape {w_shape})")
        return N, C, H, W, Og * groups, KH, KW, groups
    O, Cw, KH, KW = w4
    if O % groups:
        raise ValueError(f"groups={groups} must divide the output channels O={O} (w shape {w_shape})")
    if Cw * groups != C:
        raise ValueError(f"channel mismatch: x has C={C} channels (shape {x_shape}) but w expects "
                         f"C/groups={Cw} with groups={groups} (w shape {w_shape})")
    return N, C, H, W, O, KH, KW, groups


def _output_padding(op, value, stride, dilation):
    """A transposed convolution's output padding as a pair, smaller than the stride or the dilation on
    each axis (as PyTorch requires); every other op takes none."""
    if op != "conv_transpose2d":
        zero = _is_int(value) and value == 0 or (
            isinstance(value, (tuple, list)) and all(_is_int(v) and v == 0 for v in value))
        if not zero:
            raise ValueError(f"output_padding is for a transposed convolution only, got {value!r} for {op}")
        return (0, 0)
    pair = _int_pair("output_padding", value)
    if min(pair) < 0:
        raise ValueError(f"output_padding must be non-negative, got {value!r}")
    for k in range(2):
        if pair[k] >= max(stride[k], dilation[k]):
            raise ValueError(f"output_padding must be smaller than either stride or dilation (as in PyTorch), "
                             f"got output_padding={value!r} with stride={stride}, dilation={dilation}")
    return pair


_SHAPES = {  # the shapes each op takes, as its errors state them
    "conv2d": ("(H, W), (C, H, W) or (N, C, H, W)", "(KH, KW) or (O, C/groups, KH, KW)"),
    "conv1d": ("(L,), (C, L) or (N, C, L)", "(K,) or (O, C/groups, K)"),
    "conv_transpose2d": ("(H, W), (C, H, W) or (N, C, H, W)", "(KH, KW) or (C, O/groups, KH, KW)"),
}


def conv_spec(x_shape, w_shape, b_shape=None, *, stride=1, padding=0, dilation=1, groups=1, op="conv2d",
              output_padding=0):
    """Check a convolution's arguments and return its :class:`ConvSpec`.

    ``op`` is ``"conv2d"``, ``"conv1d"`` or ``"conv_transpose2d"``, each with PyTorch's shapes and
    meaning (``output_padding`` is the transposed convolution's alone). Raises
    ``ValueError``/``TypeError`` naming the offending parameter and value.

    >>> conv_spec((5, 5), (3, 3)).y_shape
    (3, 3)
    >>> conv_spec((2, 8), (4, 2, 3), op="conv1d", padding="same").y_shape
    (4, 8)
    >>> conv_spec((3, 3), (3, 3), op="conv_transpose2d", stride=2, padding=1, output_padding=1).y_shape
    (6, 6)
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    dims, transposed = spatial_dims(op), op == "conv_transpose2d"
    N, C, H, W, O, KH, KW, groups = _channels(op, x_shape, w_shape, groups)
    if b_shape is not None:
        b_shape = tuple(b_shape)
        if b_shape not in ((O,),) + (((),) if len(w_shape) == dims else ()):
            what = f"the {O} output channels" if transposed else f"w's {O} filters"
            raise ValueError(f"b must have shape ({O},) to match {what}, got shape {b_shape}")
    stride = _positive_pair("stride", stride, dims)
    dilation = _positive_pair("dilation", dilation, dims)
    pad = _padding(padding, (KH, KW), dilation, stride, dims, transposed)
    if dims == 1:
        pad = (0, 0) + pad[2:]
    out_pad = _output_padding(op, output_padding, stride, dilation)
    sizes = ((H, KH, stride[0], dilation[0], pad[0] + pad[1], out_pad[0]),
             (W, KW, stride[1], dilation[1], pad[2] + pad[3], out_pad[1]))
    if transposed:
        OH, OW = ((n - 1) * s - p + d * (k - 1) + 1 + extra for n, k, s, d, p, extra in sizes)
        if OH < 1 or OW < 1:
            raise ValueError(f"padding {padding!r} leaves nothing of the output: x {x_shape} ⊛ᵀ w {w_shape} "
                             f"(stride {stride}, dilation {dilation}) gives {OH}x{OW}")
    else:
        eff_h, eff_w = (d * (k - 1) + 1 for _, k, _, d, _, _ in sizes)
        ph, pw = (n + p for n, _, _, _, p, _ in sizes)
        if eff_h > ph or eff_w > pw:
            span, padded = (f"{eff_w}", f"{pw}") if dims == 1 else (f"{eff_h}x{eff_w}", f"{ph}x{pw}")
            raise ValueError(
                f"kernel larger than the padded input: w spans {span} (shape {w_shape}, "
                f"dilation {dilation[1] if dims == 1 else dilation}) but the padded input is {padded} "
                f"(x shape {x_shape}, padding {padding!r})"
            )
        OH, OW = (ph - eff_h) // stride[0] + 1, (pw - eff_w) // stride[1] + 1
    return ConvSpec(N, C, H, W, O, KH, KW, groups, stride, dilation, pad, OH, OW,
                    x_shape, w_shape, b_shape is not None, op, out_pad)
