"""Diagram rendering: convgraph's pinned layout (``to_digraph`` + ``dot -Kneato -n2``) against
Graphviz's own ``dot`` layout of the same graph, side by side in one process.

For each view the convgraph column times building the DOT text plus rendering it to SVG; the peer
column times ``dot -Tsvg`` laying out the same scalar nodes and edges (same labels, positions
stripped) with a time-out. Cases: the lesson's full graph and its three focus views, and the auto
view of 28×28 ⊛ 3×3 and 1×3×32×32 ⊛ 8×3×3×3 (collapsed: the peer lays out their full graphs), and
the full views of 12×12 ⊛ 3×3 and 28×28 ⊛ 3×3.

Run: ``python benchmarks/bench_render.py [--repeats 3] [--timeout 60]`` (needs Graphviz's dot).
The machine is noisy (2 cores shared with other work): read medians, not single runs.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import convgraph as cg
from convgraph.lessons import LESSON
from convgraph.renderers.diagrams import render_graph, to_digraph

_EXTRA = re.compile(r"^\s*(frame|title|legend|end)\w* \[")
_POS = re.compile(r' pos="[^"]*"')


def lesson():
    t = LESSON.trace()
    t.backward()
    return t


def random_trace(x_shape, w_shape):
    rng = np.random.default_rng(0)
    t = cg.trace_conv2d(rng.normal(size=x_shape).round(1), rng.normal(size=w_shape).round(1))
    t.backward()
    return t


def peer_source(trace, options):
    """The same graph for dot's own layout: the scalar nodes and edges, no pins, no frames."""
    src = to_digraph(trace, **options).source
    lines = [ln for ln in src.splitlines() if not _EXTRA.match(ln)]
    return "\n".join(_POS.sub("", ln) for ln in lines).replace("outputorder=edgesfirst", "")


def time_convgraph(trace, options, path, repeats):
    """Median seconds of render_graph (DOT text + Graphviz) to ``path``, and the file's size."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        render_graph(trace, path, **options)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), os.path.getsize(path)


def time_dot(source, timeout_s, repeats):
    """Median seconds of ``dot -Tsvg`` on ``source``, or None after a time-out."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            subprocess.run(["dot", "-Tsvg", "-o", os.devnull], input=source.encode("utf-8"),
                           capture_output=True, timeout=timeout_s, check=True)
        except subprocess.TimeoutExpired:
            return None
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before the peer's dot is stopped")
    args = p.parse_args(argv)
    if shutil.which("dot") is None:
        sys.exit("needs Graphviz's dot: sudo apt-get install graphviz")

    small = lesson()
    t12 = random_trace((12, 12), (3, 3))
    t28 = random_trace((28, 28), (3, 3))
    t32 = random_trace((1, 3, 32, 32), (8, 3, 3, 3))
    cases = [  # label, trace, convgraph options, peer options (None: not attempted)
        ("lesson 5x5*3x3 full", small, {"detail": "full"}, {"detail": "full"}),
        ("lesson focus y[0,0]", small, {"focus": ("y", (0, 0))}, {"focus": ("y", (0, 0))}),
        ("lesson focus w[1,1]", small, {"focus": ("w", (1, 1))}, {"focus": ("w", (1, 1))}),
        ("lesson focus x[2,2]", small, {"focus": ("x", (2, 2))}, {"focus": ("x", (2, 2))}),
        ("12x12*3x3 full", t12, {"detail": "full"}, {"detail": "full"}),
        ("28x28*3x3 auto", t28, {}, {"detail": "full"}),
        ("28x28*3x3 full", t28, {"detail": "full"}, {"detail": "full"}),
        ("1x3x32x32*8x3x3x3 auto", t32, {}, None),
        ("1x3x32x32*8x3x3x3 focus w", t32, {"focus": ("w", (0, 0, 1, 1))}, {"focus": ("w", (0, 0, 1, 1)),
                                                                             "detail": "full"}),
        ("1x3x32x32*8x3x3x3 focus y", t32, {"focus": ("y", (0, 0, 5, 5))}, {"focus": ("y", (0, 0, 5, 5))}),
        ("1x3x32x32*8x3x3x3 focus x", t32, {"focus": ("x", (0, 0, 5, 5))}, {"focus": ("x", (0, 0, 5, 5))}),
    ]
    print(f"# bench_render: {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores (shared, noisy); "
          f"{subprocess.run(['dot', '-V'], capture_output=True, text=True).stderr.strip()}")
    print(f"# median of {args.repeats}; peer time-out {args.timeout:.0f} s; 'convgraph s' = render_graph to SVG "
          f"(DOT text + neato -n2), 'drawn' = scalar nodes or (collapsed) tensor panels; the peer renders SVG")
    head = (f"{'view':28} {'drawn':>6} {'convgraph s':>11} {'SVG kB':>7} {'PNG s':>6} {'PNG kB':>7} "
            f"{'dot layout s':>12} {'dot/convgraph':>13}")
    print(head)
    print("-" * len(head))
    peer_times = {}  # the same peer graph is laid out once
    with tempfile.TemporaryDirectory() as tmp:
        for label, trace, opts, peer in cases:
            path = os.path.join(tmp, "view.svg")
            src = to_digraph(trace, **opts).source
            drawn = sum(1 for ln in src.splitlines() if re.match(r"\s*(n|p)\d+ \[", ln))
            ours, size = time_convgraph(trace, opts, path, args.repeats)
            png, png_size = time_convgraph(trace, opts, os.path.join(tmp, "view.png"), args.repeats)
            if peer is None:
                theirs_text, ratio = "not tried", "-"
                note = f"(full graph: {trace.graph.number_of_nodes():,} nodes)"
            else:
                psrc = peer_source(trace, peer)
                key = (id(trace), repr(sorted(peer.items())))
                if key not in peer_times:
                    big = trace.graph.number_of_nodes() > 5000
                    peer_times[key] = time_dot(psrc, args.timeout, 1 if big else args.repeats)
                theirs = peer_times[key]
                peer_nodes = sum(1 for ln in psrc.splitlines() if re.match(r"\s*n\d+ \[", ln))
                note = f"(dot: {peer_nodes:,} nodes)"
                if theirs is None:
                    theirs_text, ratio = f">{args.timeout:.0f}", f">{args.timeout / ours:.0f}x"
                else:
                    theirs_text, ratio = f"{theirs:.2f}", f"{theirs / ours:.1f}x"
            print(f"{label:28} {drawn:>6,} {ours:>11.2f} {size / 1000:>7.0f} {png:>6.2f} {png_size / 1000:>7.0f} "
                  f"{theirs_text:>12} {ratio:>13}  {note}")


if __name__ == "__main__":
    main()
