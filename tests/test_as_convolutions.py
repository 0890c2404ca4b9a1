"""Backward as convolutions: dW as one convolution of x with dY, dX as one transposed convolution of
dY with W, db as a sum, equal to the graph's node-by-node gradients and to PyTorch's
``torch.nn.grad`` functions on random variants of every op."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convgraph as cg

from strategies import conv1d_problems, conv_problems, conv_transpose_problems

TOL = 1e-10


def _traced(p):
    trace = cg.trace_op(p.get("op", "conv2d"), p["x"], p["w"], p["b"], **p["kw"])
    return trace, trace.backward(p["dY"]), cg.backward_as_convolutions(trace, p["dY"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(conv_problems(), conv_transpose_problems(), conv1d_problems()))
def test_conv_calls_equal_the_graphs_gradients(p):
    trace, walked, calls = _traced(p)
    for name in ("w", "x"):
        np.testing.assert_allclose(calls[name], walked[name], rtol=0, atol=TOL)
    if p["b"] is None:
        assert calls.b is None and [c.grad for c in calls.calls] == ["dW", "dX"]
    else:
        np.testing.assert_allclose(calls.b, walked.b, rtol=0, atol=TOL)
        assert [c.grad for c in calls.calls] == ["dW", "dX", "db"]


def _torch_padding(spec):
    t, b, l, r = spec.padding
    if (t, l) != (b, r):
        return None  # 'same' with an even kernel: torch.nn.grad takes symmetric padding only
    return l if spec.dims == 1 else (t, l)


@settings(max_examples=200, deadline=None)
@given(st.one_of(conv_problems(), conv1d_problems()))
def test_conv_calls_equal_torch_nn_grad(torch, p):
    trace, _, calls = _traced(p)
    spec = trace.conv.spec
    pad = _torch_padding(spec)
    if pad is None:
        return
    one = spec.dims == 1
    x = torch.tensor(trace.conv.values4("x")[:, :, 0] if one else trace.conv.values4("x"))
    w = torch.tensor(trace.conv.values4("w")[:, :, 0] if one else trace.conv.values4("w"))
    dY = torch.tensor(np.asarray(p["dY"]).reshape((spec.N, spec.O) + ((spec.OW,) if one else (spec.OH, spec.OW))))
    kw = dict(stride=spec.stride[1] if one else spec.stride, padding=pad,
              dilation=spec.dilation[1] if one else spec.dilation, groups=spec.groups)
    grad = torch.nn.grad
    dW = (grad.conv1d_weight if one else grad.conv2d_weight)(x, w.shape, dY, **kw)
    dX = (grad.conv1d_input if one else grad.conv2d_input)(x.shape, w, dY, **kw)
    np.testing.assert_allclose(calls.w.reshape(dW.shape), dW.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(calls.x.reshape(dX.shape), dX.numpy(), rtol=0, atol=TOL)


def test_the_calls_read_as_a_lecturer_writes_them():
    lesson = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
    calls = cg.backward_as_convolutions(lesson)
    assert calls.w.tolist()[1] == [99.0, 108.0, 117.0]
    assert calls.describe() == [
        "dW = conv2d(x, dY as the kernel, stride=1 (the dilation), dilation=1 (the stride: dY dilated by it), "
        "padding=0, one group per input channel)",
        "dX = conv_transpose2d(dY, W, stride=1, padding=0, output_padding=0, dilation=1): the full convolution "
        "of dY with rot180(W)"]
    strided = cg.trace_conv2d(np.ones((2, 6, 6)), np.ones((2, 2, 3, 3)), np.ones(2), stride=2, padding=1)
    texts = cg.backward_as_convolutions(strided).describe()
    assert "dilation=2 (the stride: dY dilated by it)" in texts[0] and "summed over the batch" not in texts[0]
    assert "output_padding=1" in texts[1] and "cropped by the padding" in texts[1]
    assert texts[2] == "db = dY summed over the batch and every position"
    up = cg.backward_as_convolutions(cg.trace_conv_transpose2d(np.ones((2, 2)), np.ones((3, 3)), stride=2))
    assert up.describe()[1].startswith("dX = conv2d(dY, W, stride=2") and "ordinary convolution" in up.describe()[1]
    assert cg.backward_as_convolutions(cg.trace_conv1d(np.ones(6), np.ones(3))).calls[1].op == "conv_transpose1d"


def test_refusals():
    with pytest.raises(TypeError, match="trace must be a convgraph Trace"):
        cg.backward_as_convolutions("y")
    rec = cg.Recorder()
    y = cg.relu(cg.conv2d(rec.input(np.ones((4, 4))), rec.weight(np.ones((3, 3)))))
    with pytest.raises(ValueError, match="takes a single convolution; this trace's output is"):
        cg.backward_as_convolutions(rec.trace(y))
    with pytest.raises(ValueError, match=r"dY must have the output's shape \(2, 2\)"):
        cg.backward_as_convolutions(cg.trace_conv2d(np.ones((4, 4)), np.ones((3, 3))), np.ones(3))


def test_check_reports_the_third_agreement(capsys):
    from convgraph.cli import main

    assert main(["check", "--no-torch", "--stride", "2", "--padding", "1", "--bias"]) == 0
    out = capsys.readouterr().out
    for name in ("dW", "dX", "db"):
        assert re.search(rf"{name}\s+vs conv calls\s+largest \|difference\| 0   ok", out)
    assert "dX = conv_transpose2d(dY, W, stride=2, padding=1, output_padding=0, dilation=1)" in out


CASES = {  # the lesson, a stride-2 padding-1 case, a two-channel grouped case, a 1-D one
    "lesson": lambda: cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])),
    "stride 2, padding 1": lambda: cg.trace_conv2d(np.arange(36.0).reshape(6, 6) % 7, np.arange(9.0).reshape(3, 3) - 4,
                                                   stride=2, padding=1),
    "two channels, groups 2": lambda: cg.trace_conv2d(np.arange(50.0).reshape(2, 5, 5) % 5, np.ones((2, 1, 3, 3)),
                                                      np.array([1.0, -1.0]), groups=2, dilation=(1, 2), padding=(1, 0)),
    "conv1d": lambda: cg.trace_conv1d(np.arange(9.0), [1.0, 0, -1], stride=2, padding=1),
}


@pytest.mark.parametrize("scene", ["dw-as-conv", "dx-as-conv", "im2col"])
@pytest.mark.parametrize("make", CASES.values(), ids=CASES)
def test_the_scenes_end_on_the_traced_gradients(make, scene, tmp_path):
    from convgraph.renderers.animations.clip import build_frames

    trace = make()
    dY = np.random.default_rng(0).integers(-2, 3, trace.y.shape).astype(float)
    grads = trace.backward(dY)
    renderer, frames = build_frames(trace, scene, dY=dY)
    result = renderer.scene.result
    want = {"dW": grads.w, "dX": grads.x, "y": trace.y}
    for key in result:
        np.testing.assert_allclose(result[key], want[key].reshape(result[key].shape), rtol=0, atol=1e-12)
    last = {k: v for k, v in frames[-1].values.items() if k.startswith(("dW:", "dXg:", "dX:"))}
    key = "dW" if scene == "dw-as-conv" else "dX"
    np.testing.assert_allclose(np.concatenate([v.ravel() for v in last.values()]), result[key].ravel(), atol=1e-12)
    assert cg.animate(trace, tmp_path / "clip.gif", scene=scene, dY=dY, dpi=40, progress=False).exists()


def test_the_lessons_dw_is_a_window_sum_over_x():
    from convgraph.renderers.animations.clip import build_frames

    _, frames = build_frames(CASES["lesson"](), "dw-as-conv")
    assert frames[4].title == ("dW[1,1] = Σ dY·x[window] = 1·6 + 1·7 + 1·8 + 1·11 + 1·12 + 1·13 + 1·16 + 1·17 + "
                               "1·18 = 108")
    assert frames[4].cells["x:0,0"].tolist() == [[r, c] for r in (1, 2, 3) for c in (1, 2, 3)]


def test_im2col_phases_outline_the_row_column_and_cell_of_each_product():
    from convgraph.renderers.animations.clip import build_frames

    _, frames = build_frames(CASES["lesson"](), "im2col")
    assert len(frames) == 27  # 9 output columns, 9 taps, 9 positions
    forward, tap, back = frames[4], frames[13], frames[22]
    assert forward.title == "y[1,1] = W_row·cols[:, 4] = 1·6 + 0·7 + (-1)·8 + 2·11 + 0·12 + (-2)·13 + 1·16 + 0·17 + (-1)·18 = -8"
    assert forward.cells["cols:0"].tolist() == [[k, 4] for k in range(9)] and forward.boxes == ("Wr:0",)
    assert tap.title.startswith("dW[1,1] = dY_row·cols[4, :] = 1·6 + 1·7 + ") and tap.title.endswith("= 108")
    assert tap.cells["cols:0"].tolist() == [[4, q] for q in range(9)] and tap.cells["dWr:0"].tolist() == [[0, 4]]
    assert back.cells["dX:0,0"].tolist() == [[r, c] for r in (1, 2, 3) for c in (1, 2, 3)]
    assert [f.caption.split(":")[0] for f in (forward, tap, back)] == ["im2col", "dW = dY_row·colsᵀ", "dX = col2im(W_rowᵀ·dY_row)"]
