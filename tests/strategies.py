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
