"""The seed lesson: a 5x5 input, a 3x3 kernel, dY of ones. Prints y, dW and dX, and the graph's size."""

import numpy as np

import convgraph as cg

x = np.arange(25, dtype=float).reshape(5, 5)  # (H, W)
w = np.array([[1.0, 0.0, -1.0],
              [2.0, 0.0, -2.0],
              [1.0, 0.0, -1.0]])  # (KH, KW): a Sobel kernel

trace = cg.trace_conv2d(x, w)
grads = trace.backward()  # dY = ones: loss = sum(y)

np.set_printoptions(precision=2, suppress=True)
print(f"x {x.shape}, w {w.shape} -> y {trace.y.shape}")
print("y =\n", trace.y)
print("dW[u,v] = sum_ij dY[i,j] * x[i+u, j+v] =\n", grads.w)
print("dX = full convolution of dY with rot180(W) =\n", grads.x)
counts = trace.counts()
print(f"graph: {trace.graph.number_of_nodes()} nodes ({', '.join(f'{n} {op}' for op, n in counts.items())}), "
      f"{trace.graph.number_of_edges()} edges")
