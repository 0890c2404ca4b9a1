"""The lecture kit (``convgraph demo``): its files one after another, then in parallel worker processes.

Both runs write the same 22 files (every picture for a 1920×1080 slide) of the kit's default
example into a temporary folder, in one process that forks its workers; then ``convgraph demo``
is timed as a lecturer meets it, in a fresh process that imports everything first.

Run: ``python benchmarks/bench_kit.py [--repeat 3]``; ``--gallery`` times ``convgraph demo --kit
arithmetic`` instead. Prints medians of wall time; the machine is
shared (2 cores, other processes running), so compare ratios, not absolute figures. A fixed loop
timed on every core before and after says how busy the machine was.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

from convgraph.kit import lecture_kit


def load():
    """Seconds a fixed pure-Python loop takes, run on every core at once: about 0.5 s on this
    machine when nothing else runs; more means the figures beside it were slowed by other work."""
    import subprocess
    import sys

    code = "import time; t = time.perf_counter(); sum(range(30_000_000)); print(time.perf_counter() - t)"
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(os.cpu_count() or 1)]
    return max(float(p.communicate()[0]) for p in runs)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gallery", action="store_true",
                        help="time the convolution-arithmetic gallery (convgraph demo --kit arithmetic) instead")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores (shared, noisy), Python {platform.python_version()}")
    if args.gallery:
        return gallery(args.repeat, cores)
    print(f"a fixed loop on every core: {load():.2f} s (about 0.5 s on a quiet machine)")
    with tempfile.TemporaryDirectory() as tmp:
        one = timed(lambda: lecture_kit(os.path.join(tmp, "one"), progress=False, jobs=1), args.repeat)
        many = timed(lambda: lecture_kit(os.path.join(tmp, "many"), progress=False, jobs=cores), args.repeat)
        files = os.listdir(os.path.join(tmp, "many"))
        sizes = sum(os.path.getsize(os.path.join(tmp, "many", n)) for n in files)
    print(f"\nlecture kit, {len(files)} files for a 1920x1080 slide ({sizes / 2**20:.1f} MB), median of {args.repeat}")
    print(f"{'files rendered':<32}{'time s':>9}")
    print(f"{'one after another (jobs=1)':<32}{one:>9.1f}")
    print(f"{f'{cores} worker processes (jobs={cores})':<32}{many:>9.1f}")
    print(f"speed-up {one / many:.2f}x")
    demo = timed(lambda: command_demo(), args.repeat)
    print(f"{'convgraph demo (a fresh process)':<32}{demo:>9.1f}")
    print(f"a fixed loop on every core: {load():.2f} s")
    slowest(args.repeat)


def command_demo():
    """``convgraph demo`` as a lecturer runs it: a new Python process, imports and all."""
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "convgraph", "demo", "--out", os.path.join(tmp, "kit"), "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)


def gallery(repeat, cores):
    """The convolution-arithmetic gallery: 15 configurations, 45 files for a 1280x720 slide."""
    from convgraph.kit import arithmetic_gallery

    with tempfile.TemporaryDirectory() as tmp:
        many = timed(lambda: arithmetic_gallery(os.path.join(tmp, "g"), progress=False, jobs=cores), repeat)
        files = os.listdir(os.path.join(tmp, "g"))
        sizes = sum(os.path.getsize(os.path.join(tmp, "g", n)) for n in files)
    print(f"\narithmetic gallery, {len(files)} files for a 1280x720 slide ({sizes / 2**20:.1f} MB), "
          f"{cores} worker processes, median of {repeat}: {many:.1f} s")


def slowest(repeat):
    """Each file of the kit alone, in one process (imports done), slowest first: where the time goes."""
    from pathlib import Path

    from convgraph import kit
    from convgraph.lessons import EDGE

    trace = EDGE.trace()
    tasks = kit._tasks(trace, kit.focus_points(trace, trace.backward(EDGE.dY)), EDGE.dY)
    kit._preload()
    with tempfile.TemporaryDirectory() as tmp:
        times = [(timed(lambda: make(Path(tmp) / name), repeat), name) for name, _, make in tasks if make is not None]
    total = sum(t for t, _ in times)
    print(f"\neach file alone, median of {repeat} (sum {total:.1f} s)")
    for t, name in sorted(times, reverse=True)[:8]:
        print(f"{name:<32}{t:>9.2f}")


if __name__ == "__main__":
    main()
