"""Bad input gets a clear ValueError/TypeError that names the parameter and the value."""

import numpy as np
import pytest

import convgraph as cg

X, W = np.ones((5, 5)), np.ones((3, 3))


@pytest.mark.parametrize("fn", [cg.trace_conv2d, cg.conv2d_forward], ids=["trace", "reference"])
@pytest.mark.parametrize("args, kwargs, error, match", [
    ((np.ones((3, 5, 5)), np.ones((2, 2, 3, 3))), {}, ValueError, r"channel mismatch: x has C=3 .*C/groups=2"),
    ((np.ones((3, 5, 5)), np.ones((2, 1, 3, 3))), {"groups": 2}, ValueError, r"groups=2 must divide the input channels C=3"),
    ((np.ones((4, 5, 5)), np.ones((3, 2, 3, 3))), {"groups": 2}, ValueError, r"groups=2 must divide the output channels O=3"),
    ((X, np.ones((7, 3))), {}, ValueError, r"kernel larger than the padded input: w spans 7x3"),
    ((X, W), {"dilation": 3}, ValueError, r"w spans 7x7 .*padded input is 5x5"),
    ((X, W), {"stride": 0}, ValueError, r"stride must be positive, got 0"),
    ((X, W), {"stride": (1, -2)}, ValueError, r"stride must be positive, got \(1, -2\)"),
    ((X, W), {"dilation": 0}, ValueError, r"dilation must be positive, got 0"),
    ((X, W), {"stride": 1.5}, TypeError, r"stride must be an int or a pair of ints, got 1.5"),
    ((X, W), {"stride": True}, TypeError, r"stride must be an int or a pair of ints, got True"),
    ((X, W), {"padding": -1}, ValueError, r"padding must be non-negative, got -1"),
    ((X, W), {"padding": "full"}, ValueError, r"padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    ((X, W), {"padding": "same", "stride": 2}, ValueError, r"padding='same' needs stride 1"),
    ((X, W), {"groups": 0}, ValueError, r"groups must be positive, got 0"),
    ((X, W), {"groups": "2"}, TypeError, r"groups must be an int, got '2'"),
    ((np.full((5, 5), np.nan), W), {}, ValueError, r"x must be finite, got nan at index \(0, 0\)"),
    ((X, np.array([[1, np.inf], [0, 0]])), {}, ValueError, r"w must be finite, got inf at index \(0, 1\)"),
    ((np.array([["a", "b"]]), W), {}, TypeError, r"x must be a numeric array \(int or float\), got dtype <U1"),
    ((X, np.ones((3, 3), dtype=bool)), {}, TypeError, r"w must be a numeric array .*got dtype bool"),
    ((X, np.ones((2, 2), dtype=complex)), {}, TypeError, r"w must be a numeric array .*complex128"),
    ((np.ones(5), W), {}, ValueError, r"x must be 2-D or 3-D or 4-D, got shape \(5,\)"),
    ((X, np.ones((1, 3, 3))), {}, ValueError, r"w must be 2-D or 4-D, got shape \(1, 3, 3\)"),
    ((np.ones((0, 5)), W), {}, ValueError, r"x must not be empty, got shape \(0, 5\)"),
])
def test_bad_conv_arguments(fn, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)


def test_bad_bias():
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) to match w's 2 filters, got shape \(3,\)"):
        cg.trace_conv2d(np.ones((1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"b must be finite"):
        cg.trace_conv2d(X, W, np.array([np.nan]))


def test_ragged_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"x must be a numeric array, got list"):
        cg.trace_conv2d([[1, 2], [3]], W)


@pytest.mark.parametrize("dY, match", [
    (np.ones((2, 2)), r"dY must have the output's shape \(3, 3\), got \(2, 2\)"),
    (np.full((3, 3), np.inf), r"dY must be finite, got inf at index \(0, 0\)"),
])
def test_bad_dY(dY, match):
    trace = cg.trace_conv2d(X, W)
    for call in (trace.backward, trace.steps, lambda d: cg.conv2d_backward(X, W, d)):
        with pytest.raises(ValueError, match=match):
            call(dY)
    assert not trace.has_grad


def test_node_limit_refuses_before_building_and_gives_the_count():
    with pytest.raises(ValueError, match=r"would make the graph 187 scalar nodes, over max_nodes=100"):
        cg.trace_conv2d(np.arange(25.0).reshape(5, 5), W, max_nodes=100)
    # the default limit: 1x3x64x64 with 64 filters: 3*64*64 + 64*27 leaves, 2*64*62*62*27 - 64*62*62 ops
    with pytest.raises(ValueError, match=r"tracing x \(1, 3, 64, 64\) ⊛ w \(64, 3, 3, 3\) would make the graph "
                                         r"13,052,864 scalar nodes, over max_nodes=2,000,000"):
        cg.trace_conv2d(np.zeros((1, 3, 64, 64)), np.zeros((64, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"max_nodes must be at least 1, got 0"):
        cg.Recorder(max_nodes=0)


def test_recorder_limit_applies_to_every_op():
    rec = cg.Recorder(max_nodes=60)
    x, w = rec.input(np.ones((5, 5))), rec.weight(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"conv2d of x \(5, 5\) ⊛ w \(2, 2\) would make the graph 141 scalar nodes, "
                                         r"over max_nodes=60"):
        cg.conv2d(x, w)
    assert len(rec) == 29  # nothing half built


def test_ops_reject_arrays_and_foreign_tensors():
    rec, other = cg.Recorder(), cg.Recorder()
    x = rec.input(np.ones((4, 4)))
    with pytest.raises(TypeError, match=r"w must be a traced Tensor .*got ndarray"):
        cg.conv2d(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"w belongs to a different recorder"):
        cg.conv2d(x, other.weight(np.ones((2, 2))))
    with pytest.raises(ValueError, match=r"target must have pred's shape \(4, 4\), got \(2, 2\)"):
        cg.mse_loss(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"kernel_size \(5, 5\) is larger than the input's 4x4"):
        cg.max_pool2d(x, 5)
    with pytest.raises(ValueError, match=r"a tensor named 'x' already exists"):
        rec.input(np.ones(2), "x")


def test_scalar_value_errors():
    rec = cg.Recorder()
    a = rec.value(0.0)
    with pytest.raises(TypeError, match=r"cannot combine a Value with str 'x'"):
        a + "x"
    with pytest.raises(ZeroDivisionError, match=r"division by a Value equal to zero"):
        rec.value(1.0) / a
    with pytest.raises(ValueError, match=r"log needs a positive value, got 0.0"):
        a.log()
    with pytest.raises(ValueError, match=r"data must be finite, got nan"):
        rec.value(float("nan"))
    with pytest.raises(ValueError, match=r"exp produced a non-finite value"):
        rec.value(1000.0).exp()
