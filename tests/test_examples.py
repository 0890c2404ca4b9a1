"""Every example runs, writes the figures it names into outputs/, and they hold what it says."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convgraph as cg
from convgraph.lessons import LESSON

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SOBEL = LESSON.w  # the lesson's 3×3 Sobel kernel


def run_example(name, cwd):
    r = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout, cwd / "outputs"


def listed(stdout):
    """Values printed as `name = [[...]]`, parsed back into arrays."""
    return {m.group(1): np.array(ast.literal_eval(m.group(2)))
            for m in re.finditer(r"^(.*?) = (\[.*\])$", stdout, re.M)}


def gif(path):
    with Image.open(path) as im:
        assert im.format == "GIF"
        return im.n_frames, im.size, im.info.get("loop")


def png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def svg_text(path):
    text = Path(path).read_text(encoding="utf-8")
    assert text.lstrip().startswith(("<?xml", "<svg", "<!--")) and "</svg>" in text
    return text


def test_every_example_is_tested():
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names == ["exercise_1_stride_dilation.py", "exercise_2_multichannel.py", "exercise_3_pytorch.py",
                     "exercise_4_weight_heatmaps.py", "exercise_5_dilated_backprop.py", "lesson.py"]


def test_lesson(tmp_path, lesson):
    out, outputs = run_example("lesson.py", tmp_path)
    assert "x (5, 5)  w (3, 3)  ->  y (3, 3)" in out
    assert "dY (3, 3)  ->  dW (3, 3)  dX (5, 5)" in out
    assert "graph: 187 nodes (25 input, 9 weight, 81 mul, 72 add), 306 edges" in out
    values = listed(out)
    dW, dX = cg.conv2d_backward(*lesson, np.ones((3, 3)))
    np.testing.assert_array_equal(values["dW[u,v] = sum_ij dY[i,j] * x[i+u, j+v]"], dW)
    np.testing.assert_array_equal(values["dX = full convolution of dY with rot180(W)"], dX)
    frames, _, loop = gif(outputs / "01_conv_backprop.gif")
    assert frames == 48 * 12 + 42 and loop == 0  # 8x8 input, 2x2 kernel: 49 positions at 15 fps, the last held
    frames, _, loop = gif(outputs / "lesson_backprop.gif")
    assert frames > 1 and loop == 0


def test_exercise_1_stride_dilation(tmp_path, dot):
    out, outputs = run_example("exercise_1_stride_dilation.py", tmp_path)
    x = np.arange(49.0).reshape(7, 7)
    blocks = re.findall(r"stride (\d), dilation (\d): y \((\d), (\d)\), (\d+) multiplies\n  dW = (\[.*\])\n"
                        r"  input elements used: (\d+) of 49", out)
    assert len(blocks) == 4
    for s, d, oh, ow, muls, dW, used in blocks:
        s, d = int(s), int(d)
        y = cg.conv2d_forward(x, SOBEL, stride=s, dilation=d)
        assert y.shape == (int(oh), int(ow)) and int(muls) == y.size * 9
        ref, _ = cg.conv2d_backward(x, SOBEL, np.ones(y.shape), stride=s, dilation=d)
        np.testing.assert_array_equal(np.array(ast.literal_eval(dW)), ref)
        frames, _, loop = gif(outputs / f"ex1_weight_grad_s{s}_d{d}.gif")
        assert frames >= y.size and loop == 0  # at least one frame per output position
    assert [int(b[-1]) for b in blocks] == [49, 49, 49, 16]  # stride 2 with dilation 2 skips rows and columns
    assert png_size(outputs / "ex1_stride_dilation.png") == (1280, 960)


def test_exercise_2_multichannel(tmp_path, dot):
    out, outputs = run_example("exercise_2_multichannel.py", tmp_path)
    assert "x (3, 6, 6) ⊛ w (2, 3, 3, 3) + b (2,) -> y (2, 6, 6)" in out
    assert "'mul': 1536" in out  # padding 1 drops the taps on the border
    assert "db = [36.0, 36.0]" in out
    svg = svg_text(outputs / "ex2_channels.svg")
    assert "w[1,2,2,2]" in svg or "collapsed" in svg.lower()  # every weight drawn, or the caption says why not
    assert png_size(outputs / "ex2_dw.png") == (900, 600)
    frames, _, _ = gif(outputs / "ex2_weight_grad.gif")
    assert frames > 1


def test_exercise_3_pytorch(tmp_path, torch):
    out, outputs = run_example("exercise_3_pytorch.py", tmp_path)
    diffs = dict(re.findall(r"^(\w+)\s+largest \|graph - torch\| = (\S+)$", out, re.M))
    assert set(diffs) == {"y", "dW", "dX", "db"}
    assert all(float(v) < 1e-12 for v in diffs.values())
    assert re.search(r"^agree: largest difference \S+", out, re.M)
    assert png_size(outputs / "ex3_torch.png") == (1000, 360)


def test_exercise_4_weight_heatmaps(tmp_path, dot, lesson):
    out, outputs = run_example("exercise_4_weight_heatmaps.py", tmp_path)
    values = listed(out)
    x, w = lesson
    one_hot = np.zeros((3, 3))
    one_hot[1, 1] = 1
    left = np.zeros((3, 3))
    left[:, 0] = 1
    for title, dY in [("dY = ones: dW", np.ones((3, 3))), ("dY = one-hot at y[1,1]: dW", one_hot),
                      ("dY = ones in the left column: dW", left)]:
        np.testing.assert_array_equal(values[title], cg.conv2d_backward(x, w, dY)[0])
    np.testing.assert_array_equal(values["dY = one-hot at y[1,1]: dW"], x[1:4, 1:4])
    assert png_size(outputs / "ex4_dw_heatmaps.png") == (1080, 380)
    svg = svg_text(outputs / "ex4_focus_w11.svg")
    assert "w[1,1]" in svg
    frames, _, _ = gif(outputs / "ex4_weight_grad.gif")
    assert frames >= 9


def test_exercise_5_dilated_backprop(tmp_path, dot):
    out, outputs = run_example("exercise_5_dilated_backprop.py", tmp_path)
    x = np.arange(49.0).reshape(7, 7)
    dW, dX = cg.conv2d_backward(x, SOBEL, np.ones((3, 3)), dilation=2)
    values = listed(out)
    np.testing.assert_array_equal(values["dX"], dX)
    np.testing.assert_array_equal(values["dW"], dW)
    assert "dX = full convolution of dY with rot180(dilated W): True" in out
    svg_text(outputs / "ex5_dilated_graph.svg")
    assert "x[3,3]" in svg_text(outputs / "ex5_focus_x33.svg")
    frames, _, _ = gif(outputs / "ex5_input_grad.gif")
    assert frames >= 9
    assert png_size(outputs / "ex5_dx.png") == (800, 400)


def test_exercise_3_without_pytorch_says_so_in_one_line(tmp_path):
    """A blocked import stands in for a machine without PyTorch."""
    code = ("import sys, runpy\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ImportError('No module named torch')\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            f"runpy.run_path({str(EXAMPLES / 'exercise_3_pytorch.py')!r}, run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "make torch" in r.stderr and "torch==2.13.0" in r.stderr
