"""Trace + full node-by-node backward: convgraph against micrograd doing the same convolution.

Both build one scalar node per multiply and add of a convolution and backpropagate dY = ones
(micrograd sums the outputs into one loss Value and calls its ``backward()``; convgraph seeds the
outputs with ones and walks its NetworkX graph). The cases are conv2d, conv1d and conv_transpose2d;
micrograd makes the same sums, each output's products in (c, u, v) order, found by its own loops.
Run: ``python benchmarks/bench_tracer.py`` (needs the ``bench`` extra: ``pip install -e '.[bench]'``).
"""

import argparse
import gc
import platform
import statistics
import sys
import threading
import time
import tracemalloc

import numpy as np

import convgraph as cg

CASES = [  # (label, op, x shape, w shape, options)
    ("1x1x28x28 * 1x1x3x3", "conv2d", (1, 1, 28, 28), (1, 1, 3, 3), {}),
    ("1x3x32x32 * 8x3x3x3", "conv2d", (1, 3, 32, 32), (8, 3, 3, 3), {}),
    ("1x3x64x64 * 8x3x3x3", "conv2d", (1, 3, 64, 64), (8, 3, 3, 3), {}),
    ("conv1d 1x8x1024 * 8x8x5", "conv1d", (1, 8, 1024), (8, 8, 5), {}),
    ("transp. 1x8x16x16 * 8x8x3x3 s2", "conv_transpose2d", (1, 8, 16, 16), (8, 8, 3, 3), {"stride": 2}),
]


def run_convgraph(op, x, w, options):
    trace = getattr(cg, f"trace_{op}")(x, w, **options)
    trace.backward()
    return trace.graph.number_of_nodes()


def _pairs(op, x_shape, w_shape, options):
    """For every output, the (x index, w index) pairs of its sum in (c, u, v) order, by plain loops
    (stride 1 and no padding, except a transposed convolution's stride)."""
    if op == "conv1d":
        _, C, L = x_shape
        O, _, K = w_shape
        return [[((c, j + k), (o, c, k)) for c in range(C) for k in range(K)]
                for o in range(O) for j in range(L - K + 1)]
    if op == "conv2d":
        _, C, H, W = x_shape
        O, _, KH, KW = w_shape
        return [[((c, i + u, j + v), (o, c, u, v)) for c in range(C) for u in range(KH) for v in range(KW)]
                for o in range(O) for i in range(H - KH + 1) for j in range(W - KW + 1)]
    _, C, H, W = x_shape  # conv_transpose2d: x[c, a, b] lands on y[o, a·s + u, b·s + v] through w[c, o, u, v]
    _, O, KH, KW = w_shape
    s = options.get("stride", 1)
    OH, OW = (H - 1) * s + KH, (W - 1) * s + KW
    return [[((c, (i - u) // s, (j - v) // s), (c, o, u, v)) for c in range(C) for u in range(KH) for v in range(KW)
             if (i - u) % s == 0 and (j - v) % s == 0 and 0 <= (i - u) // s < H and 0 <= (j - v) // s < W]
            for o in range(O) for i in range(OH) for j in range(OW)]


def run_micrograd(op, x, w, options):
    from micrograd.engine import Value

    xs = {idx: Value(float(v)) for idx, v in np.ndenumerate(x[0])}
    ws = {idx: Value(float(v)) for idx, v in np.ndenumerate(w)}
    nodes = len(xs) + len(ws)
    outputs = []
    for pairs in _pairs(op, x.shape, w.shape, options):
        acc = None
        for xi, wi in pairs:
            p = ws[wi] * xs[xi]
            acc = p if acc is None else acc + p
        nodes += 2 * len(pairs) - 1
        outputs.append(acc)
    loss = outputs[0]
    for y in outputs[1:]:
        loss = loss + y
    loss.backward()
    return nodes  # the convolution's nodes, as convgraph counts them (the loss sum aside)


def measure(fn, args, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        nodes = fn(*args)
        times.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), nodes, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=len(CASES), help=f"run the first N cases (default: all {len(CASES)})")
    parser.add_argument("--op", choices=("conv2d", "conv1d", "conv_transpose2d"), help="only this op's cases")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case; the median is shown")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}; median of {args.repeat} runs; peak memory by tracemalloc (separate run)")
    header = (f"{'case':32} {'MACs':>8} | {'convgraph s':>11} {'nodes/s':>10} {'peak MB':>8} | "
              f"{'micrograd s':>11} {'nodes/s':>10} {'peak MB':>8} | {'time ratio':>10} {'mem ratio':>9}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for label, op, xs, ws, options in CASES[:args.cases]:
        if args.op and op != args.op:
            continue
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        macs = cg.conv_spec(xs, ws, op=op, **options).macs
        repeat = args.repeat if macs < 500_000 else 1
        ct, cn, cm = measure(run_convgraph, (op, x, w, options), repeat)
        mt, mn, mm = measure(run_micrograd, (op, x, w, options), repeat)
        assert cn == mn, f"{label}: convgraph made {cn:,} nodes, micrograd {mn:,}: not the same sums"
        print(f"{label:32} {macs:>8,} | {ct:>11.3f} {cn / ct:>10,.0f} {cm / 1e6:>8.1f} | "
              f"{mt:>11.3f} {mn / mt:>10,.0f} {mm / 1e6:>8.1f} | {ct / mt:>9.2f}x {cm / mm:>8.2f}x", flush=True)
    print("time ratio = convgraph / micrograd wall time (below 1: convgraph is faster); "
          "mem ratio = convgraph / micrograd peak memory")


if __name__ == "__main__":
    sys.setrecursionlimit(1_000_000)  # micrograd's topological sort recurses along the loss sum
    threading.stack_size(1 << 29)
    worker = threading.Thread(target=main)
    worker.start()
    worker.join()
