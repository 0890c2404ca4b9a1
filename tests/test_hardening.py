"""Nothing lost, nothing injected, nothing unbounded: each case of the adversarial review, as it was run."""

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import convgraph as cg
from conftest import need
from convgraph.kit import lecture_kit
from convgraph.lessons import LESSON


@pytest.fixture
def trace():
    t = LESSON.trace()
    t.backward()
    return t


def cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "convgraph", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def peak_mb(code):
    """Peak resident memory (MB) of a fresh Python running ``code`` (VmHWM: unlike ru_maxrss it does
    not carry the forking parent's size across exec), and the finished process."""
    r = subprocess.run([sys.executable, "-c", code + "\nimport re, sys\n"
                        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
                        "print(int(hwm) // 1024, file=sys.stderr)"],
                       capture_output=True, text=True, timeout=300)
    return int(r.stderr.strip().splitlines()[-1]), r


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


WRITERS = {
    "render_graph": lambda t, p: cg.render_graph(t, p),
    "render_html": lambda t, p: cg.render_html(t, p),
    "animate": lambda t, p: cg.animate(t, p, scene="forward", dpi=20, progress=False),
}


# ---- 1. outputs: never destroy what is at the path ------------------------------------------------
@pytest.mark.parametrize("name", WRITERS)
def test_a_fifo_or_a_device_is_refused(trace, tmp_path, name):
    fifo = tmp_path / ("f.gif" if name == "animate" else "f.dot" if name == "render_graph" else "f.html")
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="it is a FIFO, not a file convgraph may replace"):
        WRITERS[name](trace, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_device_node_stays_a_device(trace, tmp_path):
    need("root, to make a device node", os.geteuid() == 0, "run as root")
    dev = tmp_path / "null"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    r = cli("html", "-o", str(dev))
    assert r.returncode == 2 and "it is a device, not a file convgraph may replace" in r.stderr
    assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_a_symlink_is_followed_and_stays_a_link(trace, tmp_path):
    (tmp_path / "real.dot").write_text("old")
    (tmp_path / "link.dot").symlink_to("real.dot")
    cg.render_graph(trace, tmp_path / "link.dot")
    assert (tmp_path / "link.dot").is_symlink() and (tmp_path / "real.dot").read_text().startswith("digraph")


def test_a_hard_link_is_refused_and_a_files_mode_is_kept(trace, tmp_path):
    (tmp_path / "a.dot").write_text("mine")
    os.link(tmp_path / "a.dot", tmp_path / "b.dot")
    with pytest.raises(ValueError, match="the file has 2 names \\(hard links\\)"):
        cg.render_graph(trace, tmp_path / "a.dot")
    assert (tmp_path / "b.dot").read_text() == "mine"
    (tmp_path / "private.html").write_text("old")
    os.chmod(tmp_path / "private.html", 0o600)
    cg.render_html(trace, tmp_path / "private.html")
    assert stat.S_IMODE(os.stat(tmp_path / "private.html").st_mode) == 0o600
    cg.render_html(trace, tmp_path / "new.html")
    assert stat.S_IMODE(os.stat(tmp_path / "new.html").st_mode) == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- 2. a folder of frames is only ever emptied of frames ------------------------------------------
def test_a_folder_named_like_a_frame_is_not_deleted(trace, tmp_path):
    (tmp_path / "fr" / "frame_keep.png").mkdir(parents=True)
    (tmp_path / "fr" / "frame_keep.png" / "notes.txt").write_text("keep")
    r = cli("animate", "--scene", "forward", "--dpi", "20", "-o", str(tmp_path / "fr"))
    assert r.returncode == 2 and "holds 'frame_keep.png', which convgraph did not write" in r.stderr
    assert (tmp_path / "fr" / "frame_keep.png" / "notes.txt").read_text() == "keep"


def test_a_symlinked_folder_of_frames_is_written_through(trace, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real", target_is_directory=True)
    for _ in range(2):  # the second run replaces the frames the first wrote
        cg.animate(trace, tmp_path / "link", scene="forward", dpi=20, progress=False)
    assert (tmp_path / "link").is_symlink() and len(list((tmp_path / "real").glob("frame_*.png"))) == 9
    assert leftovers(tmp_path) == []


# ---- 3. the kit does not overwrite what it did not write --------------------------------------------
def test_the_kit_refuses_a_folder_with_someone_elses_files(tmp_path, monkeypatch):
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "index.md").write_text("my notes")
    with pytest.raises(ValueError, match="holds 'index.md', which the lecture kit did not write"):
        lecture_kit(tmp_path / "k", progress=False)
    assert (tmp_path / "k" / "index.md").read_text() == "my notes"
    r = cli("demo", "--out", str(tmp_path / "k"), "--quiet")
    assert r.returncode == 2 and "--overwrite" in r.stderr


def _fake_renderers(monkeypatch, fail=None):
    """Renderers that write "x" (or raise ``fail`` for the named kind) instead of drawing."""
    def write(kind):
        def make(trace, path, **kw):
            if fail is not None and fail[0] == kind:
                raise fail[1]
            return path.write_text("x") or path
        return make

    for fn in ("render_graph", "animate", "render_html"):
        monkeypatch.setattr(cg, fn, write(fn), raising=False)
    monkeypatch.setattr(cg, "render_graphs", lambda trace, paths, **kw: [write("render_graphs")(trace, p) for p in paths],
                        raising=False)
    monkeypatch.setattr(cg, "anim_conv_backprop", lambda path, **kw: path.write_text("x") or path, raising=False)


def test_the_kit_replaces_its_own_files(tmp_path, monkeypatch):
    _fake_renderers(monkeypatch)
    lecture_kit(tmp_path / "k", progress=False)
    (tmp_path / "k" / "mine.txt").write_text("other work, another name")
    lecture_kit(tmp_path / "k", progress=False)  # its own files again: no refusal
    assert (tmp_path / "k" / "mine.txt").exists()


@pytest.mark.parametrize("kind", ["render_graphs", "animate"])
def test_a_kit_file_that_fails_in_a_worker_stops_the_kit_with_its_error(kind, tmp_path, monkeypatch):
    """The Graphviz pictures are drawn by a process of their own while the clips' workers load; a
    failure in either reaches the caller as the renderer's own error, nothing left running."""
    import multiprocessing

    _fake_renderers(monkeypatch, fail=(kind, ValueError(f"{kind} could not draw")))
    with pytest.raises(ValueError, match=f"{kind} could not draw"):
        lecture_kit(tmp_path / "k", progress=False, jobs=2)
    assert multiprocessing.active_children() == []
    _fake_renderers(monkeypatch)
    assert len(lecture_kit(tmp_path / "k2", progress=False, jobs=2)) == 22  # every file, the index last


def test_the_kit_unfreezes_what_it_froze_for_its_workers(tmp_path, monkeypatch):
    """The kit freezes the garbage collector's objects before forking its workers; the caller's
    process is left as it was, a freeze of its own included, whether the kit succeeds or fails."""
    import gc

    _fake_renderers(monkeypatch)
    lecture_kit(tmp_path / "a", progress=False, jobs=2)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        lecture_kit(tmp_path / "b", progress=False, jobs=2)
        assert 0 < gc.get_freeze_count() <= frozen  # still frozen (a few of its objects freed since), no more
    finally:
        gc.unfreeze()
    _fake_renderers(monkeypatch, fail=("animate", ValueError("no")))
    with pytest.raises(ValueError, match="no"):
        lecture_kit(tmp_path / "c", progress=False, jobs=2)
    assert gc.get_freeze_count() == 0


# ---- 4. signals, threads, long names ----------------------------------------------------------------
def _dot_children(marker):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"dot") and any(marker.encode() in c for c in cmd):
                pids.append(int(d))
    return pids


def test_sigterm_removes_the_part_file_and_stops_graphviz(tmp_path, dot):
    out = tmp_path / "big.png"
    p = subprocess.Popen([sys.executable, "-m", "convgraph", "render", "--input", "28x28", "--detail", "full",
                          "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not _dot_children(str(tmp_path)):
        time.sleep(0.05)
    assert _dot_children(str(tmp_path)), "dot never started"
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 128 + signal.SIGTERM and "stopped by signal 15" in err
    time.sleep(0.2)
    assert _dot_children(str(tmp_path)) == [] and list(tmp_path.iterdir()) == []


def test_the_part_files_of_a_killed_run_are_swept(trace, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f".cg{gone.pid}-abc.part"
    stale.write_text("half a picture")
    mine_alive = tmp_path / f".cg{os.getppid()}-def.part"  # a live process's: left alone
    mine_alive.write_text("in progress")
    cg.render_graph(trace, tmp_path / "g.dot")
    assert not stale.exists() and mine_alive.exists()


def test_threads_writing_one_path_do_not_collide(trace, tmp_path):
    errors = []

    def write():
        try:
            cg.render_graph(trace, tmp_path / "same.dot")
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)
    threads = [threading.Thread(target=write) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and leftovers(tmp_path) == []
    assert (tmp_path / "same.dot").read_text(encoding="utf-8") == cg.to_digraph(trace).source


def test_a_long_file_name_is_fine(trace, tmp_path):
    name = "g" * 245 + ".dot"
    assert cg.render_graph(trace, tmp_path / name).exists()


def test_a_hanging_dot_is_stopped(trace, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ["PATH"])
    t0 = time.time()
    with pytest.raises(RuntimeError, match="Graphviz did not finish writing g.svg in 1 s"):
        cg.render_graph(trace, tmp_path / "g.svg", timeout=1)
    assert time.time() - t0 < 10 and leftovers(tmp_path) == []


# ---- 5. a failed run leaves nothing, not even folders -------------------------------------------------
def test_a_failed_clip_leaves_no_folder(trace, tmp_path, monkeypatch):
    from convgraph.renderers.animations import grid_frames

    def broken(self, frame):
        raise RuntimeError("the renderer broke")
    monkeypatch.setattr(grid_frames.GridRenderer, "render", broken)
    monkeypatch.setattr(grid_frames.GridRenderer, "render_rgba", broken)  # what a GIF is drawn with
    with pytest.raises(RuntimeError, match="the renderer broke"):
        cg.animate(trace, tmp_path / "new" / "deeper" / "clip.gif", progress=False)
    assert list(tmp_path.iterdir()) == []
    r = cli("animate", "-o", str(tmp_path / "clip.png"))
    assert r.returncode == 2 and not (tmp_path / "clip.png").exists()


# ---- 6, 7. injection ----------------------------------------------------------------------------------
HOSTILE = ['<<TABLE><TR><TD><IMG SRC="/etc/hostname"/></TD></TR></TABLE>>',
           '<<TABLE><TR><TD HREF="javascript:alert(1)">x</TD></TR></TABLE>>']


@pytest.mark.parametrize("name", HOSTILE)
def test_tensor_names_reach_dot_as_text(name, tmp_path, dot):
    rec = cg.Recorder()
    y = cg.conv2d(rec.input(np.ones((3, 3)), name=name), rec.weight(np.ones((2, 2))))
    t = rec.trace(y)
    t.backward()
    for kw in ({}, {"detail": "collapsed"}, {"focus": (name, (0, 0))}):
        source = cg.to_digraph(t, **kw).source
        assert "=" + name not in source and '="<<TABLE><TR><TD' in source  # quoted text, never an HTML label
        svg = cg.render_graph(t, tmp_path / "t.svg", **kw).read_text(encoding="utf-8")
        assert "<image" not in svg and not re.search(r'href="javascript', svg)


def test_the_page_fills_each_marker_once_and_forbids_forms(trace, tmp_path):
    page = cg.render_html(trace, tmp_path / "p.html", title="A /*__CONVGRAPH_DATA__*/ B").read_text(encoding="utf-8")
    assert "<title>A /*__CONVGRAPH_DATA__*/ B · convgraph stepper</title>" in page
    assert page.count('"version":1') == 1
    assert "form-action 'none'" in page and "base-uri 'none'" in page


# ---- 8, 9. refuse before the work ---------------------------------------------------------------------
def test_refusals_come_before_any_big_allocation():
    mb, r = peak_mb("import numpy as np, convgraph as cg\n"
                    "for kw in (dict(padding=10**7), dict(padding=10**30), dict(stride=2**63)):\n"
                    "    try: cg.trace_conv2d(np.ones((5, 5)), np.ones((3, 3)), **kw)\n"
                    "    except ValueError as e: print(e)\n"
                    "rec = cg.Recorder()\n"
                    "try: cg.conv2d(rec.input(np.ones((300, 300))), rec.weight(np.ones((100, 100))))\n"
                    "except ValueError as e: print(e, len(rec))\n")
    assert r.stdout.count("\n") == 4 and "over max_nodes" in r.stdout and "at most 2,147,483,647" in r.stdout
    assert r.stdout.strip().endswith("100000")  # the recorder holds its two tensors and nothing else
    assert mb < 400


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d", "sum", "mean", "mse_loss"])
def test_ops_refuse_before_building_and_leave_no_partial_nodes(op):
    rec = cg.Recorder(max_nodes=600)
    x = rec.input(np.ones((20, 20)))
    before = len(rec)
    call = {"max_pool2d": lambda: cg.max_pool2d(x, 2, 1), "avg_pool2d": lambda: cg.avg_pool2d(x, 2, 1),
            "sum": lambda: cg.sum(x), "mean": lambda: cg.mean(x),
            "mse_loss": lambda: cg.mse_loss(x, np.zeros((20, 20)))}[op]
    with pytest.raises(ValueError, match="over max_nodes=600"):
        call()
    assert len(rec) == before and list(rec.tensors) == ["x"]


@pytest.mark.parametrize("args, words", [
    (["--input", "20000x20000"], "holds 400,000,000 numbers, more than a trace can take"),
    (["--input", "1000000x1000000"], "holds 1,000,000,000,000 numbers"),
    (["--input", "3x8x8", "--groups", "100000000"], "--groups 100000000 must divide the input's 3 channels"),
    (["--groups", "-1"], "argument --groups: expected a whole number 1 or more"),
    (["--stride", str(10**30)], "stride must be at most 2,147,483,647"),
    (["--padding", str(10**30)], "padding must be at most 2,147,483,647"),
])
def test_the_command_line_checks_before_it_allocates(args, words):
    mb, r = peak_mb("from convgraph.cli import main\n"
                    f"print('exit', main({['trace', *args]!r}))")
    assert r.stdout.strip() == "exit 2"
    assert words in r.stderr and r.stderr.count("convgraph: error") == 1 and mb < 400


# ---- 10, 11. bounded frames, streamed steps and clips, files that block ------------------------------
def test_frames_have_a_pixel_budget(trace):
    with pytest.raises(ValueError, match=r"frames would be [\d,]+×[\d,]+ px at dpi=600, more than 3,840×2,160; "
                                         r"use dpi=\d+ or less"):
        cg.animate(trace, "never.gif", dpi=600)
    big = cg.trace_conv2d(np.ones((160, 160)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="draws every cell of x: 25,600 cells, more than 20,000"):
        cg.animate(big, "never.gif", scene="backprop")
    assert not os.path.exists("never.gif")


def test_the_graph_clip_collapses_past_the_node_budget():
    from convgraph.renderers.animations import build_frames

    t = cg.trace_conv2d(np.random.default_rng(0).normal(size=(30, 30)), np.ones((3, 3)))
    renderer, frames = build_frames(t, "graph", dpi=30)
    assert renderer.collapsed and len(frames) <= 400 and renderer.op_ids.size == 0 or not renderer.collapsed
    assert re.match(r"collapsed: 14,237 nodes are over the budget of 1,500", frames[1].caption)
    assert renderer.render(frames[-1]).shape == renderer.size + (3,)


def test_a_long_gif_is_streamed_not_held(tmp_path):
    code = ("import numpy as np, convgraph as cg\n"
            "t = cg.trace_conv2d(np.random.default_rng(0).normal(size=(12, 12)), np.ones((3, 3)))\n"
            f"cg.animate(t, {str(tmp_path / 'long.gif')!r}, scene='graph', graph_steps=1, max_frames=2000, "
            "dpi=100, progress=False)\n")
    mb, r = peak_mb(code)
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(tmp_path / "long.gif") as im:
        frames, size = im.n_frames, im.size
    held = frames * size[0] * size[1] / 2**20  # what holding every frame (1 byte a pixel) would take
    assert frames == 1854 and held > 1500 and mb < 400


def test_printing_a_few_steps_computes_only_those(trace):
    stream = trace.stream()
    assert [s.number for s in stream.steps(1, 3)] == [1, 2, 3] and stream._done == 3
    with pytest.raises(ValueError, match="steps are streamed: step 2 was already passed"):
        list(stream.steps(2, 4))
    text = cli("step", "--steps", "2", "--from", "186")
    assert text.returncode == 0 and text.stdout.splitlines()[1].startswith("186  x[0,1]")


def test_a_fifo_given_as_an_input_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "x.npy")
    r = cli("trace", "--input", str(tmp_path / "x.npy"), timeout=20)
    assert r.returncode == 2 and "not a regular file" in r.stderr


# ---- 12, 13, 14. numbers and errors ---------------------------------------------------------------------
def test_overflow_is_refused_and_numpy_stays_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail here
        with pytest.raises(ValueError, match=r"conv2d produced a non-finite value \(inf\) at y\[0,0\]"):
            cg.trace_conv2d(np.full((5, 5), 1e308), np.full((3, 3), 10.0))
        rec = cg.Recorder()
        x = rec.input(np.full((4, 4), 1e308))
        for call, what in ((lambda: cg.sum(x), "sum"), (lambda: cg.avg_pool2d(x, 2), "avg_pool2d"),
                           (lambda: cg.mse_loss(x, np.zeros((4, 4))), "mse_loss")):
            with pytest.raises(ValueError, match=f"{what} produced a non-finite value"):
                call()
        t = cg.trace_conv2d(np.ones((3, 3)), np.ones((2, 2)))
        with pytest.raises(ValueError, match=r"backward produced a non-finite gradient \(inf\)"):
            t.backward(np.full((2, 2), 1e308))
        assert not t.has_grad


@pytest.mark.parametrize("args, words", [
    (["animate", "--fps", "0.001", "-o", "{d}/a.gif"], "fps must be between 0.01 and 100"),
    (["check", "--rtol", "nan"], "argument --rtol: expected a finite number at least 0, got 'nan'"),
    (["check", "--rtol", "-1"], "argument --rtol: expected a finite number at least 0, got '-1'"),
])
def test_bad_numbers_are_one_line(args, words, tmp_path):
    r = cli(*[a.format(d=tmp_path) for a in args])
    assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1


def test_a_full_or_narrow_terminal_is_one_line_or_escaped(tmp_path):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "convgraph", "step"], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip() == "convgraph: error: cannot write the output: No space left on device"
    r = cli("render", "-o", str(tmp_path / "ü.dot"), env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0 and (tmp_path / "ü.dot").exists() and "\\xfc.dot" in r.stdout


def test_misuse_gets_a_named_error(tmp_path):
    r1, r2 = cg.Recorder(), cg.Recorder()
    with pytest.raises(TypeError, match="output must be a Tensor or Value of this recorder.*from another recorder"):
        r1.trace(r2.value(7.0))
    with pytest.raises(TypeError, match="x is a masked array with masked values"):
        cg.trace_conv2d(np.ma.masked_array(np.ones((3, 3)), mask=np.eye(3)), np.ones((2, 2)))
    t = cg.trace_conv2d(np.ones((3, 3)), np.ones((2, 2)))
    t.graph.add_node(999)
    with pytest.raises(ValueError, match="trace.graph was changed after tracing"):
        t.backward()
    with pytest.raises(ValueError, match="sum of an empty tensor"):
        cg.sum(cg.Recorder().input(np.ones((0, 3))))
    with pytest.raises(ValueError, match="is not a real number"):
        cg.Recorder().value(-4.0) ** 0.5
    with pytest.raises(ValueError, match=r"data must be finite, got 100000000000… \(too large for a float\)"):
        cg.Recorder().value(10**400)
    for make in (lambda: cg.Recorder(max_nodes="many"), lambda: cg.trace_conv2d(np.ones((3, 3)), np.ones((2, 2)),
                                                                                  max_nodes=2.5),
                 lambda: cg.render_html(LESSON.trace(), tmp_path / "p.html", max_nodes="many")):
        with pytest.raises(TypeError, match="max_nodes must be an int"):
            make()
