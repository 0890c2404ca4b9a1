"""Hypothesis strategies: random convolution problems over every variant a course teaches."""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from convgraph.tracer.params import conv_spec


@st.composite
def conv_problems(draw, max_hw=7, max_k=3, allow_batch=True):
    """A dict with x, w, b (or None), dY and the conv keyword options, all consistent."""
    groups = draw(st.integers(1, 2))
    cg_ = draw(st.integers(1, 2))
    og = draw(st.integers(1, 2))
    C, O = groups * cg_, groups * og
    N = draw(st.integers(1, 2)) if allow_batch else 1
    H, W = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    KH, KW = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 3), st.integers(1, 2))))
    if stride in (1, (1, 1)):
        padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                 st.sampled_from(["valid", "same"])))
    else:
        padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                 st.just("valid")))
    # The caller's shape forms: 2-D x and w for a single channel, 3-D x without batch.
    x_shape = (N, C, H, W)
    w_shape = (O, cg_, KH, KW)
    if N == 1 and draw(st.booleans()):
        x_shape = (C, H, W)
        if C == 1 and O == 1 and groups == 1 and draw(st.booleans()):
            x_shape, w_shape = (H, W), (KH, KW)
    has_bias = draw(st.booleans())
    try:
        spec = conv_spec(x_shape, w_shape, (O,) if has_bias else None,
                         stride=stride, padding=padding, dilation=dilation, groups=groups)
    except ValueError:
        assume(False)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal(x_shape), w=rng.standard_normal(w_shape),
        b=rng.standard_normal(O) if has_bias else None, dY=rng.standard_normal(spec.y_shape),
        kw=dict(stride=stride, padding=padding, dilation=dilation, groups=groups), spec=spec,
    )


def as_nchw(p):
    """x, w and dY of a problem in 4-D PyTorch form."""
    spec = p["spec"]
    x = p["x"].reshape(spec.N, spec.C, spec.H, spec.W)
    w = p["w"].reshape(spec.O, spec.Cg, spec.KH, spec.KW)
    dY = p["dY"].reshape(spec.N, spec.O, spec.OH, spec.OW)
    return x, w, dY


def _problem(draw, op, x_shape, w_shape, O, has_bias, kw):
    """The dict of a drawn problem of ``op``, or a rejected draw when the options do not fit."""
    try:
        spec = conv_spec(x_shape, w_shape, (O,) if has_bias else None, op=op, **kw)
    except ValueError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return dict(
        x=rng.standard_normal(x_shape), w=rng.standard_normal(w_shape),
        b=rng.standard_normal(O) if has_bias else None, dY=rng.standard_normal(spec.y_shape),
        kw=kw, spec=spec, op=op,
    )


@st.composite
def conv_transpose_problems(draw, max_hw=5, max_k=3, allow_batch=True):
    """A transposed convolution problem: x, w (C, O/groups, KH, KW), b, dY and every option,
    output padding included."""
    groups, cg_, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    C, O = groups * cg_, groups * og
    N = draw(st.integers(1, 2)) if allow_batch else 1
    H, W = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    KH, KW = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    stride = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    padding = draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    kw = dict(stride=draw(st.sampled_from([stride, stride[0]])) if stride[0] == stride[1] else stride,
              padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    x_shape, w_shape = (N, C, H, W), (C, og, KH, KW)
    if N == 1 and draw(st.booleans()):
        x_shape = (C, H, W)
        if C == 1 and O == 1 and draw(st.booleans()):
            x_shape, w_shape = (H, W), (KH, KW)
    return _problem(draw, "conv_transpose2d", x_shape, w_shape, O, draw(st.booleans()), kw)


@st.composite
def conv1d_problems(draw, max_l=9, max_k=3, allow_batch=True):
    """A 1-D convolution problem: x (L,), (C, L) or (N, C, L), w (K,) or (O, C/groups, K), b, dY and
    every option."""
    groups, cg_, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    C, O = groups * cg_, groups * og
    N = draw(st.integers(1, 2)) if allow_batch else 1
    L, K = draw(st.integers(1, max_l)), draw(st.integers(1, max_k))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3))))
    dilation = draw(st.integers(1, 3))
    choices = [st.integers(0, 2), st.just("valid")] + ([st.just("same")] if stride in (1, (1,)) else [])
    kw = dict(stride=stride, padding=draw(st.one_of(*choices)), dilation=dilation, groups=groups)
    x_shape, w_shape = (N, C, L), (O, cg_, K)
    if N == 1 and draw(st.booleans()):
        x_shape = (C, L)
        if C == 1 and O == 1 and draw(st.booleans()):
            x_shape, w_shape = (L,), (K,)
    return _problem(draw, "conv1d", x_shape, w_shape, O, draw(st.booleans()), kw)


def as_torch_shapes(p):
    """x, w and dY of a problem in PyTorch's batched form (N, C, ...), for any op."""
    spec = p["spec"]
    if spec.op == "conv1d":
        x = p["x"].reshape(spec.N, spec.C, spec.W)
        w = p["w"].reshape(spec.O, spec.Cg, spec.KW)
        return x, w, p["dY"].reshape(spec.N, spec.O, spec.OW)
    w_shape = (spec.C, spec.Og, spec.KH, spec.KW) if spec.transposed else (spec.O, spec.Cg, spec.KH, spec.KW)
    return (p["x"].reshape(spec.N, spec.C, spec.H, spec.W), p["w"].reshape(w_shape),
            p["dY"].reshape(spec.N, spec.O, spec.OH, spec.OW))
