"""Exercise 3: compare the graph's gradients with PyTorch autograd.

The same convolution (2 samples, 2 channels, stride 2, padding 1, a bias, a random dY) traced node by
node and run through torch.nn.functional.conv2d in float64; the largest differences are rounding
(about 1e-15). Writes outputs/ex3_torch.png: dW from the graph, from PyTorch, and their difference.
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

for name, ours, theirs in [("y", trace.y, yt.detach().numpy()), ("dW", grads.w, wt.grad.numpy()),
                           ("dX", grads.x, xt.grad.numpy()), ("db", grads.b, bt.grad.numpy())]:
    diff = np.abs(ours - theirs).max()
    print(f"{name:<3} largest |graph - torch| = {diff:.2e}")
    assert diff < 1e-10

report = check_gradients(trace, dY)  # the same comparison as `convgraph check`
print("\n".join(report.lines()))

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), dpi=100)
panels = [("dW[0,0] from the graph", grads.w[0, 0]), ("dW[0,0] from PyTorch", wt.grad.numpy()[0, 0]),
          ("difference", grads.w[0, 0] - wt.grad.numpy()[0, 0])]
for ax, (title, g) in zip(axes, panels):
    draw_grid(ax, g, title=title, fmt="{:.2g}")
fig.suptitle(f"Exercise 3: graph vs PyTorch autograd, largest difference {report.largest.max_abs_diff:.1e}")
fig.tight_layout()
fig.savefig(out / "ex3_torch.png")
print("wrote", out / "ex3_torch.png")
