"""The stamp learning as a clip: a :func:`~convgraph.tracer.fit.fit_kernel` history, one frame per
gradient-descent step: the kernel W reshaping, this step's dW as signed heat (every location's
feedback, summed by weight sharing), the output approaching the target, and the loss curve.
"""

from __future__ import annotations

import numpy as np

from ...tracer.params import conv_spec
from ..numbers import num
from .grid_scenes import SceneBuilder, check_frames, chunks, grad_scale, titled, value_scale

__all__ = ["train_scene"]


def _views(history):
    """The spec, and the history's arrays in (O, C/groups, KH, KW) and (N, O, OH, OW) form."""
    w0 = history.weights[0]
    b0 = None if history.biases is None else history.biases[0]
    spec = conv_spec(history.x.shape, w0.shape, None if b0 is None else b0.shape, **history.options)
    weights = np.stack([w.reshape(spec.O, spec.Cg, spec.KH, spec.KW) for w in history.weights])
    grads = np.stack([g.reshape(weights.shape[1:]) for g in history.grads])
    outputs = np.stack([y.reshape(spec.N, spec.O, spec.OH, spec.OW) for y in history.outputs])
    return spec, weights, grads, outputs, history.target.reshape(spec.N, spec.O, spec.OH, spec.OW)


def _panels(b, spec, weights, target, losses):
    """W and dW per (o, c), y and the target of the first sample per o, the loss (x stays out of the
    picture: the kernel is what changes); W to two decimals, dW and y to one, so that numbers
    changing every step stay short and large enough to read."""
    w_names = spec.lead_names("w")
    for o in range(spec.O):
        for ch in range(spec.Cg):
            lead = spec.w_lead(o, ch)
            b.panel(f"W:{o},{ch}", titled("W", w_names, lead), 1, o, ch, "W", weights[0, o, ch], dynamic=True,
                    decimals=2)
            b.panel(f"dW:{o},{ch}", titled("dW", w_names, lead), 2, o, ch, "dW", np.full(weights.shape[3:], np.nan),
                    dynamic=True, decimals=1)
    for o in range(spec.O):
        lead = spec.y_lead(0, o)
        b.panel(f"y:{o}", titled("y", spec.lead_names("y"), lead), 3, o, 0, "y", np.full(target.shape[2:], np.nan),
                dynamic=True, decimals=1)
        b.panel(f"t:{o}", titled("target", spec.lead_names("y"), lead), 4, o, 0, "y", target[0, o])
    b.panel("loss", "loss", 5, 0, 0, "y", np.full((4, 6), np.nan), dynamic=True, curve=np.asarray(losses, float))


def train_scene(history, max_frames=400):
    """One frame per step k = 0 … steps (several per frame on long runs): W after k steps, the dW
    computed there, the first sample's output beside its target, and the loss so far."""
    spec, weights, grads, outputs, target = _views(history)
    losses = np.asarray(history.losses, float)
    runs = chunks(list(range(len(losses))), check_frames(max_frames))
    b = SceneBuilder(None)
    b.scales = {"W": value_scale("W (the kernel)", weights),
                "dW": grad_scale("dW (this step's gradient)", grads),
                "y": value_scale("y and the target", outputs[:, 0], target[0])}
    _panels(b, spec, weights, target, losses)
    caption = (f"gradient descent on the shared kernel: dW sums every location's feedback (weight sharing), "
               f"then W ← W − lr·dW, lr {history.lr:g}; loss = mean((y − target)²) over "
               f"{spec.N} sample{'s' * (spec.N != 1)}")
    so_far = np.full(len(losses), np.nan)
    for run in runs:
        k = run[-1]
        so_far[:k + 1] = losses[:k + 1]
        values = {"loss": so_far.copy()}
        values.update({f"W:{o},{ch}": weights[k, o, ch] for o in range(spec.O) for ch in range(spec.Cg)})
        values.update({f"dW:{o},{ch}": grads[k, o, ch] for o in range(spec.O) for ch in range(spec.Cg)})
        values.update({f"y:{o}": outputs[k, 0, o] for o in range(spec.O)})
        move = "the kernel it ended with" if k == len(losses) - 1 else f"W ← W − {history.lr:g}·dW next"
        title = f"step {k} of {len(losses) - 1}: loss {num(losses[k])}; dW at this W; {move}"
        b.frame(values, {}, (), title, caption)
    return b.build("train", {"W": weights[-1], "dW": grads[-1], "y": outputs[-1], "loss": losses})
