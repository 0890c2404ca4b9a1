"""One rule for output paths: every writer makes the missing folders on the way to its output, and
refuses, with the same words, a path that runs through a file or names a folder where a file goes."""

import subprocess
import sys

import numpy as np
import pytest

import convgraph as cg
from convgraph.kit import lecture_kit
from convgraph.lessons import LESSON
from convgraph.renderers.files import output_path

WRITERS = {
    "render_graph": lambda t, p: cg.render_graph(t, p / "graph.dot"),
    "render_html": lambda t, p: cg.render_html(t, p / "page.html"),
    "animate": lambda t, p: cg.animate(t, p / "clip.gif", scene="forward", dpi=20, progress=False),
    "animate frames": lambda t, p: cg.animate(t, p / "frames", scene="forward", dpi=20, progress=False),
}


@pytest.fixture
def trace():
    t = LESSON.trace()
    t.backward()
    return t


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_makes_missing_folders(trace, tmp_path, name):
    out = WRITERS[name](trace, tmp_path / "a" / "b")
    assert out.exists() and out.parent == tmp_path / "a" / "b"


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_refuses_a_path_through_a_file_alike(trace, tmp_path, name):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(ValueError, match=r"cannot write '\S+': '\S+/afile' is a file, not a folder"):
        WRITERS[name](trace, tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "mine"


def test_the_kit_and_the_command_line_follow_the_same_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(cg, "animate", lambda trace, path, **kw: path.write_text("clip") or path, raising=False)
    monkeypatch.setattr(cg, "anim_conv_backprop", lambda path, **kw: path.write_text("clip") or path, raising=False)
    monkeypatch.setattr(cg, "render_graph", lambda trace, path, **kw: path.write_text("g") or path, raising=False)
    written = lecture_kit(tmp_path / "new" / "kit", progress=False)
    assert written[-1][0] == tmp_path / "new" / "kit" / "index.md"
    (tmp_path / "afile").write_text("")
    r = subprocess.run([sys.executable, "-m", "convgraph", "render", "-o", str(tmp_path / "afile" / "g.dot")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().endswith(f"'{tmp_path / 'afile'}' is a file, not a folder")
    r = subprocess.run([sys.executable, "-m", "convgraph", "render", "-o", str(tmp_path / "x" / "y" / "g.dot")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and (tmp_path / "x" / "y" / "g.dot").exists()


def test_output_path_names_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="path must be a file name, got the folder"):
        output_path(tmp_path)
    (tmp_path / "f.gif").write_text("")
    with pytest.raises(ValueError, match="path must be a folder, got the file"):
        output_path(tmp_path / "f.gif", folder=True)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int: 3"):
        output_path(3)
    assert output_path(str(tmp_path / "n" / "x.svg")) == tmp_path / "n" / "x.svg"
    assert not (tmp_path / "n").exists()  # it only checks: the writer makes the folder when it writes
    np.testing.assert_array_equal(LESSON.x, np.arange(25.0).reshape(5, 5))  # nothing else moved
