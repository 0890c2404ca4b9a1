"""Exercise 5: backpropagation through a dilated convolution.

A 3×3 kernel with dilation 2 spans 5×5 of a 7×7 input with holes between its taps. Backprop scatters
each dY[i,j]·W into that spread-out patch, so dX skips every other element near the edges, and dX is
the full convolution of dY with the *dilated* kernel rotated 180°. Writes outputs/ex5_dilated_graph.svg,
outputs/ex5_focus_x33.svg, outputs/ex5_input_grad.gif and outputs/ex5_dx.png.
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
trace = cg.trace_conv2d(x, w, dilation=2)
grads = trace.backward()  # dY = ones
print(f"x {x.shape} ⊛ w {w.shape}, dilation 2 -> y {trace.y.shape}")
print("dW =", grads.w.tolist())
print("dX =", grads.x.tolist())

# dX as a full convolution: the kernel dilated (zeros in its holes), rotated 180°, over dY padded by 4.
w_dilated = np.zeros((5, 5))
w_dilated[::2, ::2] = w
dY_padded = np.pad(np.ones((3, 3)), 4)
dX_full = cg.conv2d_forward(dY_padded, w_dilated[::-1, ::-1])
print("dX = full convolution of dY with rot180(dilated W):", np.array_equal(dX_full, grads.x))
assert np.array_equal(dX_full, grads.x)

print("wrote", cg.render_graph(trace, out / "ex5_dilated_graph.svg"))
print("wrote", cg.render_graph(trace, out / "ex5_focus_x33.svg", focus=("x", (3, 3))))
print("wrote", cg.animate(trace, out / "ex5_input_grad.gif", scene="input-grad"))

fig, axes = plt.subplots(1, 2, figsize=(8, 4), dpi=100)
for ax, (title, g) in zip(axes, [("dilated kernel (zeros in the holes)", w_dilated), ("dX", grads.x)]):
    draw_grid(ax, g, title=title)
fig.suptitle("Exercise 5: dX through a dilation-2 kernel")
fig.tight_layout()
fig.savefig(out / "ex5_dx.png")
print("wrote", out / "ex5_dx.png")
