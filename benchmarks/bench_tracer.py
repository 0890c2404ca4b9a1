"""Trace + full node-by-node backward: convgraph against micrograd doing the same convolution.

Both build one scalar node per multiply and add of a convolution and backpropagate dY = ones
(micrograd sums the outputs into one loss Value and calls its ``backward()``; convgraph seeds the
outputs with ones and walks its NetworkX graph). Run: ``python benchmarks/bench_tracer.py``
(needs the ``bench`` extra: ``pip install -e '.[bench]'``).
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

CASES = [  # (label, x shape, w shape)
    ("1x1x28x28 * 1x1x3x3", (1, 1, 28, 28), (1, 1, 3, 3)),
    ("1x3x32x32 * 8x3x3x3", (1, 3, 32, 32), (8, 3, 3, 3)),
    ("1x3x64x64 * 8x3x3x3", (1, 3, 64, 64), (8, 3, 3, 3)),
]


def run_convgraph(x, w):
    trace = cg.trace_conv2d(x, w)
    trace.backward()
    return trace.graph.number_of_nodes()


def run_micrograd(x, w):
    from micrograd.engine import Value

    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    xs = [[[Value(float(x[0, c, i, j])) for j in range(W)] for i in range(H)] for c in range(C)]
    ws = [[[[Value(float(w[o, c, u, v])) for v in range(KW)] for u in range(KH)] for c in range(C)] for o in range(O)]
    outputs = []
    for o in range(O):
        for i in range(H - KH + 1):
            for j in range(W - KW + 1):
                acc = None
                for c in range(C):
                    for u in range(KH):
                        for v in range(KW):
                            p = ws[o][c][u][v] * xs[c][i + u][j + v]
                            acc = p if acc is None else acc + p
                outputs.append(acc)
    loss = outputs[0]
    for y in outputs[1:]:
        loss = loss + y
    loss.backward()
    # nodes: leaves + one per multiply and add + the loss sum
    return C * H * W + O * C * KH * KW + 2 * len(outputs) * C * KH * KW - len(outputs) + len(outputs) - 1


def measure(fn, x, w, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        nodes = fn(x, w)
        times.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn(x, w)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), nodes, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=len(CASES), help="run the first N cases (default: all 3)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case; the median is shown")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"numpy {np.__version__}; median of {args.repeat} runs; peak memory by tracemalloc (separate run)")
    header = (f"{'case':22} {'MACs':>8} | {'convgraph s':>11} {'nodes/s':>10} {'peak MB':>8} | "
              f"{'micrograd s':>11} {'nodes/s':>10} {'peak MB':>8} | {'time ratio':>10} {'mem ratio':>9}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for label, xs, ws in CASES[:args.cases]:
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        macs = cg.conv_spec(xs, ws).macs
        repeat = args.repeat if macs < 500_000 else 1
        ct, cn, cm = measure(run_convgraph, x, w, repeat)
        mt, mn, mm = measure(run_micrograd, x, w, repeat)
        print(f"{label:22} {macs:>8,} | {ct:>11.3f} {cn / ct:>10,.0f} {cm / 1e6:>8.1f} | "
              f"{mt:>11.3f} {mn / mt:>10,.0f} {mm / 1e6:>8.1f} | {ct / mt:>9.2f}x {cm / mm:>8.2f}x", flush=True)
    print("time ratio = convgraph / micrograd wall time (below 1: convgraph is faster); "
          "mem ratio = convgraph / micrograd peak memory")


if __name__ == "__main__":
    sys.setrecursionlimit(1_000_000)  # micrograd's topological sort recurses along the loss sum
    threading.stack_size(1 << 29)
    worker = threading.Thread(target=main)
    worker.start()
    worker.join()
