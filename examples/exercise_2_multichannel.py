"""Exercise 2: multi-channel convolutions.

A 3-channel 6×6 input, two different 3×3×3 filters and a bias: y has one channel per filter, each
output a sum over all input channels. dW[o,c] collects from input channel c only, weighted by filter
o's own dY[o]; db[o] = Σ dY[o]; dX[c] gathers from both filters. A weight's gradient sees the
weights only through dY: with dY = ones both filters would get the same dW (the script checks it),
so the seed here is the loss ½·Σ y², whose dY = y differs from filter to filter. Small whole numbers
keep every cell readable. Writes outputs/ex2_channels.svg (the graph, collapsed past the node
budget), outputs/ex2_dw.png (1280×720: each filter's dY, and its dW per input channel on one shared
scale) and outputs/ex2_weight_grad.gif.
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
x = rng.integers(-2, 3, (3, 6, 6)).astype(float)  # (C, H, W)
w = rng.integers(-1, 2, (2, 3, 3, 3)).astype(float)  # (O, C, KH, KW): two different filters
b = np.array([1.0, -1.0])  # (O,)

trace = cg.trace_conv2d(x, w, b, padding=1)
print(f"x {x.shape} ⊛ w {w.shape} + b {b.shape} -> y {trace.y.shape}")
print("nodes by op:", trace.counts())

ones = trace.backward().w  # dY = ones: dW[u,v] = Σ x over the positions, the same for every filter
print("dY = ones: both filters get the same dW:", np.array_equal(ones[0], ones[1]))

dY = trace.y.copy()  # (O, H, W): the loss ½·Σ y² seeds each output with its own value
grads = trace.backward(dY)
print("dY = y (loss ½·Σ y²): both filters get the same dW:", np.array_equal(grads.w[0], grads.w[1]))
print("db =", grads.b.tolist(), "(each = Σ dY[o], the sum of that filter's outputs)")
print("dW =", grads.w.tolist())
dW_ref, dX_ref = cg.conv2d_backward(x, w, dY, padding=1)
assert np.allclose(grads.w, dW_ref) and np.allclose(grads.x, dX_ref)

print("wrote", cg.render_graph(trace, out / "ex2_channels.svg", size="slide"))

# A 1280×720 slide: a row per filter; its dY, then its dW for each input channel. One scale for the
# two dYs and one for all six dWs, so the filters compare.
fig, axes = plt.subplots(2, 4, figsize=(12.8, 7.2), dpi=100, layout="constrained",
                         gridspec_kw={"width_ratios": [1.25, 1, 1, 1]})
dY_max, dW_max = float(np.abs(dY).max()), float(np.abs(grads.w).max())
for o in range(2):
    im_dY = draw_grid(axes[o, 0], dY[o], vmax=dY_max, title=f"dY[{o}] = y[{o}]", title_pt=15, fontsize_pt=12)
    axes[o, 0].set_ylabel(f"filter {o}", fontsize=16)
    for c in range(3):
        im_dW = draw_grid(axes[o, c + 1], grads.w[o, c], vmax=dW_max, title=f"dW[{o},{c}]: channel {c}",
                          title_pt=15, fontsize_pt=16)
for im, where, label in [(im_dY, axes[:, 0], "dY"), (im_dW, axes[:, 1:], "dW")]:
    bar = fig.colorbar(im, ax=where, shrink=0.8, aspect=25, pad=0.02)
    bar.set_label(label, fontsize=14)
    bar.ax.tick_params(labelsize=12)
fig.suptitle("Exercise 2: one 3×3 dW per (filter, input channel); each filter's dW is weighted by its own dY",
             fontsize=17)
fig.savefig(out / "ex2_dw.png")
print("wrote", out / "ex2_dw.png")

print("wrote", cg.animate(trace, out / "ex2_weight_grad.gif", scene="weight-grad", size="slide", progress=False))
