"""Exercise 2: multi-channel convolutions.

A 3-channel 6×6 input, two 3×3×3 filters and a bias: y has one channel per filter, each output a sum
over all input channels. dW[o,c] collects from input channel c only; db[o] = Σ dY[o]; dX[c] gathers
from both filters. With dY = ones both filters get the same dW: a weight's gradient does not depend
on the weights, only on dY and the input. Writes outputs/ex2_channels.svg (the graph, collapsed past
the node budget), outputs/ex2_dw.png (dW per filter and channel) and outputs/ex2_weight_grad.gif.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import convgraph as cg
from convgraph import draw_grid

out = Path("outputs")
out.mkdir(exist_ok=True)

rng = np.random.default_rng(0)
x = rng.standard_normal((3, 6, 6)).round(1)  # (C, H, W)
w = rng.standard_normal((2, 3, 3, 3)).round(1)  # (O, C, KH, KW)
b = np.array([0.5, -0.5])  # (O,)

trace = cg.trace_conv2d(x, w, b, padding=1)
grads = trace.backward()  # dY = ones
print(f"x {x.shape} ⊛ w {w.shape} + b {b.shape} -> y {trace.y.shape}")
print("nodes by op:", trace.counts())
print("db =", grads.b.tolist(), "(each = the number of outputs of that filter, 36)")
dW_ref, dX_ref = cg.conv2d_backward(x, w, np.ones(trace.y.shape), padding=1)
assert np.allclose(grads.w, dW_ref) and np.allclose(grads.x, dX_ref)

print("wrote", cg.render_graph(trace, out / "ex2_channels.svg"))

fig, axes = plt.subplots(2, 3, figsize=(9, 6), dpi=100)
vmax = np.abs(grads.w).max()
for (o, c), ax in np.ndenumerate(np.array(axes)):
    draw_grid(ax, grads.w[o, c], title=f"dW[{o},{c}]: filter {o}, channel {c}", vmax=vmax, fmt="{:.1f}")
fig.suptitle("Exercise 2: one 3×3 dW per (filter, input channel)")
fig.tight_layout()
fig.savefig(out / "ex2_dw.png")
print("wrote", out / "ex2_dw.png")

print("wrote", cg.animate(trace, out / "ex2_weight_grad.gif", scene="weight-grad"))
