"""The lesson notebook's first cells as a script (examples/day17_lesson.ipynb has them all): the
shapes of a traced 5×5 ⊛ 3×3 convolution, then the animations. Writes outputs/01_conv_backprop.gif
and outputs/lesson_backprop.gif."""

# %% Cell 1: shapes. A 5×5 input, a 3×3 Sobel kernel, dY of ones (loss = sum of y).
from pathlib import Path

import convgraph as cg
from convgraph.lessons import LESSON

Path("outputs").mkdir(exist_ok=True)

x, w = LESSON.arrays()  # x = 0..24 as 5×5 (H, W); w the 3×3 Sobel kernel (KH, KW)
print("x =", x.tolist())
print("w =", w.tolist())

trace = cg.trace_conv2d(x, w)
grads = trace.backward()  # dY = ones

print(f"x {x.shape}  w {w.shape}  ->  y {trace.y.shape}")
print(f"dY {trace.dY.shape}  ->  dW {grads.w.shape}  dX {grads.x.shape}")
print("y =", trace.y.tolist())
print("dW[u,v] = sum_ij dY[i,j] * x[i+u, j+v] =", grads.w.tolist())
print("dX = full convolution of dY with rot180(W) =", grads.x.tolist())
counts = trace.counts()
print(f"graph: {trace.graph.number_of_nodes()} nodes ({', '.join(f'{n} {op}' for op, n in counts.items())}), "
      f"{trace.graph.number_of_edges()} edges")

# %% Cell 2: the animations. The lesson notebook's clip (convgraph.lessons.SEED_CLIP: 8×8 input, 2×2
# kernel, forward window beside dW accumulating), then the forward-and-backward clip of the 5×5 lesson.
path = cg.anim_conv_backprop()  # -> outputs/01_conv_backprop.gif
print("wrote", path)
print("wrote", cg.animate(trace, "outputs/lesson_backprop.gif", scene="backprop"))
