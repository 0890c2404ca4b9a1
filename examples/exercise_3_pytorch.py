"""Exercise 3: compare the graph's gradients with PyTorch autograd.

The same convolution (2 samples, 2 channels, stride 2, padding 1, a bias, a random dY) traced node by
node and run through torch.nn.functional.conv2d in float64; the largest differences are rounding
(about 1e-15), far below the tolerance of 1e-10 every tensor must meet. Writes outputs/ex3_torch.png
(1280×720): dW[0,0] from the graph and from PyTorch on one scale, and |graph − PyTorch| as numbers on
a scale that ends at the tolerance, so rounding noise stays pale.
Needs PyTorch: `make torch` installs the CPU build the tests use.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import convgraph as cg
from convgraph import draw_grid
from convgraph.check import TORCH_HINT, check_gradients

try:
    import torch
except ImportError:
    print(f"exercise 3 compares with PyTorch, which is not installed: {TORCH_HINT}", file=sys.stderr)
    sys.exit(2)

TOLERANCE = 1e-10  # every |graph − PyTorch| must stay below this; rounding is about 1e-15

out = Path("outputs")
out.mkdir(exist_ok=True)

rng = np.random.default_rng(3)
x = rng.standard_normal((2, 2, 7, 7))  # (N, C, H, W)
w = rng.standard_normal((3, 2, 3, 3))  # (O, C, KH, KW)
b = rng.standard_normal(3)  # (O,)

trace = cg.trace_conv2d(x, w, b, stride=2, padding=1)
dY = rng.standard_normal(trace.y.shape)  # (N, O, OH, OW)
grads = trace.backward(dY)

xt = torch.tensor(x, requires_grad=True)
wt = torch.tensor(w, requires_grad=True)
bt = torch.tensor(b, requires_grad=True)
yt = torch.nn.functional.conv2d(xt, wt, bt, stride=2, padding=1)
yt.backward(torch.tensor(dY))

largest = 0.0
for name, ours, theirs in [("y", trace.y, yt.detach().numpy()), ("dW", grads.w, wt.grad.numpy()),
                           ("dX", grads.x, xt.grad.numpy()), ("db", grads.b, bt.grad.numpy())]:
    diff = float(np.abs(ours - theirs).max())
    print(f"{name:<3} largest |graph - torch| = {diff:.2e} < tolerance {TOLERANCE:.0e}")
    assert diff < TOLERANCE
    largest = max(largest, diff)

report = check_gradients(trace, dY)  # the same comparison as `convgraph check`
print("\n".join(report.lines()))

# A 1280×720 slide: the two dW[0,0] on one scale, and their difference against the tolerance.
dW_graph, dW_torch = grads.w[0, 0], wt.grad.numpy()[0, 0]  # (KH, KW)
fig, axes = plt.subplots(1, 3, figsize=(12.8, 7.2), dpi=100, layout="constrained")
fig.get_layout_engine().set(w_pad=0.1, wspace=0.04)  # room between the panels
vmax = float(max(np.abs(dW_graph).max(), np.abs(dW_torch).max()))
for ax, (title, g) in zip(axes[:2], [("dW[0,0] from the graph", dW_graph), ("dW[0,0] from PyTorch", dW_torch)]):
    im = draw_grid(ax, g, title=title, vmax=vmax, fmt="{:.2f}", fontsize_pt=20, title_pt=17)
bar = fig.colorbar(im, ax=axes[:2], location="bottom", shrink=0.8, aspect=40)
bar.set_label("dW (one scale for both)", fontsize=14)
bar.ax.tick_params(labelsize=12)

# |graph − PyTorch| on the upper half of the diverging map, 0 (white) to the tolerance: 1e-15 is pale.
gap = np.abs(dW_graph - dW_torch)  # (KH, KW)
im = draw_grid(axes[2], gap, vmax=TOLERANCE, fmt=lambda v: "0" if v == 0 else f"{v:.1e}", fontsize_pt=17,
               title="|graph − PyTorch| for dW[0,0]", title_pt=17, zero_tol=0)
bar = fig.colorbar(im, ax=axes[2], location="bottom", shrink=0.8, aspect=20,
                   boundaries=np.linspace(0.0, TOLERANCE, 129), ticks=[0.0, TOLERANCE / 2, TOLERANCE],
                   format=lambda v, _: "0" if v == 0 else f"{v:.0e}")
bar.set_label(f"up to the tolerance {TOLERANCE:.0e}", fontsize=14)
bar.ax.tick_params(labelsize=12)
fig.suptitle(f"Exercise 3: the graph's gradients against PyTorch autograd\nlargest |graph − PyTorch| over y, dW, "
             f"dX and db = {largest:.1e} < tolerance {TOLERANCE:.0e}", fontsize=18)
fig.savefig(out / "ex3_torch.png")
print("wrote", out / "ex3_torch.png")
