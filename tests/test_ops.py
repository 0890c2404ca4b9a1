"""conv_transpose2d and conv1d: traced graph, numpy reference and PyTorch autograd agree; finite
differences; the identities that tie them to conv2d; refusals."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convgraph as cg

from strategies import as_torch_shapes, conv1d_problems, conv_transpose_problems

TOL = 1e-10

TRACE = {"conv1d": cg.trace_conv1d, "conv_transpose2d": cg.trace_conv_transpose2d}
FORWARD = {"conv1d": cg.conv1d_forward, "conv_transpose2d": cg.conv_transpose2d_forward}
BACKWARD = {"conv1d": cg.conv1d_backward, "conv_transpose2d": cg.conv_transpose2d_backward}


def _torch_call(torch, p, xt, wt, bt):
    F = torch.nn.functional
    kw = dict(p["kw"])
    if p["op"] == "conv1d":
        return F.conv1d(xt, wt, bt, **kw)
    kw = {k: v if isinstance(v, int) else tuple(v) for k, v in kw.items()}
    return F.conv_transpose2d(xt, wt, bt, **kw)


def _check_against_torch(torch, p):
    x, w, dY = as_torch_shapes(p)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if p["b"] is None else torch.tensor(p["b"], requires_grad=True)
    yt = _torch_call(torch, p, xt, wt, bt)
    yt.backward(torch.tensor(dY))

    trace = TRACE[p["op"]](p["x"], p["w"], p["b"], **p["kw"])
    grads = trace.backward(p["dY"])
    assert trace.y.shape == p["spec"].y_shape and grads.x.shape == p["x"].shape and grads.w.shape == p["w"].shape
    np.testing.assert_allclose(trace.y.reshape(yt.shape), yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grads.x.reshape(x.shape), xt.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grads.w.reshape(w.shape), wt.grad.numpy(), rtol=0, atol=TOL)
    if bt is not None:
        np.testing.assert_allclose(grads.b, bt.grad.numpy(), rtol=0, atol=TOL)
    # The numpy reference, independent of the graph, agrees too.
    y = FORWARD[p["op"]](p["x"], p["w"], b=p["b"], **p["kw"])
    dW, dX = BACKWARD[p["op"]](p["x"], p["w"], p["dY"], **p["kw"])
    np.testing.assert_allclose(y.reshape(yt.shape), yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dW.reshape(w.shape), wt.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dX.reshape(x.shape), xt.grad.numpy(), rtol=0, atol=TOL)


@settings(max_examples=200, deadline=None)
@given(conv_transpose_problems())
def test_conv_transpose2d_matches_torch_autograd(torch, p):
    _check_against_torch(torch, p)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@settings(max_examples=200, deadline=None)
@given(conv1d_problems())
def test_conv1d_matches_torch_autograd(torch, p):
    _check_against_torch(torch, p)


def _finite_differences(f, arr, eps=1e-6):
    out = np.zeros_like(arr)
    for k in range(arr.size):
        bump = np.zeros(arr.size)
        bump[k] = eps
        bump = bump.reshape(arr.shape)
        out.flat[k] = (f(arr + bump) - f(arr - bump)) / (2 * eps)
    return out


@settings(max_examples=25, deadline=None)
@given(st.one_of(conv_transpose_problems(max_hw=3, max_k=2, allow_batch=False),
                 conv1d_problems(max_l=5, max_k=2, allow_batch=False)))
def test_gradients_match_finite_differences(p):
    trace = TRACE[p["op"]](p["x"], p["w"], p["b"], **p["kw"])
    grads = trace.backward(p["dY"])

    def loss(x=p["x"], w=p["w"], b=p["b"]):
        return float((FORWARD[p["op"]](x, w, b=b, **p["kw"]) * p["dY"]).sum())

    np.testing.assert_allclose(grads.x, _finite_differences(lambda a: loss(x=a), p["x"]), atol=1e-6)
    np.testing.assert_allclose(grads.w, _finite_differences(lambda a: loss(w=a), p["w"]), atol=1e-6)
    if p["b"] is not None:
        np.testing.assert_allclose(grads.b, _finite_differences(lambda a: loss(b=a), p["b"]), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(conv_transpose_problems())
def test_transposed_forward_is_conv2d_input_gradient(p):
    """conv_transpose2d(dY, w) is the gradient conv2d sends back to its input, with w as that conv2d's
    weights; output padding recovers the rows a stride leaves over."""
    spec = p["spec"]
    assume(all(e < s for e, s in zip(spec.output_padding, spec.stride)))  # else no conv2d has this input size
    y = cg.conv_transpose2d_forward(p["x"], p["w"], **p["kw"])
    # The conv2d whose input gradient this is: its input is shaped like y, its output like x.
    x_conv = np.zeros(y.shape)
    kw = {k: v for k, v in p["kw"].items() if k != "output_padding"}
    _, dX = cg.conv2d_backward(x_conv, p["w"], p["x"], **kw)
    np.testing.assert_allclose(dX, y, rtol=0, atol=TOL)
    assert cg.conv_spec(x_conv.shape, p["w"].shape, **kw).y_shape == spec.x_shape


@settings(max_examples=60, deadline=None)
@given(conv_transpose_problems())
def test_transposed_input_gradient_is_a_conv2d(p):
    assume(all(e < s for e, s in zip(p["spec"].output_padding, p["spec"].stride)))
    kw = {k: v for k, v in p["kw"].items() if k != "output_padding"}
    grads = cg.trace_conv_transpose2d(p["x"], p["w"], **p["kw"]).backward(p["dY"])
    np.testing.assert_allclose(grads.x, cg.conv2d_forward(p["dY"], p["w"], **kw), rtol=0, atol=TOL)


@settings(max_examples=60, deadline=None)
@given(conv1d_problems())
def test_conv1d_is_conv2d_on_one_row(p):
    kw = dict(p["kw"])
    s, d, pad = kw["stride"], kw["dilation"], kw["padding"]
    kw2 = dict(stride=(1, s if isinstance(s, int) else s[0]), dilation=(1, d), groups=kw["groups"],
               padding=pad if isinstance(pad, str) else (0, pad))
    one = cg.trace_conv1d(p["x"], p["w"], p["b"], **kw)
    two = cg.trace_conv2d(p["x"][..., None, :], p["w"][..., None, :], p["b"], **kw2)
    g1, g2 = one.backward(p["dY"]), two.backward(p["dY"][..., None, :])
    np.testing.assert_array_equal(one.y, two.y[..., 0, :])
    np.testing.assert_array_equal(g1.x, g2.x[..., 0, :])
    np.testing.assert_array_equal(g1.w, g2.w[..., 0, :])
    assert one.counts() == two.counts()


def test_one_dimensional_tensors_and_names():
    t = cg.trace_conv1d(np.arange(6.0), np.array([1.0, 2, 3]), padding=1)
    assert t.tensors["x"].shape == (6,) and t.y.shape == (6,)
    assert t.label(t.element("x", 3)) == "x[3]"
    assert t.describe() == "x 6 ⊛ w 3 → y 6 (1-D, padding 1)"
    mul = int(t.conv.taps().mul[0])
    assert t.name(mul) == "w[1]·x[0]"
    assert t.slice_of(t.element("x", 3)) == ("x", ())
    batched = cg.trace_conv1d(np.ones((2, 3, 5)), np.ones((4, 3, 2)))
    assert batched.slice_of(batched.element("x", (1, 2, 4))) == ("x", (1, 2))
    assert batched.conv.spec.lead_names("x") == ("n", "c") and batched.conv.spec.lead_names("w") == ("o", "c")


def test_transposed_stamps_and_names():
    """Each input element stamps w·x; what lands on the cropped padding is dropped."""
    x, w = np.array([[1.0, 2.0], [3.0, 4.0]]), np.arange(9.0).reshape(3, 3)
    t = cg.trace_conv_transpose2d(x, w, stride=2, padding=1)
    assert t.y.shape == (3, 3)
    full = np.zeros((5, 5))
    for a in range(2):
        for b in range(2):
            full[2 * a:2 * a + 3, 2 * b:2 * b + 3] += x[a, b] * w
    np.testing.assert_array_equal(t.y, full[1:4, 1:4])
    assert t.describe() == "x 2×2 ⊛ᵀ w 3×3 → y 3×3 (stride 2, padding 1)"
    taps = t.conv.taps()
    assert len(taps) == t.counts()["mul"] == 16  # 36 products, 20 of them on the cropped border
    for m, wi, xi, out in zip(taps.mul, taps.wi, taps.xi, taps.out):
        a, b = divmod(int(xi), 2)
        u, v = divmod(int(wi), 3)
        assert (out[2], out[3]) == (2 * a + u - 1, 2 * b + v - 1)
        assert t.graph.nodes[int(m)]["value"] == x[a, b] * w[u, v]


def test_transposed_weight_layout_and_channels():
    """w is (C, O/groups, KH, KW); the wiring names its slices as PyTorch holds them."""
    x, w = np.ones((4, 2, 2)), np.ones((4, 3, 2, 2))
    t = cg.trace_conv_transpose2d(x, w, groups=2)
    assert t.y.shape == (6, 3, 3)
    assert t.conv.spec.lead_names("w") == ("c", "o′")  # o′: the filter within the group
    assert cg.conv_spec((2, 3, 3), (2, 3, 3, 3), op="conv_transpose2d").lead_names("w") == ("c", "o")
    pairs = {(p.source_lead, p.y_lead) for p in t.conv.channel_pairs() if p.source == "w"}
    assert ((0, 0), (0,)) in pairs and ((2, 0), (3,)) in pairs and ((2, 0), (0,)) not in pairs
    assert len(pairs) == 4 * 3


@pytest.mark.parametrize("call, match", [
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), stride=2, output_padding=2),
     "output_padding must be smaller than either stride or dilation"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), output_padding=-1),
     "output_padding must be non-negative"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), padding="same"),
     "padding must be an int or a pair for a transposed convolution"),
    (lambda: cg.trace_conv_transpose2d(np.ones((2, 2)), np.ones((2, 2)), padding=2),
     "padding 2 leaves nothing of the output"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3, 3)), np.ones((2, 1, 3, 3))), "channel mismatch"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3, 3)), np.ones((3, 1, 3, 3)), groups=2), "groups=2 must divide"),
    (lambda: cg.trace_conv_transpose2d(np.ones((2, 3, 3)), np.ones((2, 1, 3, 3)), np.ones(3), groups=2),
     r"b must have shape \(2,\) to match the 2 output channels"),
    (lambda: cg.conv_spec((3, 3), (3, 3), output_padding=1), "output_padding is for a transposed convolution only"),
    (lambda: cg.conv_spec((3, 3), (3, 3), op="conv3d"), "op must be one of"),
    (lambda: cg.trace_conv1d(np.ones((3, 4)), np.ones((2, 2, 3))), "channel mismatch"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones((1, 1, 1, 3))), r"w must be 1-D or 3-D, got shape \(1, 1, 1, 3\)"),
    (lambda: cg.trace_conv1d(np.ones((1, 1, 1, 5)), np.ones(3)), r"x must be 1-D or 2-D or 3-D"),
    (lambda: cg.conv_spec((5,), (1, 3), op="conv1d"), r"w must be \(K,\) or \(O, C/groups, K\)"),
    (lambda: cg.conv_spec((1, 1, 1, 5), (3,), op="conv1d"), r"x must be \(L,\), \(C, L\) or \(N, C, L\)"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones(3), padding="same", stride=2), "padding='same' needs stride 1"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones(7)), "kernel larger than the padded input: w spans 7"),
])
def test_refusals_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), stride=1.5), "stride must be an int or a pair"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), groups=1.0), "groups must be an int"),
    (lambda: cg.trace_conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), output_padding="1"),
     "output_padding must be an int or a pair"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones(3), dilation=True), "dilation must be an int"),
    (lambda: cg.trace_conv1d(["a"], np.ones(3)), "x must be a numeric array"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones(3), stride=(1, 1)), r"stride must be an int, got \(1, 1\)"),
    (lambda: cg.trace_conv1d(np.ones(5), np.ones(3), padding=(1, 1)), "padding must be an int, 'valid' or 'same'"),
    (lambda: cg.trace_conv2d(np.ones((3, 3)), np.ones((3, 3)), output_padding=1), "unexpected keyword"),
])
def test_type_refusals_name_the_argument(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_node_limit_refused_before_any_work():
    with pytest.raises(ValueError, match="more than the limit|max_nodes|nodes"):
        cg.trace_conv_transpose2d(np.ones((40, 40)), np.ones((5, 5)), stride=2, max_nodes=10_000)
    with pytest.raises(ValueError, match="more than the limit|max_nodes|nodes"):
        cg.trace_conv1d(np.ones((4, 500)), np.ones((8, 4, 9)), max_nodes=10_000)


@pytest.mark.parametrize("spec", [
    dict(op="conv_transpose2d", x=(2, 3, 4), w=(2, 3, 3, 2), stride=(2, 3), padding=(1, 2), output_padding=(1, 0),
         dilation=(1, 2)),
    dict(op="conv_transpose2d", x=(1, 4, 3, 3), w=(4, 1, 2, 2), stride=3, groups=2),
    dict(op="conv1d", x=(2, 9), w=(3, 2, 3), stride=2, padding=2, dilation=2),
])
def test_node_estimate_is_exact(spec):
    kw = {k: v for k, v in spec.items() if k not in ("op", "x", "w")}
    trace = TRACE[spec["op"]](np.ones(spec["x"]), np.ones(spec["w"]), np.ones(spec["w"][1] * kw.get("groups", 1))
                              if spec["op"] == "conv_transpose2d" else None, **kw)
    estimate = cg.conv_spec(spec["x"], spec["w"], trace.tensors["b"].shape if "b" in trace.tensors else None,
                            op=spec["op"], **kw).node_estimate()
    assert estimate == trace.graph.number_of_nodes()


def test_a_huge_transposed_output_is_refused_by_arithmetic():
    """The node count of a transposed convolution is worked out without arrays: a stride of three
    million is refused at once, naming the count."""
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match="over max_nodes"):
        cg.trace_conv_transpose2d(np.ones((2, 2)), np.ones((3, 3)), stride=3_000_000)
    assert time.perf_counter() - start < 0.5  # well within: about 10 ms
    assert cg.conv_spec((3, 3), (3, 3), output_padding=(0, 0)).y_shape == (1, 1)  # a zero pair is no output padding


def test_slices_follow_the_convolution_that_owns_the_tensor():
    rec = cg.Recorder()
    x, w1, w2 = rec.input(np.ones((2, 9))), rec.weight(np.ones((3, 2, 3)), "w1"), rec.weight(np.ones((2, 2)), "w2")
    h = cg.conv1d(x, w1)  # (3, 7): three rows
    y = cg.conv2d(h, w2, name="y2")  # the same numbers read as one 3×7 map
    trace = rec.trace(y)
    assert trace.slice_of(int(h.nodes[1, 4])) == ("y", (1,))
    assert trace.slice_of(int(y.nodes[1, 4])) == ("y2", ())
    assert trace.spatial_dims == 2
