"""The traced graph against PyTorch autograd (must run in CI)."""

import numpy as np
import pytest
from hypothesis import given, settings

import convgraph as cg

from strategies import as_nchw, conv_problems

TOL = 1e-10


def _torch_padding(padding):
    return padding if isinstance(padding, (str, int)) else tuple(padding)


@settings(max_examples=80, deadline=None)
@given(conv_problems())
def test_conv2d_matches_torch_autograd(torch, p):
    F = torch.nn.functional
    x4, w4, dY4 = as_nchw(p)
    xt = torch.tensor(x4, requires_grad=True)
    wt = torch.tensor(w4, requires_grad=True)
    bt = None if p["b"] is None else torch.tensor(p["b"], requires_grad=True)
    kw = p["kw"]
    yt = F.conv2d(xt, wt, bt, stride=kw["stride"], padding=_torch_padding(kw["padding"]),
                  dilation=kw["dilation"], groups=kw["groups"])
    yt.backward(torch.tensor(dY4))

    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **kw)
    grads = trace.backward(p["dY"])
    np.testing.assert_allclose(trace.y.reshape(yt.shape), yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grads.x.reshape(x4.shape), xt.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grads.w.reshape(w4.shape), wt.grad.numpy(), rtol=0, atol=TOL)
    if bt is not None:
        np.testing.assert_allclose(grads.b, bt.grad.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_mini_cnn_chain_matches_torch(torch, pool):
    """mse_loss(pool(relu(conv2d(x, w, b))), t), traced end to end, against autograd."""
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    target = rng.standard_normal((2, 4, 2, 2))

    rec = cg.Recorder()
    xs, ws, bs = rec.input(x), rec.weight(w), rec.bias(b)
    h = cg.relu(cg.conv2d(xs, ws, bs, padding=1, stride=2))
    h = cg.max_pool2d(h, 2) if pool == "max" else cg.avg_pool2d(h, 2)
    trace = rec.trace(cg.mse_loss(h, target))
    grads = trace.backward()

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ht = F.relu(F.conv2d(xt, wt, bt, padding=1, stride=2))
    ht = F.max_pool2d(ht, 2) if pool == "max" else F.avg_pool2d(ht, 2)
    loss = F.mse_loss(ht, torch.tensor(target))
    loss.backward()
    assert trace.y == pytest.approx(loss.item(), abs=TOL)
    for name, t in (("x", xt), ("w", wt), ("b", bt)):
        np.testing.assert_allclose(grads[name], t.grad.numpy(), rtol=0, atol=TOL)


def test_two_layers_sum_and_mean_match_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    x, w1, w2 = rng.standard_normal((1, 2, 8, 8)), rng.standard_normal((4, 1, 3, 3)), rng.standard_normal((2, 4, 2, 2))
    rec = cg.Recorder()
    xs, w1s, w2s = rec.input(x), rec.weight(w1, "w1"), rec.weight(w2, "w2")
    h = cg.relu(cg.conv2d(xs, w1s, groups=2, dilation=2))
    out = cg.mean(cg.conv2d(h, w2s, stride=2))
    grads = rec.trace(out).backward()

    xt, w1t, w2t = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
    F.conv2d(F.relu(F.conv2d(xt, w1t, groups=2, dilation=2)), w2t, stride=2).mean().backward()
    for name, t in (("x", xt), ("w1", w1t), ("w2", w2t)):
        np.testing.assert_allclose(grads[name], t.grad.numpy(), rtol=0, atol=TOL)


def test_scalar_ops_match_torch(torch):
    rec = cg.Recorder()
    a, b = rec.value(1.5), rec.value(-0.75)
    expr = ((a * b + a / b - b) ** 3).tanh() + (a - b).exp() + (a * a).log() + (-a).relu() + a.maximum(b) * b
    rec.trace(expr).backward()
    at, bt = torch.tensor(1.5, requires_grad=True), torch.tensor(-0.75, requires_grad=True)
    et = ((at * bt + at / bt - bt) ** 3).tanh() + (at - bt).exp() + (at * at).log() + (-at).relu() + torch.maximum(at, bt) * bt
    et.backward()
    assert expr.data == pytest.approx(et.item(), abs=TOL)
    assert a.grad == pytest.approx(at.grad.item(), abs=TOL)
    assert b.grad == pytest.approx(bt.grad.item(), abs=TOL)
