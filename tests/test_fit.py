"""The stamp learning: fit_kernel's gradient descent, each step's gradient from the graph's walk,
against PyTorch's SGD step for step."""

import numpy as np
import pytest

import convgraph as cg

SOBEL = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])


def sobel_problem(rng, n=3):
    """A few random images and what the Sobel kernel makes of them: the kernel to learn."""
    x = rng.integers(0, 5, (n, 1, 6, 6)).astype(float)
    target = cg.conv2d_forward(x, SOBEL.reshape(1, 1, 3, 3))
    return x, target


@pytest.mark.parametrize("bias, options", [(False, {}), (True, {"stride": 2, "padding": 1}),
                                           (False, {"dilation": 2})])
def test_ten_steps_match_torch_sgd(torch, bias, options):
    rng = np.random.default_rng(11)
    x, _ = sobel_problem(rng)
    w0 = rng.standard_normal((1, 1, 3, 3))
    b0 = np.array([0.3]) if bias else None
    target = rng.standard_normal(cg.conv_spec(x.shape, w0.shape, **options).y_shape)
    history = cg.fit_kernel(x, target, w0, b0=b0, lr=0.01, steps=10, **options)

    F = torch.nn.functional
    wt = torch.tensor(w0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True) if bias else None
    opt = torch.optim.SGD([wt] + ([bt] if bias else []), lr=0.01)
    for k in range(11):
        opt.zero_grad()
        loss = F.mse_loss(F.conv2d(torch.tensor(x), wt, bt, **options), torch.tensor(target))
        loss.backward()
        np.testing.assert_allclose(history.weights[k], wt.detach().numpy(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(history.grads[k], wt.grad.numpy(), rtol=0, atol=1e-9)
        assert history.losses[k] == pytest.approx(loss.item(), abs=1e-9)
        if bias:
            np.testing.assert_allclose(history.biases[k], bt.detach().numpy(), rtol=0, atol=1e-9)
        opt.step()
    assert len(history.weights) == len(history.grads) == len(history.losses) == 11 and history.steps == 10


def test_a_random_kernel_learns_the_sobel_edge_detector():
    rng = np.random.default_rng(3)
    x, target = sobel_problem(rng)
    history = cg.fit_kernel(x, target, rng.standard_normal((1, 1, 3, 3)) * 0.5, lr=0.02, steps=60)
    assert history.losses[-1] < 0.01 * history.losses[0]
    np.testing.assert_allclose(history.weights[-1][0, 0], SOBEL, atol=0.2)
    assert history.describe().startswith("x 3×1×6×6 ⊛ w 1×1×3×3 → y 3×1×4×4: 60 steps of gradient descent, lr 0.02")
    with pytest.raises(ValueError):
        history.weights[0][0, 0, 0, 0] = 1.0  # the history is a record


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(lr=0), ValueError, "lr must be a positive number, got 0"),
    (dict(steps=0), ValueError, "steps must be from 1 to 10,000, got 0"),
    (dict(steps=2.5), TypeError, "steps must be an int"),
    (dict(loss="l1"), ValueError, "loss must be 'mse'"),
    (dict(target=np.ones((3, 3))), ValueError, r"target must have the output's shape \(2, 2\)"),
    (dict(max_nodes=100), ValueError, "each step's trace would hold 1.. nodes, more than max_nodes=100"),
])
def test_refusals_before_any_work(kwargs, error, words):
    args = dict(x=np.ones((4, 4)), target=np.ones((2, 2)), w0=np.ones((3, 3)))
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(error, match=words):
        cg.fit_kernel(args["x"], args["target"], args["w0"], **kwargs)


def test_the_train_scene_shows_every_step(tmp_path):
    from convgraph.lessons import stamp_learning
    from convgraph.renderers.animations.clip import build_frames

    history = stamp_learning(steps=12)
    renderer, frames = build_frames(history, "train")
    assert len(frames) == 13  # k = 0 … 12
    last = frames[-1].values
    np.testing.assert_array_equal(last["W:0,0"], history.weights[-1][0, 0])
    np.testing.assert_array_equal(last["dW:0,0"], history.grads[-1][0, 0])
    np.testing.assert_array_equal(last["y:0"], history.outputs[-1][0, 0])
    np.testing.assert_array_equal(last["loss"], history.losses)
    assert np.isnan(frames[3].values["loss"][4:]).all() and frames[3].title.startswith("step 3 of 12: loss ")
    curve = next(p for p in renderer.scene.panels if p.key == "loss")
    assert curve.curve is not None and len(curve.curve) == 13
    renderer.close()
    path = cg.animate(history, tmp_path / "train.gif", dpi=40, progress=False)  # the history's own scene
    assert path.stat().st_size > 1000


def test_the_train_scene_takes_a_history_only(tmp_path):
    from convgraph.lessons import LESSON, stamp_learning

    with pytest.raises(ValueError, match="scene 'train' animates a fit_kernel history"):
        cg.animate(LESSON.trace(), tmp_path / "t.gif", scene="train")
    with pytest.raises(ValueError, match="scene 'train' animates a fit_kernel history"):
        cg.animate(stamp_learning(steps=2), tmp_path / "t.gif", scene="forward")


@pytest.mark.parametrize("x_shape, w_shape, b0, options", [
    ((5, 5), (3, 3), None, {}),  # the lesson's shape
    ((6, 6), (3, 3), None, {"stride": 2, "padding": 1}),
    ((2, 5, 5), (2, 1, 3, 3), np.zeros(2), {"groups": 2}),  # two channels, two groups, a bias
])
def test_the_train_scene_renders_every_variant(x_shape, w_shape, b0, options, tmp_path):
    from convgraph.renderers.animations.clip import build_frames

    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, x_shape).astype(float)
    target_w = rng.integers(-1, 2, w_shape).astype(float)
    target = cg.conv2d_forward(x, target_w, **options)
    history = cg.fit_kernel(x, target, np.zeros(w_shape), b0=b0, lr=0.01, steps=8, **options)
    renderer, frames = build_frames(history, "train")
    O, Cg = (1, 1) if len(w_shape) == 2 else w_shape[:2]
    final = np.array([[frames[-1].values[f"W:{o},{c}"] for c in range(Cg)] for o in range(O)])
    np.testing.assert_array_equal(final.reshape(w_shape), history.weights[-1])
    renderer.close()
    assert cg.animate(history, tmp_path / "train.gif", dpi=40, progress=False).exists()


def test_the_train_clips_numbers_stay_short_enough_to_read():
    """Numbers that change every step are written to fixed decimals (W to two, dW and y to one), so no
    label grows long and the font fitted to the longest stays large: the kernel's numbers are as
    large as the output's."""
    from convgraph.renderers.animations.clip import build_frames
    from convgraph.lessons import stamp_learning
    from convgraph.renderers.animations.grid_frames import _label

    assert [_label(v, 2) for v in (-0.001, 1.8649, -24.456)] == ["0.00", "1.86", "-24.46"]
    assert _label(2.0) == "2" and _label(0.37121) == "0.371"  # the rule of every view, by default
    renderer, frames = build_frames(stamp_learning(), "train", dpi=96)
    for frame in frames[::10]:
        renderer.render_rgba(frame)
        for key in ("W:0,0", "dW:0,0", "y:0"):
            assert max(len(text) for text, _ in renderer.panels[key].labels.values()) <= 5, (key, frame.title)
    assert renderer.panels["W:0,0"].font >= renderer.panels["y:0"].font
    renderer.close()
