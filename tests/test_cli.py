"""The convgraph command, in-process and as a subprocess: what it prints, writes and exits with."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import convgraph as cg
from convgraph.cli import main
from convgraph.lessons import LESSON

ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
SOBEL = LESSON.w  # the lesson's 3×3 Sobel kernel


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sub(*argv, stdin=None):
    return subprocess.run([sys.executable, "-m", "convgraph", *argv], input=stdin, capture_output=True,
                          text=True, env=ENV, timeout=120)


# ---- trace ------------------------------------------------------------------------------------
def test_trace_prints_counts_y_and_gradients_of_the_lesson(capsys, lesson):
    code, out, _ = run(capsys, "trace")
    assert code == 0
    assert "conv2d: x 5×5 ⊛ w 3×3 → y 3×3\n  stride 1, padding 0, dilation 1, groups 1" in out
    assert "graph: 187 nodes, 306 edges" in out
    assert re.search(r"mul\s+81 nodes\s+162 edges in", out)
    assert re.search(r"add\s+72 nodes\s+144 edges in", out)
    assert "[[-8.00 -8.00 -8.00]" in out  # Sobel over a ramp: constant -8
    dW, dX = cg.conv2d_backward(*lesson, np.ones((3, 3)))
    assert "[[ 54.00  63.00  72.00]" in out and dW[0, 0] == 54
    assert "[ 4.00  4.00  0.00 -4.00 -4.00]" in out and list(dX[2]) == [4, 4, 0, -4, -4]


def test_trace_subprocess_with_channels_bias_and_same_padding():
    r = sub("trace", "--input", "3x6x6", "--kernel", "2x3x3x3", "--bias", "0.5", "--padding", "same")
    assert r.returncode == 0, r.stderr
    assert "x 3×6×6 ⊛ w 2×3×3×3 + b → y 2×6×6 (padding 1)" in r.stdout
    assert re.search(r"bias\s+2 nodes", r.stdout)
    assert "db (2,) =\n  [36.00 36.00]" in r.stdout  # dY ones: db = number of outputs per filter


def test_random_arrays_follow_the_seed(capsys):
    a = run(capsys, "trace", "--input", "4x4", "--kernel", "2x2", "--seed", "3")[1]
    b = run(capsys, "trace", "--input", "4x4", "--kernel", "2x2", "--seed", "3")[1]
    c = run(capsys, "trace", "--input", "4x4", "--kernel", "2x2", "--seed", "4")[1]
    assert a == b and a != c


def test_x_file_and_w_file_give_the_lesson(tmp_path, capsys, lesson):
    np.save(tmp_path / "x.npy", lesson[0])
    np.save(tmp_path / "w.npy", lesson[1])
    assert run(capsys, "trace", "--x-file", str(tmp_path / "x.npy"), "--w-file", str(tmp_path / "w.npy"))[1] \
        == run(capsys, "trace")[1]


def test_dy_file_seeds_backprop(tmp_path, capsys, lesson):
    dY = np.arange(9.0).reshape(3, 3)
    np.save(tmp_path / "dy.npy", dY)
    out = run(capsys, "trace", "--dy", str(tmp_path / "dy.npy"))[1]
    dW, _ = cg.conv2d_backward(*lesson, dY)
    assert "after backprop of dY (given)" in out
    assert f"{dW[0, 0]:.2f}" in out


# ---- step -------------------------------------------------------------------------------------
def test_step_prints_the_chain_rule_with_numbers(capsys):
    code, out, _ = run(capsys, "step", "--steps", "6")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "convgraph step · x 5×5 ⊛ w 3×3 → y 3×3, dY ones · 187 steps, one per node"
    # Nodes named as a slide names them; piped, each step stays one line however long.
    assert lines[1] == ("  1  y[2,2] = y[2,2] after 8 of 9 taps + w[2,2]·x[4,4]   grad 1 → "
                        "y[2,2] after 8 of 9 taps += 1·1, w[2,2]·x[4,4] += 1·1")
    assert lines[2] == ("  2  w[2,2]·x[4,4]   grad 1 → w[2,2] += 1·24, x[4,4] += 1·(-1)"
                        "   │ w[2,2].grad 24 (1/9), x[4,4].grad -1 (1/1 ✓ final)")
    assert len(lines) == 1 + 6 + 1 and lines[-1] == "… 181 more steps (--steps N, --from K)"


def test_step_lines_wrap_to_the_width(monkeypatch, capsys):
    """--width (a terminal's width by default): a long step breaks at its parts, continuations
    indented under the chain rule, and nothing is lost."""
    wide = run(capsys, "step", "--steps", "3")[1].splitlines()
    code, out, _ = run(capsys, "step", "--steps", "3", "--width", "60")
    lines = out.splitlines()
    assert code == 0 and max(map(len, lines)) <= 60 and len(lines) > len(wide)
    assert lines[:2] == ["convgraph step · x 5×5 ⊛ w 3×3 → y 3×3, dY ones · 187 steps,", "    one per node"]
    assert lines[2] == "  1  y[2,2] = y[2,2] after 8 of 9 taps + w[2,2]·x[4,4]"
    assert all(line.startswith("       ") for line in lines[3:5])  # under the chain rule, not the number
    assert " ".join(" ".join(lines).split()) == " ".join(" ".join(wide).split())
    assert "--width: expected a whole number 20 or more, got '5'" in run(capsys, "step", "--width", "5")[2]
    # Interactive: the terminal's width (COLUMNS) when --width is not given.
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("j 2\nq\n"))
    monkeypatch.setenv("COLUMNS", "50")
    out = run(capsys, "step", "-i")[1]
    assert max(len(line) for line in out.splitlines() if not line.startswith("▸")) <= 49
    assert "x[4,4] += 1·(-1)" in out


def test_step_without_a_terminal_prints_every_step(capsys):
    """Standard input is not a terminal under pytest: all 187 steps, the leaves last."""
    out = run(capsys, "step")[1].splitlines()
    assert len(out) == 188
    assert out[-1] == "187  x[0,0]   grad 1   (input, a leaf: nothing to push; this is its final gradient)"
    # The ninth and last push into w[0,0] completes dW[0,0] = 54.
    assert any("w[0,0].grad 54 (9/9 ✓ final)" in line for line in out)


def test_step_from_and_ascii(capsys):
    out = run(capsys, "step", "--from", "2", "--steps", "1", "--ascii")[1].splitlines()
    assert out[1] == ("  2  w[2,2]*x[4,4]   grad 1 -> w[2,2] += 1*24, x[4,4] += 1*(-1)"
                      "   | w[2,2].grad 24 (1/9), x[4,4].grad -1 (1/1 ok final)")


def _views(out):
    """The screens of an interactive session, split at each 'step K of N' headline."""
    return re.split(r"(?m)^(?=step \d+ of \d+)", out)[1:]


def test_interactive_stepper_driven_through_stdin(monkeypatch, capsys):
    import io

    keys = ["", "", "b", "j 10", "w 1,1", "w", "x 2,2", "j 999", "zz", "h", "q", "never read"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(keys) + "\n"))
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no line wraps (see the --width test)
    code, out, _ = run(capsys, "step", "-i")
    assert code == 0
    views = _views(out)
    assert len(views) == 11  # the first view plus one per command before q
    heads = [v.splitlines()[0] for v in views]
    assert heads[0].startswith("step 1 of 187 · y[2,2] · an output")
    assert heads[1].startswith("step 2 of 187 · w[2,2]·x[4,4] · part of y[2,2]: tap w[2,2] (9 of 9)")
    assert heads[2].startswith("step 3 of 187")
    assert heads[3].startswith("step 2 of 187")  # b
    assert heads[4].startswith("step 10 of 187 · w[1,1]·x[3,3]")  # j 10
    # w 1,1: the next multiply by w[1,1] after step 10 belongs to y[2,1]
    assert "w[1,1] is fed by 9 steps: 10, 27, 44, 61, 78, 95, 112, 129, 146" in views[5]
    assert heads[5].startswith("step 27 of 187") and "following w[1,1]: step 2 of the 9" in views[5]
    assert heads[6].startswith("step 44 of 187")  # w again: the next one
    assert "w[1,1].grad = 18 + 17 + 16 = 51   (3rd of 9 contributions)" in views[6]
    assert "x[2,2] is fed by 9 steps" in views[7]
    assert "no step 999: steps run from 1 to 187" in views[8]
    assert "unknown command 'zz'" in views[9]
    assert "j N: jump to step N" in views[10] and "j N: jump" not in views[9]
    assert all("Enter next · b back · j N jump · w u,v weight · x i,j input · e end · h help · q quit" in v
               for v in views)
    assert "never read" not in out


def test_walking_every_step_ends_with_the_final_gradients(monkeypatch, capsys, lesson):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n" * 190 + "q\n"))
    code, out, _ = run(capsys, "step", "--interactive")
    views = _views(out)
    assert code == 0 and len(views) == 191
    last = views[-1]
    assert last.startswith("step 187 of 187 · x[0,0]")
    assert "the last step: every gradient is final" in last
    dW, dX = cg.conv2d_backward(*lesson, np.ones((3, 3)))
    grid = [line.split() for line in last.splitlines() if re.match(r"^\s+-?\d", line)]
    assert [float(v) for v in grid[0][:3]] == list(dW[0])  # dW's first row beside dX's
    assert [float(v) for v in grid[4]] == list(dX[4])  # dX's last row alone under it


def test_interactive_stepper_as_a_subprocess():
    r = sub("step", "-i", "--input", "4x4", "--kernel", "2x2", stdin="j 3\nw 0,1\nq\n")
    assert r.returncode == 0, r.stderr
    assert "step 3 of 83" in r.stdout
    assert "w[0,1] is fed by 9 steps" in r.stdout


# ---- check ------------------------------------------------------------------------------------
def test_check_agrees_with_numpy_and_torch(capsys, torch):
    code, out, _ = run(capsys, "check", "--input", "2x4x7x7", "--kernel", "6x2x3x3", "--groups", "2",
                       "--stride", "2", "--padding", "1", "--dilation", "2", "--bias", "--dy", "random")
    assert code == 0
    for ref in ("numpy", "torch"):
        for t in ("y", "dW", "dX", "db"):
            assert re.search(rf"{t}\s+vs {ref}\s+largest \|difference\| \S+\s+ok", out)
    largest = float(re.search(r"agree: largest difference (\S+)", out).group(1))
    assert largest < 1e-12


def test_check_without_torch_compares_numpy_only(capsys):
    code, out, _ = run(capsys, "check", "--no-torch")
    assert code == 0 and "vs numpy" in out and "vs torch" not in out


def test_check_exits_1_when_the_graph_disagrees(capsys, monkeypatch):
    import convgraph.tracer as tracer

    real = tracer.conv2d_backward

    def off_by_one(*a, **kw):
        dW, dX = real(*a, **kw)
        return dW + 1.0, dX

    monkeypatch.setattr(tracer, "conv2d_backward", off_by_one)  # the reference check.py asks for
    code, out, _ = run(capsys, "check", "--no-torch")
    assert code == 1
    assert re.search(r"dW\s+vs numpy\s+largest \|difference\| 1\s+DISAGREES", out)
    assert "DISAGREE: largest difference 1 (dW vs numpy)" in out


def test_check_subprocess():
    r = sub("check", "--no-torch", "--input", "6x6", "--kernel", "3x3", "--padding", "same")
    assert r.returncode == 0 and "agree: largest difference" in r.stdout


# ---- errors -----------------------------------------------------------------------------------
def _files(tmp_path):
    np.save(tmp_path / "vec.npy", np.ones(5))
    np.save(tmp_path / "w3.npy", np.ones((2, 3, 3, 3)))
    np.save(tmp_path / "dy44.npy", np.ones((4, 4)))
    dynan = np.ones((3, 3))
    dynan[1, 2] = np.nan
    np.save(tmp_path / "dynan.npy", dynan)
    (tmp_path / "text.npy").write_text("not an array")
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    with open(tmp_path / "huge.npy", "wb") as f:  # a header that claims 10^10 numbers, and nothing else
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
    (tmp_path / "afile").write_text("")
    return tmp_path


BAD = [
    (["trace", "--bogus"], r"unrecognized arguments: --bogus"),
    (["shout"], r"argument COMMAND: invalid choice: 'shout'"),
    (["--bogus", "trace"], r"unrecognized arguments: --bogus \(options go after the command"),
    (["animate", "--stride", "2", "s2.gif"], r"unrecognized arguments: s2.gif \(an output file\? give it with -o s2.gif\)"),
    (["trace", "--input", "5x"], r"malformed --input '5x': expected a shape like 5x5 or 3x8x8 \(random values\), "
                                 r'rows like "1,0,-1;2,0,-2;1,0,-1", a named array \(ramp, .*\), or a file'),
    (["trace", "--kernel", "3by3"], r"malformed --kernel '3by3': expected a shape"),
    (["trace", "--kernel", "1,0;2"], r"--kernel '1,0;2': the rows have different lengths \[2, 1\]"),
    (["trace", "--input", "0x5"], r"--input 0x5: every size of a shape must be at least 1"),
    (["trace", "--input", "2000x2000"], r"--input 2000x2000 holds 4,000,000 numbers, more than a trace can take"),
    (["trace", "--stride", "a"], r"argument --stride: malformed value 'a'"),
    (["trace", "--padding", "full"], r"argument --padding: malformed padding 'full'"),
    (["trace", "--dy", "twos"], r"argument --dy: expected ones, random or a file \(.npy, .csv, .txt\), got 'twos'"),
    (["trace", "--bias", "x,y"], r"malformed --bias 'x,y'"),
    (["trace", "--groups", "0"], r"argument --groups: expected a whole number 1 or more, got '0'"),
    (["trace", "--input", "3x4x4", "--groups", "2"], r"--groups 2 must divide the input's 3 channels"),
    (["trace", "--input", "4x4", "--x-file", "{d}/vec.npy"], r"^convgraph: error: give --input or --x-file, not both$"),
    (["trace", "--kernel", "2x2", "--w-file", "{d}/w3.npy"], r"give --kernel or --w-file, not both"),
    (["trace", "--stride", "0"], r"^convgraph: error: stride must be positive, got 0$"),
    (["trace", "--input", "{d}/missing.npy"], r"cannot read --input \S+/missing.npy: no such file"),
    (["trace", "--input", "{d}/text.npy"], r"cannot read --input \S+/text.npy: not a .npy file \(save one with numpy.save"),
    (["trace", "--input", "{d}/huge.npy"], r"--input \S+/huge.npy holds 10,000,000,000 numbers, more than a trace"),
    (["trace", "--input", "{d}/bad.csv"], r"cannot read --input \S+/bad.csv: .* \(expected rows of numbers"),
    (["trace", "--x-file", "{d}/vec.npy"], r"--input \S+/vec.npy: x must be 2-D or 3-D or 4-D, got shape \(5,\)"),
    (["trace", "--w-file", "{d}/w3.npy"], r"channel mismatch: x has C=1 channels .* w expects C/groups=3"),
    (["trace", "--dy", "{d}/dy44.npy"], r"--dy \S+/dy44.npy: must have the shape \(3, 3\), got \(4, 4\)"),
    (["step", "--dy", "{d}/dynan.npy"], r"--dy \S+/dynan.npy: dY must be finite, got nan at index \(1, 2\)"),
    (["trace", "--bias", "{d}/vec.npy"], r"--bias \S+/vec.npy: b must have shape \(1,\) to match w's 1 filters"),
    (["render", "-o", "{d}/afile/g.svg"], r"cannot write '\S+/afile/g.svg': '\S+/afile' is a file, not a folder"),
    (["html", "--out", "{d}"], r"path must be a file name, got the folder '\S+'"),
    (["html", "--max-nodes", "100"], r"the trace has 187 nodes, more than max_nodes=100"),
    (["animate", "-o", "{d}/afile/a.gif"], r"cannot write '\S+/a.gif': '\S+/afile' is a file, not a folder"),
    (["animate", "-o", "{d}/clip.png"], r"path must end in .gif or .mp4, or name a folder for PNG frames"),
    (["demo", "--out", "{d}/afile/kit"], r"cannot write '\S+/afile/kit/index.md': '\S+/afile' is a file, not a folder"),
    (["step", "--from", "999"], r"--from must be a step number from 1 to 187, got 999"),
    (["step", "--steps", "0"], r"argument --steps: expected a whole number 1 or more, got '0'"),
    (["trace", "--seed", "-1"], r"argument --seed: expected a whole number 0 or more, got '-1'"),
    (["trace", "--digits", "x"], r"argument --digits: expected a whole number from 0 to 8, got 'x'"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    d = _files(tmp_path)
    code, out, err = run(capsys, *[a.format(d=d) for a in argv])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("convgraph: error: ")
    assert re.search(message, err.strip()), err


SUBPROCESS_BAD = [next(b for b in BAD if b[0] == argv) for argv in (
    ["trace", "--bogus"], ["trace", "--input", "5x"], ["trace", "--x-file", "{d}/vec.npy"],
    ["render", "-o", "{d}/afile/g.svg"])]


@pytest.mark.parametrize("argv, message", SUBPROCESS_BAD, ids=["option", "shape", "npy", "out"])
def test_bad_input_as_a_subprocess_has_no_traceback(tmp_path, argv, message):
    d = _files(tmp_path)
    r = sub(*[a.format(d=d) for a in argv])
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert re.search(message, r.stderr.strip())


# ---- help -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["demo", "trace", "step", "check", "render", "animate", "html"])
def test_every_subcommand_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert f"usage: convgraph {command}" in out
    assert re.search(rf"examples:\n  convgraph {command}\b", out)


@pytest.mark.parametrize("argv", [["--help"], []], ids=["--help", "nothing"])
def test_top_level_help_lists_the_commands(argv):
    r = sub(*argv)
    text = r.stdout if argv else r.stderr  # plain `convgraph` is a missing command: help on stderr, exit 2
    assert r.returncode == (0 if argv else 2) and text.startswith("usage: convgraph [-h] [--version] COMMAND ...")
    for command in ("demo", "trace", "step", "check", "render", "animate", "html"):
        assert re.search(rf"^    {command}\s+\w", text, re.M)


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "convgraph")
    if not os.path.exists(script):
        pytest.skip("the package is not installed in this interpreter's environment")
    r = subprocess.run([script, "trace"], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0 and "graph: 187 nodes, 306 edges" in r.stdout


# ---- demo -------------------------------------------------------------------------------------
def test_demo_in_process_calls_every_renderer_once_per_file(tmp_path, capsys, monkeypatch):
    calls = []

    def fake(kind):
        def write(trace, path, **options):
            calls.append((kind, os.path.basename(path), options))
            open(path, "w").write(kind)
            return path
        return write

    def fake_pair(trace, paths, **options):  # an SVG and its PNG from one layout
        return [fake("graph")(trace, p, **options) for p in paths]

    monkeypatch.setattr(cg, "render_graph", fake("graph"), raising=False)
    monkeypatch.setattr(cg, "render_graphs", fake_pair, raising=False)
    monkeypatch.setattr(cg, "animate", fake("animation"), raising=False)
    monkeypatch.setattr(cg, "render_html", fake("html"), raising=False)
    monkeypatch.setattr(cg, "anim_conv_backprop", lambda path, size=None: fake("seed clip")(None, path), raising=False)
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "kit"), "--quiet", "--jobs", "1")  # in this process
    kit = tmp_path / "kit"
    assert code == 0 and out == (f"wrote the lecture kit (22 files) to {kit}/; open first: {kit / 'index.md'} (what "
                                 f"each file shows), {kit / 'lesson.html'} (the stepper), {kit / 'backprop.gif'} "
                                 f"(the lecture clip)\n")
    assert [c[:2] for c in calls if c[0] == "graph"] == [
        ("graph", n) for n in ["graph.svg", "graph.png", "focus_y1_1.svg", "focus_y1_1.png", "focus_w1_0.svg",
                               "focus_w1_0.png", "focus_x2_2.svg", "focus_x2_2.png"]]
    # The focus views pick a weight whose value and gradient are not zero, an input whose gradient is not.
    assert [c[2]["focus"] for c in calls if c[1].startswith("focus")][::2] == [("y", (1, 1)), ("w", (1, 0)),
                                                                              ("x", (2, 2))]
    assert {c[2]["size"] for c in calls if c[0] in ("graph", "animation")} == {"slide"}  # made for slides
    assert [c[2].get("scene") for c in calls if c[0] == "animation"] == [
        "forward", "weight-grad", "input-grad", "backprop", "graph", "lesson", "dw-as-conv", "dx-as-conv", "im2col",
        None]  # the stamp learning's history: its own scene
    assert [c[1] for c in calls if c[0] == "seed clip"] == ["01_conv_backprop.gif"]
    assert [c[1] for c in calls if c[0] == "html"] == ["lesson.html"]


def test_demo_writes_the_lecture_kit_and_its_index(tmp_path, dot):
    from PIL import Image

    from convgraph.kit import KIT_SCENES
    from convgraph.lessons import EDGE

    r = sub("demo", "--out", str(tmp_path / "kit"))
    assert r.returncode == 0 and f"wrote the lecture kit (22 files) to {tmp_path / 'kit'}/" in r.stdout
    assert "Traceback" not in r.stderr
    kit = tmp_path / "kit"
    index = (kit / "index.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| \[([^\]]+)\]\(\1\) \| (.+) \|$", index, re.M)
    names = [name for name, _ in listed]
    assert names == ["graph.svg", "graph.png", "focus_y1_1.svg", "focus_y1_1.png", "focus_w1_0.svg", "focus_w1_0.png",
                     "focus_x2_2.svg", "focus_x2_2.png", *[f"{s}.gif" for s in KIT_SCENES], "01_conv_backprop.gif",
                     "train.gif", "lesson.html", "steps.txt"]
    assert sorted(p.name for p in kit.iterdir()) == sorted(names + ["index.md"])  # no temporary files left
    dW, dX = cg.conv2d_backward(EDGE.x, EDGE.w, EDGE.dY)  # the kit's problem, with its own dY
    assert index.startswith("# Lecture kit") and f"The edge problem: {EDGE.title}" in index
    assert f"- dW = {dW.tolist()}" in index and f"- dX = {dX.tolist()}" in index
    for name in names:
        path = kit / name
        if name.endswith(".svg"):
            assert "</svg>" in path.read_text(encoding="utf-8")
        elif name.endswith((".png", ".gif")):
            with Image.open(path) as im:
                assert im.format == name[-3:].upper() and min(im.size) > 100
                if im.format == "GIF":
                    assert im.n_frames > 1 and im.info.get("loop") == 0
    assert "∂loss/∂w[1,0] = " not in index and "w[1,0]" in (kit / "focus_w1_0.svg").read_text(encoding="utf-8")
    assert "x[2,2]" in (kit / "focus_x2_2.svg").read_text(encoding="utf-8")
    with Image.open(kit / "graph.gif") as im:
        assert im.n_frames == 188  # the graph scene: frame 0 (before the first step), then one per step
    steps = (kit / "steps.txt").read_text(encoding="utf-8").splitlines()
    assert len(steps) == 2 + 187 and steps[3].startswith("  2  ") and "w[2,2]·x[4,4]" in steps[3]
    assert "<html" in (kit / "lesson.html").read_text(encoding="utf-8").lower()


# ---- render, animate, html ------------------------------------------------------------------------
def test_cli_scenes_are_the_animation_scenes():
    from convgraph.cli import SCENES
    from convgraph.renderers.animations import SCENES as REAL
    from convgraph.renderers.animations.catalog import SCENE_TABLE

    assert SCENES == REAL == tuple(SCENE_TABLE)


def test_render_writes_dot_text_without_the_program(tmp_path, capsys):
    code, out, _ = run(capsys, "render", "--focus", "w:1,1", "-o", str(tmp_path / "w11.dot"))
    assert code == 0 and out == f"wrote {tmp_path / 'w11.dot'}\n"
    dot_text = (tmp_path / "w11.dot").read_text(encoding="utf-8")
    assert dot_text.lstrip().startswith("digraph") and "w[1,1]" in dot_text


def test_render_svg_and_png_subprocess(tmp_path, dot):
    r = sub("render", "-o", str(tmp_path / "g.svg"))
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert "</svg>" in svg and "x[4,4]" in svg and "y[2,2]" in svg
    r = sub("render", "--step", "5", "--input", "4x4", "--kernel", "2x2", "-o", str(tmp_path / "s.png"))
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(tmp_path / "s.png") as im:
        assert im.format == "PNG" and min(im.size) > 100


def test_render_without_backward_has_no_heat(tmp_path, capsys):
    run(capsys, "render", "--no-backward", "-o", str(tmp_path / "before.dot"))
    run(capsys, "render", "-o", str(tmp_path / "after.dot"))
    before = (tmp_path / "before.dot").read_text(encoding="utf-8")
    after = (tmp_path / "after.dot").read_text(encoding="utf-8")
    assert "∂" not in before  # no gradient shown before backward (not even zeros)
    assert "∂ 162" in after  # dW[2,2] = 162 after backward


@pytest.mark.parametrize("argv, message", [
    (["render", "--focus", "q:1,1", "-o", "{d}/g.dot"], r"q"),
    (["render", "--focus", "w:7,7", "-o", "{d}/g.dot"], r"7"),
    (["render", "--focus", "w11", "-o", "{d}/g.dot"], r"malformed focus 'w11': expected TENSOR:INDEX"),
    (["render", "-o", "{d}/g.txt"], r"\.txt"),
    (["render", "--step", "9999", "-o", "{d}/g.dot"], r"--step must be a step number from 0 to 187, got 9999"),
    (["render", "--step", "-1", "-o", "{d}/g.dot"], r"argument --step: expected a whole number 0 or more, got '-1'"),
    (["render", "--heat", "hot", "-o", "{d}/g.dot"], r"argument --heat: invalid choice: 'hot'"),
    (["animate", "--scene", "forward", "--fps", "0", "-o", "{d}/a.gif"], r"fps"),
    (["animate", "--scene", "sideways", "-o", "{d}/a.gif"], r"argument --scene: invalid choice: 'sideways'"),
    (["html", "--digits", "12", "--out", "{d}/p.html"], r"digits"),
])
def test_renderer_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    code, out, err = run(capsys, *[a.format(d=tmp_path) for a in argv])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("convgraph: error: ") and re.search(message, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_animate_gif_and_png_frames(tmp_path, capsys):
    from PIL import Image

    code, out, _ = run(capsys, "animate", "--scene", "weight-grad", "--fps", "5", "-o", str(tmp_path / "dw.gif"))
    assert code == 0 and out == f"wrote {tmp_path / 'dw.gif'}\n"
    with Image.open(tmp_path / "dw.gif") as im:
        assert im.n_frames >= 9 and im.info.get("loop") == 0  # at least one frame per output position
    r = sub("animate", "--scene", "forward", "--input", "4x4", "--kernel", "2x2", "--stride", "2",
            "-o", str(tmp_path / "frames"))
    assert r.returncode == 0, r.stderr
    frames = sorted((tmp_path / "frames").glob("*.png"))
    assert len(frames) >= 4  # 2x2 outputs: a frame per window position at least


def test_html_writes_one_offline_page(tmp_path, capsys):
    code, out, _ = run(capsys, "html", "--out", str(tmp_path / "lesson.html"), "--title", "Lecture 7")
    assert code == 0 and out == f"wrote {tmp_path / 'lesson.html'}\n"
    page = (tmp_path / "lesson.html").read_text(encoding="utf-8")
    assert "<html" in page.lower() and "Lecture 7" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing fetched from the network


def test_an_ascii_only_terminal_gets_ascii():
    env = {**ENV, "PYTHONIOENCODING": "ascii", "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "convgraph", "step", "-i"], input="\nh\nw 1,1\nq\n",
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.isascii()
    assert "w[2,2]*x[4,4]   grad 1 -> w[2,2] += 1*24" in r.stdout
    assert "Enter: next step - b: back one step" in r.stdout


def test_a_reader_that_leaves_early_is_not_an_error():
    p = subprocess.Popen([sys.executable, "-m", "convgraph", "step", "--input", "8x8"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    first = p.stdout.readline()
    p.stdout.close()  # like `convgraph step | head -1`
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and first.startswith(b"convgraph step")
    assert "Traceback" not in err


def test_html_subprocess(tmp_path):
    r = sub("html", "--input", "3x5x5", "--kernel", "2x3x3x3", "--out", str(tmp_path / "channels.html"))
    assert r.returncode == 0 and r.stdout == f"wrote {tmp_path / 'channels.html'}\n"
    page = (tmp_path / "channels.html").read_text(encoding="utf-8")
    assert "x 3×5×5 ⊛ w 2×3×3×3 → y 2×3×3" in page  # the page is about the options given


def test_render_step_counts_like_the_stepper(tmp_path, capsys):
    """`render --step 2` draws the state after the stepper's step 2: mul#185 just processed."""
    from convgraph.renderers import diagrams as diagram

    run(capsys, "render", "--step", "2", "-o", str(tmp_path / "s2.dot"))
    trace = LESSON.trace()
    trace.backward()
    src = (tmp_path / "s2.dot").read_text(encoding="utf-8")
    assert src == diagram.to_digraph(trace, step=2).source
    assert "step 2 of 187: processing w[2,2]·x[4,4]" in src


# ---- values inline ------------------------------------------------------------------------------------
def test_input_and_kernel_take_rows_names_and_text_files(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("0,1,2,3\n4,5,6,7\n8,9,10,11\n")
    (tmp_path / "w.txt").write_text("# a kernel\n1 0\n0 -1\n")
    code, out, _ = run(capsys, "trace", "--input", str(tmp_path / "x.csv"), "--kernel", str(tmp_path / "w.txt"))
    assert code == 0 and "conv2d: x 3×4 ⊛ w 2×2 → y 2×3" in out and "[[-5.00 -5.00 -5.00]" in out
    code, out, _ = run(capsys, "trace", "--input", "ramp", "--kernel", "1,0,-1;2,0,-2;1,0,-1")
    assert code == 0 and "[[-8.00 -8.00 -8.00]" in out  # the lesson, typed in
    code, out, _ = run(capsys, "trace", "--input", "edge", "--kernel", "laplace", "--padding", "1")
    assert code == 0 and "conv2d: x 5×5 ⊛ w 3×3 → y 5×5 (padding 1)" in out


def test_demo_renders_the_kit_of_the_options_given(tmp_path, capsys, monkeypatch):
    seen = []
    monkeypatch.setattr("convgraph.kit.lecture_kit",
                        lambda out, trace=None, dY=None, progress=True, overwrite=False, jobs=None: seen.append((trace, dY)) or [],
                        raising=True)
    assert run(capsys, "demo", "--out", str(tmp_path / "k"), "--input", "edge", "--kernel", "sobel",
               "--dy", "random")[0] == 0
    trace, dY = seen[0]
    assert trace.describe() == "x 5×5 ⊛ w 3×3 → y 3×3" and dY.shape == (3, 3)
    assert run(capsys, "demo", "--out", str(tmp_path / "k2"))[0] == 0 and seen[1] == (None, None)  # the lesson
