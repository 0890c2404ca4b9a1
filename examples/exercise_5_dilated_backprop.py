"""Exercise 5: backpropagation through a dilated convolution.

A 3×3 kernel with dilation 2 spans 5×5 of a 7×7 input with holes between its taps. Backprop scatters
each dY[i,j]·W into that spread-out patch: a one-hot dY leaves one imprint of W, its nine taps two
apart with zeros in the holes; dY = ones adds nine such imprints, so rows and columns that only some
taps reach differ from their neighbours. dX is the full convolution of dY with the *dilated* kernel
rotated 180°. The focus view shows an input whose gradient is not zero, chosen from the tracer's
answers: of the inputs fed into the most outputs, the first with dX ≠ 0. Writes
outputs/ex5_dilated_graph.svg, outputs/ex5_focus_x<i><j>.svg, outputs/ex5_input_grad.gif and
outputs/ex5_dx.png (1280×720: the dilated kernel, dX for the two dYs, one scale).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import convgraph as cg
from convgraph import draw_grid
from convgraph.renderers import style

out = Path("outputs")
out.mkdir(exist_ok=True)

x = np.arange(49, dtype=float).reshape(7, 7)  # (H, W)
w = np.array([[2.0, 1.0, -1.0], [1.0, -2.0, -1.0], [-1.0, -1.0, 2.0]])  # (KH, KW): no zero tap, so every 0 of
                                                                          # an imprint is a hole
trace = cg.trace_conv2d(x, w, dilation=2)
print(f"x {x.shape} ⊛ w {w.shape}, dilation 2 -> y {trace.y.shape}")

one_hot = np.zeros((3, 3))  # (OH, OW)
one_hot[1, 1] = 1.0
dX_one = trace.backward(one_hot).x  # (H, W): one imprint of W, its taps two apart
print("dY one-hot at y[1,1]: dX =", dX_one.tolist())
grads = trace.backward()  # dY = ones, also the seed of the pictures below
print("dW =", grads.w.tolist())
print("dX =", grads.x.tolist())

# dX as a full convolution: the kernel dilated (zeros in its holes), rotated 180°, over dY padded by 4.
w_dilated = np.zeros((5, 5))  # (5, 5)
w_dilated[::2, ::2] = w
assert np.array_equal(dX_one[1:6, 1:6], w_dilated)  # the one-hot's imprint is the dilated kernel itself
dY_padded = np.pad(np.ones((3, 3)), 4)  # (11, 11)
dX_full = cg.conv2d_forward(dY_padded, w_dilated[::-1, ::-1])
print("dX = full convolution of dY with rot180(dilated W):", np.array_equal(dX_full, grads.x))
assert np.array_equal(dX_full, grads.x)

# The input to focus on: fed into the most outputs (most arrows to follow), and with a gradient to show.
feeds = np.array([[trace.graph.out_degree(int(n)) for n in row] for row in trace.tensors["x"].nodes])  # (H, W)
candidates = [(int(feeds[ij]), ij) for ij in np.ndindex(x.shape) if grads.x[ij] != 0]
most = max(n for n, _ in candidates)
focus = next(ij for n, ij in candidates if n == most)
assert grads.x[focus] != 0
i, j = focus
print(f"focus x[{i},{j}]: feeds {most} outputs, dX[{i},{j}] = {grads.x[focus]:g}")

print("wrote", cg.render_graph(trace, out / "ex5_dilated_graph.svg", size="slide"))
print("wrote", cg.render_graph(trace, out / f"ex5_focus_x{i}{j}.svg", focus=("x", focus), size="slide"))
print("wrote", cg.animate(trace, out / "ex5_input_grad.gif", scene="input-grad", size="slide", progress=False))

# A 1280×720 slide: the dilated kernel, one imprint, nine imprints summed; one scale for all three.
fig, axes = plt.subplots(1, 3, figsize=(12.8, 7.2), dpi=100, layout="constrained")
fig.get_layout_engine().set(w_pad=0.1, wspace=0.04)
panels = [("W dilated by 2\n(zeros in the holes)", w_dilated),
          ("dX for dY one-hot at y[1,1]:\none imprint of W", dX_one),
          (f"dX for dY = ones: nine imprints\noutlined: x[{i},{j}], the focus view", grads.x)]
vmax = max(float(np.abs(g).max()) for _, g in panels)
for ax, (title, g) in zip(axes, panels):
    im = draw_grid(ax, g, title=title, vmax=vmax, title_pt=16, fontsize_pt=20 if g.shape[0] == 5 else 16)
axes[2].add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor=style.CURRENT, linewidth=3,
                            path_effects=style.halo(3, 2)))
bar = fig.colorbar(im, ax=axes, location="bottom", shrink=0.5, aspect=40)
bar.set_label("W and dX, one scale", fontsize=14)
bar.ax.tick_params(labelsize=12)
fig.suptitle("Exercise 5: backprop through a dilation-2 kernel scatters W with holes into dX", fontsize=18)
fig.savefig(out / "ex5_dx.png")
print("wrote", out / "ex5_dx.png")
