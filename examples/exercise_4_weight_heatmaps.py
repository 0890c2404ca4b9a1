"""Exercise 4: weight-gradient heatmaps.

dW[u,v] = Σ dY[i,j]·x[i+u, j+v]: dW is the sum of the input patches the outputs saw, each weighted by
its output's dY. On the kit's 5×5 image patch with a diagonal edge (``lessons.EDGE``) and the Sobel
kernel, four losses seed four dYs: loss = y[0,0] (dY one-hot: dW is exactly the patch y[0,0] saw,
across the edge), loss = y[2,2] (the bright patch at the bottom right), loss = y[0,0] − y[2,2] (their
difference: the sign of dY flips a patch) and loss = the mean of y (dY = 1/9 everywhere: the average
patch, the edge blurred). One scale for every dW, so the four compare. (On the lesson's 0..24 ramp
every dY gives the same ramp: a sum of shifted ramps is a ramp.) Writes outputs/ex4_dw_heatmaps.png
(1280×720), the focus view of the shared weight w[1,0] for dY = ones (outputs/ex4_focus_w10.svg)
and outputs/ex4_weight_grad.gif.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import convgraph as cg
from convgraph import draw_grid
from convgraph.lessons import EDGE
from convgraph.renderers import style

out = Path("outputs")
out.mkdir(exist_ok=True)

x, w = EDGE.arrays()  # the kit's 5×5 image patch with a diagonal edge (H, W), the 3×3 Sobel kernel (KH, KW)
trace = cg.trace_conv2d(x, w)


def one_hot(i, j):
    dY = np.zeros((3, 3))  # (OH, OW)
    dY[i, j] = 1.0
    return dY


seeds = {"loss = y[0,0]": one_hot(0, 0), "loss = y[2,2]": one_hot(2, 2),
         "loss = y[0,0] - y[2,2]": one_hot(0, 0) - one_hot(2, 2), "loss = mean of y": np.full((3, 3), 1 / 9)}
dWs = {}
for title, dY in seeds.items():
    dWs[title] = trace.backward(dY).w  # (KH, KW)
    print(f"{title}: dW = {dWs[title].tolist()}")
assert np.array_equal(dWs["loss = y[0,0]"], x[0:3, 0:3])  # one-hot dY: dW is the patch that output saw
assert np.array_equal(dWs["loss = y[2,2]"], x[2:5, 2:5])
assert np.allclose(dWs["loss = mean of y"], sum(x[i:i + 3, j:j + 3] for i in range(3) for j in range(3)) / 9)

# A 1280×720 slide: x with the two patches outlined, then per loss its dY over its dW; one scale per row.
fig = plt.figure(figsize=(12.8, 7.2), dpi=100, layout="constrained")
grid = fig.add_gridspec(2, 5, width_ratios=[1.4, 1, 1, 1, 1])
ax_x = fig.add_subplot(grid[:, 0])
im = draw_grid(ax_x, x, signed=False, cmap=style.VALUE_CMAP, fontsize_pt=15, title_pt=15,
               title="x: the image patch\nsolid: what y[0,0] saw\ndashed: what y[2,2] saw")
for (i, j), dash in [((0, 0), "-"), ((2, 2), "--")]:
    ax_x.add_patch(Rectangle((j - 0.45, i - 0.45), 2.9, 2.9, fill=False, edgecolor=style.CURRENT, linewidth=3,
                             linestyle=dash, path_effects=style.halo(3, 2)))
bar = fig.colorbar(im, ax=ax_x, location="bottom", shrink=0.9, pad=0.02)
bar.set_label("x", fontsize=14)
bar.ax.tick_params(labelsize=12)

dY_axes = [fig.add_subplot(grid[0, k + 1]) for k in range(len(seeds))]
dW_axes = [fig.add_subplot(grid[1, k + 1]) for k in range(len(seeds))]
dW_max = max(float(np.abs(g).max()) for g in dWs.values())
for ax_dY, ax_dW, (title, dY) in zip(dY_axes, dW_axes, seeds.items()):
    im_dY = draw_grid(ax_dY, dY, vmax=1.0, title=title.replace(" = ", " =\n").replace("-", "−"), title_pt=15,
                      fontsize_pt=15, fmt=lambda v: "1/9" if np.isclose(v, 1 / 9) else f"{v:g}")
    im_dW = draw_grid(ax_dW, dWs[title], vmax=dW_max, fontsize_pt=15, fmt="{:.3g}")
dY_axes[0].set_ylabel("dY", fontsize=16)
dW_axes[0].set_ylabel("dW", fontsize=16)
for im, axes, label in [(im_dY, dY_axes, "dY"), (im_dW, dW_axes, "dW (one scale for all four)")]:
    bar = fig.colorbar(im, ax=axes, shrink=0.9, pad=0.02)
    bar.set_label(label, fontsize=14)
    bar.ax.tick_params(labelsize=12)
fig.suptitle("Exercise 4: dW[u,v] = Σ dY[i,j]·x[i+u, j+v], the patches of x weighted by dY", fontsize=18)
fig.savefig(out / "ex4_dw_heatmaps.png")
print("wrote", out / "ex4_dw_heatmaps.png")

trace.backward()  # dY = ones (loss = Σ y) for the focus view and the clip: whole numbers in every label
print("wrote", cg.render_graph(trace, out / "ex4_focus_w10.svg", focus=("w", (1, 0)), size="slide"))
print("wrote", cg.animate(trace, out / "ex4_weight_grad.gif", scene="weight-grad", size="slide", progress=False))
