"""Lecture GIFs: convgraph's animate against matplotlib's FuncAnimation + PillowWriter, same clip.

The lesson clip (8×8 input, 2×2 kernel [[1, -1], [2, 0]], 49 frames: the forward window over x
beside dW accumulating) is rendered both ways in one process, at the same figure size and dpi,
with the same panels, numbers, colour bars and titles. The reference is written the way the seed
lesson did it: FuncAnimation redrawing the artists of each frame, saved through PillowWriter.
Then the default ``"backprop"`` and the ``"graph"`` scenes of the 5×5 ⊛ 3×3 lesson.

Run: ``python benchmarks/bench_animate.py [--repeat 3]``. Prints medians of wall time; the machine
is shared (2 cores, other processes running), so compare ratios, not absolute figures.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np

import convgraph as cg
from convgraph.lessons import LESSON, SEED_CLIP
from convgraph.renderers import animations as animation, style


def reference_lesson(path, fig_inches, dpi, fps, dY=None):
    """The seed lesson's way: FuncAnimation over two panels (x with the window, dW) + PillowWriter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.patches import Rectangle

    x, w = SEED_CLIP.arrays()
    OH, OW = x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1
    dY = np.ones((OH, OW)) if dY is None else dY
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=fig_inches, dpi=dpi, gridspec_kw={"width_ratios": [4, 1]})
    ax1.imshow(x, cmap=style.VALUE_CMAP)
    for (i, j), v in np.ndenumerate(x):
        ax1.text(j, i, f"{v:g}", ha="center", va="center", fontsize=11,
                 color="white" if v < x.max() / 2 else "black")
    rect = Rectangle((-0.5, -0.5), w.shape[1], w.shape[0], fill=False, edgecolor=style.CURRENT, linewidth=3)
    ax1.add_patch(rect)
    ax1.set_title("x")
    dW_final = np.zeros_like(w)
    for i in range(OH):
        for j in range(OW):
            dW_final += dY[i, j] * x[i:i + w.shape[0], j:j + w.shape[1]]
    vmax = np.abs(dW_final).max()
    im = ax2.imshow(np.zeros_like(w), cmap=style.SIGNED_CMAP, vmin=-vmax, vmax=vmax)
    texts = [[ax2.text(v, u, "", ha="center", va="center", fontsize=11) for v in range(w.shape[1])]
             for u in range(w.shape[0])]
    ax2.set_title("dW")
    fig.colorbar(ax1.images[0], ax=ax1, orientation="horizontal", label="x (input value)")
    fig.colorbar(im, ax=ax2, orientation="horizontal", label="dW (gradient)")
    title = fig.suptitle("")
    state = {"dW": np.zeros_like(w)}

    def update(k):
        i, j = divmod(k, OW)
        if k == 0:
            state["dW"][:] = 0
        patch = x[i:i + w.shape[0], j:j + w.shape[1]]
        state["dW"] += dY[i, j] * patch
        rect.set_xy((j - 0.5, i - 0.5))
        im.set_data(state["dW"])
        for (u, v), val in np.ndenumerate(state["dW"]):
            texts[u][v].set_text(f"{val:g}")
        y = float(np.sum(w * patch))
        title.set_text(f"y[{i},{j}] = {y:g}\ndW += dY[{i},{j}] · x[window]")
        return [rect, im, title, *[t for row in texts for t in row]]

    anim = FuncAnimation(fig, update, frames=OH * OW, blit=False)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gif_info(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.n_frames, im.size, os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared, noisy), Python {platform.python_version()}")
    fps, dpi = 15, 100
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "convgraph.gif")
        ref = os.path.join(tmp, "reference.gif")
        seed = SEED_CLIP.trace()
        renderer, _ = animation.build_frames(seed, "lesson", dpi=dpi)
        h, w = renderer.size
        renderer.close()
        fig_inches = (w / dpi, h / dpi)
        # one GIF frame per position at 1/fps s each, as the reference writes it (no pauses, no hold)
        t_ours = timed(lambda: animation.animate(seed, ours, scene="lesson", pace=1 / fps, pause=0, hold=0, dpi=dpi),
                       args.repeat)
        t_ref = timed(lambda: reference_lesson(ref, fig_inches, dpi, fps), args.repeat)
        n1, s1, b1 = gif_info(ours)
        n2, s2, b2 = gif_info(ref)
        print(f"\nlesson clip, 8x8 input, 2x2 kernel, {dpi} dpi, median of {args.repeat}")
        print(f"{'renderer':<34}{'frames':>7}{'size px':>11}{'time s':>9}{'ms/frame':>10}{'GIF KB':>9}")
        print(f"{'convgraph animate (blit, 1 palette)':<34}{n1:>7}{f'{s1[0]}x{s1[1]}':>11}{t_ours:>9.2f}"
              f"{1000 * t_ours / n1:>10.1f}{b1 / 1024:>9.0f}")
        print(f"{'FuncAnimation + PillowWriter':<34}{n2:>7}{f'{s2[0]}x{s2[1]}':>11}{t_ref:>9.2f}"
              f"{1000 * t_ref / n2:>10.1f}{b2 / 1024:>9.0f}")
        print(f"speed-up {t_ref / t_ours:.1f}x, file size ratio {b1 / b2:.2f}")

        lesson = LESSON.trace()
        print(f"\n5x5 * 3x3 lesson ({lesson.graph.number_of_nodes()} nodes), {dpi} dpi, median of {args.repeat}")
        print(f"{'scene':<12}{'frames':>7}{'size px':>11}{'time s':>9}{'ms/frame':>10}{'GIF KB':>9}")
        for scene in ("backprop", "graph"):
            out = os.path.join(tmp, f"{scene}.gif")
            t = timed(lambda: animation.animate(lesson, out, scene=scene, dpi=dpi), args.repeat)
            n, s, b = gif_info(out)
            print(f"{scene:<12}{n:>7}{f'{s[0]}x{s[1]}':>11}{t:>9.2f}{1000 * t / n:>10.1f}{b / 1024:>9.0f}")


if __name__ == "__main__":
    main()
