"""Exercise 1: change the stride and the dilation and recompute the gradients.

The same 7×7 input and 3×3 kernel under four settings. With stride s and dilation d,
dW[u,v] = Σ dY[i,j]·x[i·s + u·d, j·s + v·d]: a larger stride makes fewer outputs and so fewer terms
in each sum; dilation spreads each weight's taps apart. dX shows which input elements were used, and
how often. Writes outputs/ex1_stride_dilation.png (1280×720, for each setting: dW, dX, and how many
multiplies each input element feeds, read off the graph; one colour scale per row, so the settings
compare) and one GIF of dW building up per setting.
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

x = np.arange(49, dtype=float).reshape(7, 7)  # (H, W)
w = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # (KH, KW)
settings = [(1, 1), (2, 1), (1, 2), (2, 2)]  # (stride, dilation)

columns = []  # per setting: (stride, dilation, y's shape, dW, dX, uses of x)
for stride, dilation in settings:
    trace = cg.trace_conv2d(x, w, stride=stride, dilation=dilation)
    grads = trace.backward()  # dY = ones
    dW_ref, dX_ref = cg.conv2d_backward(x, w, np.ones(trace.y.shape), stride=stride, dilation=dilation)
    assert np.allclose(grads.w, dW_ref) and np.allclose(grads.x, dX_ref)
    print(f"stride {stride}, dilation {dilation}: y {trace.y.shape}, {trace.counts()['mul']} multiplies")
    print("  dW =", grads.w.tolist())
    uses = np.array([[trace.graph.out_degree(int(n)) for n in row] for row in trace.tensors["x"].nodes])  # (H, W)
    print("  input elements used:", int((uses > 0).sum()), "of", x.size)
    columns.append((stride, dilation, trace.y.shape, grads.w, grads.x, uses))
    cg.animate(trace, out / f"ex1_weight_grad_s{stride}_d{dilation}.gif", scene="weight-grad", size="slide",
               progress=False)

# One figure for a 1280×720 slide: a row per quantity, a column per setting, one colour scale per row
# (dW's largest entry falls from 800 to 160 as the outputs, and so the terms of each sum, get fewer).
rows = [("dW", 3, True), ("dX", 4, True), ("uses of x", 5, False)]  # (name, index into a column, signed)
fig, axes = plt.subplots(3, len(settings), figsize=(12.8, 7.2), dpi=100, layout="constrained")
for r, (name, k, signed) in enumerate(rows):
    vmax = max(float(np.abs(col[k]).max()) for col in columns) or 1.0
    for c, col in enumerate(columns):
        stride, dilation, (oh, ow) = col[:3]
        im = draw_grid(axes[r, c], col[k], vmax=vmax, signed=signed, fontsize_pt=15 if name == "dW" else 11,
                       title=f"stride {stride}, dilation {dilation}\ny {oh}×{ow}: {oh * ow} terms in each dW"
                       if r == 0 else None, title_pt=14)
    axes[r, 0].set_ylabel(name, fontsize=16)
    bar = fig.colorbar(im, ax=axes[r, :], shrink=0.9, aspect=12, pad=0.01)
    bar.ax.tick_params(labelsize=12)
fig.suptitle("Exercise 1: the same x (7×7 ramp) and W (Sobel), dY = ones; one colour scale per row",
             fontsize=17)
fig.savefig(out / "ex1_stride_dilation.png")
print("wrote", out / "ex1_stride_dilation.png")
