"""Lecture animations: frame counts, sizes, loop flag, final numbers equal to backward, atomic writes."""

import os

import numpy as np
import pytest
from PIL import Image

import convgraph as cg
from convgraph.lessons import SEED_CLIP
from convgraph.renderers import animations as animation
from convgraph.renderers.animations import encoding as writers, grid_scenes

DPI = 40  # small frames: these tests check structure and numbers, not looks


def hard_case(bias=False):
    """Stride 2, dilation 2, padding 1, 3 channels, 2 filters."""
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=(3, 7, 7)), 1)
    w = np.round(rng.normal(size=(2, 3, 3, 3)), 1)
    b = np.array([0.5, -1.0]) if bias else None
    return cg.trace_conv2d(x, w, b, stride=2, dilation=2, padding=1)


def gif_frames(path):
    with Image.open(path) as im:
        sizes, n = set(), im.n_frames
        for k in range(n):
            im.seek(k)
            sizes.add(im.size)
        return n, sizes, im.info.get("loop")


def gif_timing(path):
    """(distinct pictures, total seconds, seconds of the last picture) of a GIF."""
    with Image.open(path) as im:
        pictures, total, last, prev = 0, 0.0, 0.0, None
        for k in range(im.n_frames):
            im.seek(k)
            rgb = np.asarray(im.convert("RGB"))
            ms = im.info["duration"] / 1000
            if prev is None or not np.array_equal(rgb, prev):
                pictures, last = pictures + 1, 0.0
            total, last, prev = total + ms, last + ms, rgb
        return pictures, total, last


def test_seed_clip_one_picture_per_output_position_at_a_lecture_pace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = cg.anim_conv_backprop(fps=15)
    assert path.resolve() == (tmp_path / "outputs" / "01_conv_backprop.gif").resolve()
    n, sizes, loop = gif_frames(path)
    pictures, total, last = gif_timing(path)
    # 49 positions of 40/49 s each, at 15 frames a second: 12 frames each, the last held 2 s more
    assert (pictures, n, len(sizes), loop) == (49, 48 * 12 + 42, 1, 0)
    assert total == pytest.approx(618 / 15, abs=0.011) and last == pytest.approx(42 / 15, abs=0.011)
    assert not [p for p in (tmp_path / "outputs").iterdir() if p.name.startswith(".")]  # no temp left


def test_pace_pause_and_hold(lesson, tmp_path):
    trace = cg.trace_conv2d(*lesson)
    path = animation.animate(trace, tmp_path / "b.gif", scene="backprop", dpi=DPI, progress=False)
    with Image.open(path) as im:
        ms = []
        for k in range(im.n_frames):
            im.seek(k)
            ms.append(im.info["duration"])
    # 18 frames, one a second; a pause between forward and backward; the last held
    assert ms == [1000] * 8 + [2000] + [1000] * 8 + [3000]
    path = animation.animate(trace, tmp_path / "c.gif", scene="forward", pace=0.25, hold=0, dpi=DPI, progress=False)
    assert gif_timing(path)[1] == pytest.approx(9 * 0.25)
    assert animation.auto_pace(9) == 1.0 and animation.auto_pace(400) == 0.1
    for bad, words in ((dict(pace=0), "pace must be between 0.02 and 60 seconds"),
                       (dict(hold=-1), "hold must be between 0 and 60 seconds"),
                       (dict(pause="long"), "pause must be a number of seconds")):
        with pytest.raises((TypeError, ValueError), match=words):
            animation.animate(trace, tmp_path / "x.gif", **bad)


def test_lesson_scene_final_dw_equals_backward():
    trace = SEED_CLIP.trace()
    dY = np.arange(49.0).reshape(7, 7) / 10
    scene = grid_scenes.lesson_scene(trace.conv, dY)
    assert len(scene) == 49
    np.testing.assert_allclose(scene.result["dW"].reshape(2, 2), trace.backward(dY).w)
    last = scene.frames[-1].values["dW:0,0"]
    np.testing.assert_allclose(last, trace.backward(dY).w)


@pytest.mark.parametrize("scene", ["forward", "weight-grad", "input-grad", "backprop"])
@pytest.mark.parametrize("case", ["lesson", "hard", "groups"])
def test_final_frame_equals_trace_gradients(scene, case, lesson):
    if case == "lesson":
        trace = cg.trace_conv2d(*lesson)
    elif case == "hard":
        trace = hard_case(bias=True)
    else:
        rng = np.random.default_rng(3)
        trace = cg.trace_conv2d(rng.normal(size=(2, 4, 5, 6)), rng.normal(size=(4, 2, 2, 3)), stride=(2, 1),
                                padding=(2, 1), dilation=(1, 2), groups=2)
    dY = np.random.default_rng(1).normal(size=trace.y.shape)
    grads = trace.backward(dY)
    renderer, frames = animation.build_frames(trace, scene, dY=dY, dpi=DPI)
    sc = renderer.scene
    spec = trace.conv.spec
    last = frames[-1].values
    if scene in ("forward", "backprop"):
        np.testing.assert_allclose(sc.result["y"].reshape(trace.y.shape), trace.y)
        got = np.stack([last[f"y:{n},{o}"] for n in range(spec.N) for o in range(spec.O)])
        np.testing.assert_allclose(got.reshape(trace.y.shape), trace.y)
    if scene in ("weight-grad", "backprop"):
        got = np.stack([last[f"dW:{o},{c}"] for o in range(spec.O) for c in range(spec.Cg)])
        np.testing.assert_allclose(got.reshape(grads.w.shape), grads.w)
    if scene in ("input-grad", "backprop"):
        pt, _, pl, _ = spec.padding
        got = np.stack([last[f"dX:{n},{c}"][pt:pt + spec.H, pl:pl + spec.W]
                        for n in range(spec.N) for c in range(spec.C)])
        np.testing.assert_allclose(got.reshape(grads.x.shape), grads.x)
    if scene == "input-grad":  # the second part gathers the same dX through the flipped kernel
        got = np.stack([last[f"dXg:{n},{c}"] for n in range(spec.N) for c in range(spec.C)])
        np.testing.assert_allclose(got.reshape(grads.x.shape), grads.x)
    img = renderer.render(frames[-1])
    assert img.dtype == np.uint8 and img.shape == renderer.size + (3,)
    renderer.close()


def test_frame_counts(lesson):
    trace = cg.trace_conv2d(*lesson)  # 3x3 output positions, 5x5 input
    counts = {s: len(animation.build_frames(trace, s, dpi=DPI)[1]) for s in
              ("forward", "weight-grad", "backprop", "input-grad")}
    assert counts == {"forward": 9, "weight-grad": 9, "backprop": 18, "input-grad": 9 + 25}
    assert len(animation.build_frames(trace, "forward", dpi=DPI, max_frames=4)[1]) == 3  # 3 positions per frame


@pytest.mark.parametrize("scene", ["forward", "weight-grad", "input-grad", "backprop"])
def test_hard_case_renders_gif_with_equal_frames(tmp_path, scene):
    trace = hard_case()
    path = animation.animate(trace, tmp_path / f"{scene}.gif", scene=scene, dpi=DPI)
    n, sizes, loop = gif_frames(path)
    expected = {"forward": 18, "weight-grad": 18, "backprop": 36, "input-grad": 18 + 3 * 49}[scene]
    assert (n, len(sizes), loop) == (expected, 1, 0)


def test_graph_scene_frame_k_is_step_k_and_ends_in_the_final_heat(tmp_path, lesson):
    trace = cg.trace_conv2d(*lesson)
    steps = trace.graph.number_of_nodes()
    path = animation.animate(trace, tmp_path / "graph.gif", scene="graph", dpi=DPI)
    n, sizes, loop = gif_frames(path)
    assert (n, len(sizes), loop) == (steps + 1, 1, 0)  # frame 0 (before the first step), then one per step
    renderer, frames = animation.build_frames(trace, "graph", dpi=DPI)
    walk = trace.walk()
    assert [f.last for f in frames] == list(range(steps + 1))
    assert frames[0].current is None and frames[0].title.startswith("step 0 of 187")
    assert frames[40].current == walk.node(40) and frames[40].title.startswith("step 40 of 187: w[2,0]·x[4,0]   grad 1 → w[2,0] += 1·")
    assert frames[-1].last == steps
    np.testing.assert_array_equal(walk.grads_after(frames[-1].last), cg.trace_conv2d(*lesson).walk().final)
    assert walk.touched_after(steps)[trace.tensors["w"].nodes.ravel()].all()
    # A stride of steps for big graphs: frame 0, then ceil(187 / 50) frames.
    _, strided = animation.build_frames(trace, "graph", dpi=DPI, graph_steps=50)
    assert len(strided) == 1 + -(-steps // 50)
    assert [f.last for f in strided] == [0, 50, 100, 150, 187]


def test_frames_are_deterministic(lesson):
    trace = cg.trace_conv2d(*lesson)
    a_r, a_f = animation.build_frames(trace, "backprop", dpi=DPI)
    b_r, b_f = animation.build_frames(trace, "backprop", dpi=DPI)
    for k in (0, 9, 17):
        assert np.array_equal(a_r.render(a_f[k]), b_r.render(b_f[k]))
    # Rendering out of order gives the same pixels (blitting keeps no stale state).
    first = a_r.render(a_f[3])
    a_r.render(a_f[17])
    assert np.array_equal(a_r.render(a_f[3]), first)


def _drawn_by_matplotlib(r, frame, shown):
    """Frame ``frame`` of grid renderer ``r`` drawn afresh the plain way: the background, every dynamic
    image, fade and grid drawn by matplotlib at the values ``shown``, the curves and this frame's
    outlines, then the title, the caption and every number stamped on top."""
    from convgraph.renderers.animations.lettering import stamp_alpha

    assert r.caption is None or r._bg[r.caption_bottom - 5:r.caption_bottom, :, :3].min() < 128  # it is there

    buf = np.asarray(r.canvas.buffer_rgba())
    kept = np.array(buf)
    buf[...] = r._bg
    for p in r.dynamic:
        if p.d.curve is not None:
            r.fig.draw_artist(p.line)
            r.fig.draw_artist(p.dot)
            continue
        p.image.set_data(shown[p.d.key])
        for artist in (p.image, p.fade, p.grid):
            if artist is not None:
                r.fig.draw_artist(artist)
    for key in sorted(r._marked):
        if key in frame.cells or key in frame.boxes:
            r.fig.draw_artist(r.panels[key].marks)
    drawn = np.array(buf)
    buf[...] = kept
    rgb = drawn[..., :3]
    y = r.title_top
    for line in frame.title.split("\n"):
        y += r._stamp_line(rgb, line, r.title_pt, y, top=True)
    if frame.caption != r.caption:  # one every frame shows is in the background already
        r._stamp_line(rgb, frame.caption, r.caption_pt, r.caption_bottom, top=False)
    for p in r.dynamic:
        for cell, (text, ink) in (p.labels or {}).items():
            if text:
                stamp_alpha(rgb, r._glyphs.get(text, p.font), *p.rgba[cell], ink)
    return drawn


@pytest.mark.parametrize("lesson_name, scene", [("EDGE", "input-grad"), ("EDGE", "backprop"), ("EDGE", "im2col"),
                                                ("UPSAMPLE", "backprop"), ("SIGNAL", "lesson"), ("TRAIN", "train")])
def test_grid_frames_paint_changed_cells_exactly_as_matplotlib_draws_them(lesson_name, scene):
    """A grid clip paints only the cells whose colour or number changed, with numpy, from where a
    probe drawing found each cell's pixels and its grid lines, and keeps their numbers until they
    change: every frame, in any order, is the frame drawn afresh by matplotlib with every number
    stamped on top, to within rounding (2 of 255)."""
    from convgraph import lessons

    if lesson_name == "TRAIN":
        what, dY = lessons.stamp_learning(steps=8), None
    else:
        problem = getattr(lessons, lesson_name)
        what, dY = problem.trace(), problem.dY
    r, frames = animation.build_frames(what, scene, dY=dY, dpi=70)
    shown = {p.d.key: p.d.values for p in r.dynamic if p.d.curve is None}
    for k in list(range(len(frames))) + [len(frames) - 1, 0, len(frames) // 2, 1]:
        painted = r.render_rgba(frames[k])
        shown.update({key: v for key, v in frames[k].values.items() if key in shown})
        assert np.abs(painted.astype(int) - _drawn_by_matplotlib(r, frames[k], shown)).max() <= 2, k
    r.close()


def test_the_graph_clip_redraws_only_what_changed_yet_every_frame_is_exact():
    """Frames of the graph clip redraw only the nodes whose colour changed since the frame before;
    every frame still equals drawing it afresh, whatever order the frames are asked for in."""
    from convgraph.lessons import EDGE

    trace = EDGE.trace()
    r, frames = animation.build_frames(trace, "graph", dY=EDGE.dY, dpi=60)
    fresh = {}
    for k in (0, 1, 2, 7, 40, 41, len(frames) - 1):
        r._base = None  # forget the canvas's markers: drawn from nothing
        fresh[k] = r.render_rgba(frames[k])
    seq = [r.render_rgba(f) for f in frames[:42]] + [r.render_rgba(frames[-1])]
    for k in (0, 1, 2, 7, 40, 41):
        assert np.array_equal(seq[k], fresh[k]), k
    assert np.array_equal(seq[-1], fresh[len(frames) - 1])
    for k in (41, 7, len(frames) - 1, 0, 40, 2):  # jumping about
        assert np.array_equal(r.render_rgba(frames[k]), fresh[k]), k
    assert np.array_equal(r.render(frames[7]), fresh[7][..., :3])


def test_gif_from_rgba_frames_is_the_gif_from_rgb(tmp_path, lesson):
    """Clips are drawn and encoded in RGBA (no alpha-dropping copy per frame); the GIF is the same."""
    trace = cg.trace_conv2d(*lesson)
    r, frames = animation.build_frames(trace, "input-grad", dpi=DPI)
    rgba = [r.render_rgba(f) for f in frames]
    assert all(a.shape == r.size + (4,) and (a[..., 3] == 255).all() for a in rgba)
    pal = writers.shared_palette([a[..., :3] for a in rgba[:3]], fixed=r.palette_colors())
    secs = [0.5] * len(frames)
    one = writers.write_frames(rgba, tmp_path / "rgba.gif", seconds=secs, palette=pal)
    two = writers.write_frames([np.ascontiguousarray(a[..., :3]) for a in rgba], tmp_path / "rgb.gif", seconds=secs,
                               palette=pal)
    assert one.read_bytes() == two.read_bytes()


def test_a_gif_letterboxed_by_the_encoder_is_the_gif_of_letterboxed_frames(tmp_path):
    """For a slide size the encoder centres the frames (one copy onto the background, then shifted
    changes) instead of each frame being copied onto it: the same bytes."""
    from convgraph.lessons import EDGE
    from convgraph.renderers.animations.clip import _frames_for

    r, frames = _frames_for(EDGE.trace(), "weight-grad", "slide-720", 60, dY=EDGE.dY, max_frames=400, numbers=None,
                            graph_steps=None)
    inner = [r.inner.render_rgba(f) for f in frames]
    assert inner[0].shape[:2] != r.size  # narrower or shorter than the slide: there is a letterbox
    pal = writers.shared_palette([a[..., :3] for a in inner[:3]], fixed=r.palette_colors())
    secs = [0.5] * len(frames)
    screen = (r.width, r.height, r.background)
    one = writers.write_frames(inner, tmp_path / "screen.gif", seconds=secs, palette=pal, screen=screen)
    two = writers.write_frames([r.render_rgba(f) for f in frames], tmp_path / "boxed.gif", seconds=secs, palette=pal)
    assert one.read_bytes() == two.read_bytes()
    with Image.open(one) as im:
        assert im.size == (1280, 720)
    with pytest.raises(ValueError, match="do not fit the screen of 100x100"):
        writers.write_frames(inner, tmp_path / "small.gif", seconds=secs, palette=pal, screen=(100, 100, (255,) * 3))


def test_frames_fitted_to_a_size_are_drawn_at_that_size(lesson):
    trace = cg.trace_conv2d(*lesson)
    for scene in ("forward", "graph"):
        r, _ = animation.build_frames(trace, scene, fit=(1280, 720))
        h, w = r.size
        assert (w == 1280 and h <= 720) or (h == 720 and w <= 1280), (scene, r.size)
    for bad in ((1280,), (1280, 0), [1280, 720], (1280.0, 720)):
        with pytest.raises(ValueError, match="fit must be None or \\(width, height\\) in pixels"):
            animation.build_frames(trace, "forward", fit=bad)


def test_png_folder_and_mp4(tmp_path, lesson):
    trace = cg.trace_conv2d(*lesson)
    folder = animation.animate(trace, tmp_path / "frames", scene="forward", dpi=DPI)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame_{k:04d}.png" for k in range(9)]
    assert len({Image.open(folder / n).size for n in names}) == 1
    pytest.importorskip("imageio_ffmpeg")
    mp4 = animation.animate(trace, tmp_path / "clip.mp4", scene="forward", pace=0.4, hold=1, fps=5, dpi=DPI)
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    count = sum(1 for _ in reader)
    assert count == 9 * 2 + 5 and meta["fps"] == 5  # two frames a position, the last held 1 s more


def test_interrupted_write_leaves_no_file(tmp_path, lesson, monkeypatch):
    trace = cg.trace_conv2d(*lesson)
    from convgraph.renderers.animations import grid_frames as frames_mod

    calls = {"n": 0}

    def flaky(real):  # a GIF is drawn with render_rgba, the rest with render
        def draw(self, frame):
            calls["n"] += 1
            if calls["n"] == 8:
                raise KeyboardInterrupt
            return real(self, frame)
        return draw

    monkeypatch.setattr(frames_mod.GridRenderer, "render_rgba", flaky(frames_mod.GridRenderer.render_rgba))
    monkeypatch.setattr(frames_mod.GridRenderer, "render", flaky(frames_mod.GridRenderer.render))
    for name in ("clip.gif", "clip.mp4", "frames"):
        calls["n"] = 0
        if name.endswith(".mp4"):
            pytest.importorskip("imageio_ffmpeg")
        with pytest.raises(KeyboardInterrupt):
            animation.animate(trace, tmp_path / name, scene="backprop", dpi=DPI)
        assert not (tmp_path / name).exists()
        assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(scene="sideways"), ValueError, "scene must be one of"),
    (dict(scene=3), TypeError, "scene must be a str"),
    (dict(fps=0), ValueError, "fps must be between 0.01 and 100"),
    (dict(fps=0.001), ValueError, "fps must be between 0.01 and 100"),
    (dict(fps="15"), TypeError, "fps must be a number"),
    (dict(dpi=5), ValueError, "dpi must be between"),
    (dict(dpi=None), TypeError, "dpi must be a number"),
    (dict(max_frames=0), ValueError, "max_frames must be positive"),
    (dict(numbers="yes"), TypeError, "numbers must be"),
    (dict(progress="auto"), TypeError, "progress must be"),
    (dict(scene="graph", graph_steps=0), ValueError, "graph_steps must be positive"),
    (dict(scene="graph", graph_steps=2.5), TypeError, "graph_steps must be an int"),
    (dict(scene="forward", graph_steps=2), ValueError, "graph_steps applies to scene='graph' only"),
])
def test_bad_options(tmp_path, lesson, kwargs, error, words):
    trace = cg.trace_conv2d(*lesson)
    with pytest.raises(error, match=words):
        animation.animate(trace, tmp_path / "x.gif", **kwargs)
    assert os.listdir(tmp_path) == []


def test_bad_path_and_trace(tmp_path, lesson):
    trace = cg.trace_conv2d(*lesson)
    with pytest.raises(ValueError, match=r"\.gif or \.mp4.*'\.avi'"):
        animation.animate(trace, tmp_path / "clip.avi")
    with pytest.raises(TypeError, match="path must be a str"):
        animation.animate(trace, 42)
    with pytest.raises(TypeError, match="trace must be a convgraph Trace"):
        animation.animate("trace", tmp_path / "x.gif")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holds 'notes.txt', which convgraph did not write"):
        animation.animate(trace, tmp_path / "busy", scene="forward", dpi=DPI)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"


def test_mp4_without_imageio_ffmpeg_names_the_install(tmp_path, lesson, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError("No module named 'imageio_ffmpeg'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    with pytest.raises(ImportError, match=r"pip install 'convgraph\[mp4\]'"):
        animation.animate(cg.trace_conv2d(*lesson), tmp_path / "x.mp4")
    assert os.listdir(tmp_path) == []


def gif_blocks(data):
    """(has a global colour table, number of frames, number of frames with a local colour table)."""
    assert data[:6] in (b"GIF87a", b"GIF89a")
    packed = data[10]
    pos = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    frames = local = 0

    def skip_sub_blocks(pos):
        while data[pos]:
            pos += data[pos] + 1
        return pos + 1

    while data[pos] != 0x3B:
        if data[pos] == 0x21:  # extension: label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif data[pos] == 0x2C:  # image descriptor
            flags = data[pos + 9]
            frames += 1
            pos += 10
            if flags & 0x80:
                local += 1
                pos += 3 * 2 ** ((flags & 7) + 1)
            pos = skip_sub_blocks(pos + 1)  # LZW minimum code size, then the data
        else:
            raise AssertionError(f"unexpected GIF block {data[pos]:#x} at {pos}")
    return bool(packed & 0x80), frames, local


def test_gif_palette_is_shared(tmp_path, lesson):
    trace = cg.trace_conv2d(*lesson)
    path = animation.animate(trace, tmp_path / "b.gif", dpi=DPI)
    has_global, n, _ = gif_blocks(path.read_bytes())
    assert (has_global, n) == (True, 18)
    # Every frame was quantized to the one shared palette: all frames together use at most its 255
    # colours (Pillow stores each frame's changed rectangle with the entries it uses); per-frame
    # adaptive palettes, as PillowWriter makes, use many more between them.
    colours = set()
    with Image.open(path) as im:
        for k in range(im.n_frames):
            im.seek(k)
            used = np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)
            colours |= {tuple(c) for c in used.tolist()}
    assert len(colours) <= 255


def test_recorder_chain_animates_its_convolution(tmp_path):
    rec = cg.Recorder()
    x = rec.input(np.arange(16.0).reshape(4, 4))
    w = rec.weight(np.array([[1.0, -1.0], [0.5, 2.0]]))
    loss = cg.mse_loss(cg.relu(cg.conv2d(x, w)), np.ones((3, 3)))
    trace = rec.trace(loss)
    grads = trace.backward()
    renderer, frames = animation.build_frames(trace, "weight-grad", dpi=DPI)
    np.testing.assert_allclose(frames[-1].values["dW:0,0"], grads.w)
    assert writers.output_format(tmp_path / "a.GIF") == "gif"


def test_gif_colours_stay_true_mid_clip(tmp_path):
    """Colours that exist only in the middle of a clip (a half-built dW) still come out right: the
    palette holds every colour map in use, not just the colours of a few sample frames."""
    trace = SEED_CLIP.trace()
    path = animation.animate(trace, tmp_path / "seed.gif", scene="lesson", dpi=DPI)
    renderer, frames = animation.build_frames(trace, "lesson", dpi=DPI)
    with Image.open(path) as im:
        for k in (10, 20, 35):
            im.seek(k)
            diff = np.abs(np.asarray(im.convert("RGB")).astype(int) - renderer.render(frames[k]).astype(int)).max(axis=2)
            assert diff.mean() < 3.0 and np.percentile(diff, 99) < 40, (k, diff.mean())


def test_slide_size_frames_are_exactly_16_by_9(lesson, tmp_path):
    trace = cg.trace_conv2d(*lesson)
    for size, px in (("slide", (1920, 1080)), ("slide-720", (1280, 720))):
        path = animation.animate(trace, tmp_path / f"{size}.gif", scene="weight-grad", size=size, pace=0.1, hold=0,
                                 progress=False)
        with Image.open(path) as im:
            assert im.size == px and im.n_frames == 9
    frames = animation.animate(trace, tmp_path / "frames", scene="forward", size="slide-720", progress=False)
    assert {Image.open(p).size for p in frames.iterdir()} == {(1280, 720)}
    with pytest.raises(ValueError, match="size must be None, 'slide' or 'slide-720', got 'a4'"):
        animation.animate(trace, tmp_path / "x.gif", size="a4")


def test_dy_prime_tells_stride_zeros_from_padding_and_the_scatter_shows_what_falls_off():
    x, w = np.arange(36.0).reshape(6, 6) % 7, np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    trace = cg.trace_conv2d(x, w, stride=2, padding=1)
    dY = np.array([[1.0, -1, 2], [0, 2, -1], [-2, 1, 1]])
    renderer, frames = animation.build_frames(trace, "input-grad", dY=dY, dpi=DPI)
    panels = {p.key: p for p in renderer.scene.panels}
    dyp = panels["dYd:0,0"]
    assert not (dyp.zeros & dyp.inserted).any()
    assert dyp.inserted.sum() == 5 * 5 - 9  # between the 3×3 entries, stride 2: 16 inserted zeros
    assert dyp.zeros.sum() == dyp.values.size - 25  # the rest of the zeros are padding
    scatter = panels["dX:0,0"]
    assert scatter.faded is not None and scatter.faded.sum() == 8 * 8 - 36 and not scatter.zeros.any()
    last = [f for f in frames if f.caption.startswith("part 1")][-1].values["dX:0,0"]
    dropped = last[scatter.faded]
    assert np.any(dropped != 0)  # what landed on padding is shown, not silently zero
    # everything scattered, kept or dropped, is dY·W summed over the positions
    assert last.sum() == pytest.approx(dY.sum() * w.sum())
    np.testing.assert_allclose(last[~scatter.faded].reshape(6, 6), trace.backward(dY).x)
    assert "faded border: what lands on padding" in frames[0].caption
    assert "pale 0: inserted by the stride" in frames[-1].caption
    renderer.render(frames[-1])
    renderer.close()


def test_gif_colours_map_to_their_nearest_palette_entry_exactly():
    """Every colour of a frame goes to its nearest palette entry in RGB (the first of equals), as a
    brute-force search finds it, whether it is a palette colour, a new one, or one seen before."""
    from PIL import Image

    rng = np.random.default_rng(7)
    table = rng.integers(0, 256, (255, 3))
    table[17] = table[3]  # a repeated entry: the first one wins
    pal = Image.new("P", (1, 1))
    pal.putpalette([int(v) for v in table.ravel()] + [0, 0, 0])
    mapper = writers._ExactMapper(pal)
    for _ in range(3):  # new colours, then colours already matched
        rgb = rng.integers(0, 256, (40, 70, 3)).astype(np.uint8)
        rgb[0, :10] = table[:10]
        got = mapper.lookup(writers._keys(rgb.reshape(-1, 3)))
        d = ((rgb.reshape(-1, 1, 3).astype(int) - table[None]) ** 2).sum(axis=2)
        assert np.array_equal(got.ravel(), d.argmin(axis=1)), "nearest palette entry"


@pytest.mark.parametrize("text", ["dX[2,1] = Σ rot180(W)·dY′ = 0·1 + 1·(-1) + 2·2 = 4", "a  b", " lead and trail ",
                                  "∂L/∂w[1,1] = 6 + 7 + 8 = 21", "fj ff′ jj -0.0026"])
def test_a_line_is_measured_to_the_pixel_without_drawing_it(text):
    """Titles are fitted by measuring every frame's lines from glyph advances alone; the width is the
    drawn line's, a word is the same bitmap from cache as freshly put together, and the inked pixels
    a frame stamps, put together word by word, are the line's."""
    from convgraph.renderers.animations.lettering import Glyphs

    glyphs = Glyphs(150)
    for pt in (14, 20.25):
        assert glyphs.width(text, pt) == glyphs.width(text, pt) == glyphs.line(text, pt).shape[1]
        word = max(text.split(" "), key=len)
        assert np.array_equal(glyphs.get(word, pt), Glyphs(150).get(word, pt))
        (h, w), rows, cols, alpha = glyphs.inked(text, pt)  # what a frame stamps: the words' inked pixels
        drawn = np.zeros((h, w), np.float32)
        drawn[rows, cols] = alpha[:, 0]
        assert np.array_equal(drawn, glyphs.line(text, pt))


def test_a_line_stamped_into_an_rgba_frame_is_the_line_stamped_into_its_rgb():
    """Into the colour channels of an RGBA frame a line is stamped a pixel (one 32-bit word) at a
    time: the same colours as into an RGB copy, alpha untouched, cut where it runs off the edge."""
    from convgraph.renderers.animations.lettering import Glyphs, _pixel_words, stamp_line

    glyphs = Glyphs(120)
    frame = np.random.default_rng(3).integers(0, 256, (120, 700, 4)).astype(np.uint8)
    for text, y in (("dX[2,1] = Σ rot180(W)·dY′ = 4", 10), ("a line much wider than the frame it is stamped into " * 3, 60)):
        rgba, rgb = frame.copy(), np.ascontiguousarray(frame[..., :3])
        pitch = stamp_line(rgba[..., :3], glyphs, text, 20, y, True, (200, 30, 0))
        assert pitch == stamp_line(rgb, glyphs, text, 20, y, True, (200, 30, 0)) > 0
        assert np.array_equal(rgba[..., :3], rgb) and np.array_equal(rgba[..., 3], frame[..., 3])
        assert not np.array_equal(rgb, frame[..., :3])
    assert _pixel_words(frame[..., :3]) is not None  # the word path: only for a whole frame's colour channels
    assert _pixel_words(frame[..., 1:]) is None and _pixel_words(frame[5:, :, :3]) is None
