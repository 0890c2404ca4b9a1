"""Exercise 4: weight-gradient heatmaps.

For the lesson's 5×5 input and 3×3 kernel, dW under three seeds dY: ones (loss = sum y), one-hot at
the centre output, and ones in the left column only. dW[u,v] = Σ dY[i,j]·x[i+u, j+v]: with a one-hot dY, dW is
exactly the input patch that output saw. Writes outputs/ex4_dw_heatmaps.png, the focus view of the
shared weight w[1,1] (outputs/ex4_focus_w11.svg) and outputs/ex4_weight_grad.gif.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import convgraph as cg
from convgraph import draw_grid
from convgraph.lessons import LESSON

out = Path("outputs")
out.mkdir(exist_ok=True)

x, w = LESSON.arrays()  # the lesson: x = 0..24 as 5×5 (H, W), the 3×3 Sobel kernel (KH, KW)
trace = cg.trace_conv2d(x, w)

one_hot = np.zeros((3, 3))
one_hot[1, 1] = 1.0
seeds = {"dY = ones": np.ones((3, 3)), "dY = one-hot at y[1,1]": one_hot,
         "dY = ones in the left column": np.array([[1.0, 0, 0], [1, 0, 0], [1, 0, 0]])}

fig, axes = plt.subplots(1, len(seeds), figsize=(3.6 * len(seeds), 3.8), dpi=100)
for ax, (title, dY) in zip(axes, seeds.items()):
    dW = trace.backward(dY).w
    print(f"{title}: dW = {dW.tolist()}")
    fig.colorbar(draw_grid(ax, dW, title=title, fontsize_pt=10, ticks=True), ax=ax, fraction=0.046)
assert np.array_equal(trace.backward(one_hot).w, x[1:4, 1:4])  # one-hot dY: dW is the patch
fig.suptitle("Exercise 4: dW[u,v] = Σ dY[i,j]·x[i+u, j+v] for three seeds")
fig.tight_layout()
fig.savefig(out / "ex4_dw_heatmaps.png")
print("wrote", out / "ex4_dw_heatmaps.png")

trace.backward()  # back to dY = ones for the pictures
print("wrote", cg.render_graph(trace, out / "ex4_focus_w11.svg", focus=("w", (1, 1))))
print("wrote", cg.animate(trace, out / "ex4_weight_grad.gif", scene="weight-grad"))
