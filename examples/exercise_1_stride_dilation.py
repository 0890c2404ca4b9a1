"""Exercise 1: change the stride and the dilation and recompute the gradients.

The same 7×7 input and 3×3 kernel under four settings. With stride s and dilation d,
dW[u,v] = Σ dY[i,j]·x[i·s + u·d, j·s + v·d]: a larger stride makes fewer outputs and so fewer terms
in each sum; dilation spreads each weight's taps apart. dX shows which input elements were used, and
how often. Writes outputs/ex1_stride_dilation.png (for each setting: dW, dX, and how many multiplies
each input element feeds, read off the graph) and one GIF of dW building up per setting.
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

fig, axes = plt.subplots(3, len(settings), figsize=(3.2 * len(settings), 9.6), dpi=100)
for col, (stride, dilation) in enumerate(settings):
    trace = cg.trace_conv2d(x, w, stride=stride, dilation=dilation)
    grads = trace.backward()  # dY = ones
    dW_ref, dX_ref = cg.conv2d_backward(x, w, np.ones(trace.y.shape), stride=stride, dilation=dilation)
    assert np.allclose(grads.w, dW_ref) and np.allclose(grads.x, dX_ref)
    print(f"stride {stride}, dilation {dilation}: y {trace.y.shape}, {trace.counts()['mul']} multiplies")
    print("  dW =", grads.w.tolist())
    uses = np.array([[trace.graph.out_degree(int(n)) for n in row] for row in trace.tensors["x"].nodes])
    print("  input elements used:", int((uses > 0).sum()), "of", x.size)

    for row, (name, g) in enumerate([("dW", grads.w), ("dX", grads.x), ("uses of x", uses)]):
        # gradients on the diverging map, counts on the heat map
        draw_grid(axes[row, col], g, title=f"{name}: stride {stride}, dilation {dilation}",
                  signed=name != "uses of x", fontsize_pt=8)

    cg.animate(trace, out / f"ex1_weight_grad_s{stride}_d{dilation}.gif", scene="weight-grad")

fig.suptitle("Exercise 1: the same x and W, four strides and dilations (dY = ones)")
fig.tight_layout()
fig.savefig(out / "ex1_stride_dilation.png")
print("wrote", out / "ex1_stride_dilation.png")
