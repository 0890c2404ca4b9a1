"""Encoding RGB frames as a GIF (one shared palette), an MP4 or a folder of numbered PNGs, atomically.

Every writer renders into a temporary name beside the target and renames it into place at the end
(:func:`convgraph.renderers.files.into_place`), so an interrupted or failed run leaves nothing at
the path (and no temporary file behind).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from .. import style
from ..files import FRAME_NAME, into_place, output_path
from .lettering import rgba_to_rgb

__all__ = ["FORMATS", "output_format", "check_fps", "write_frames", "shared_palette", "palette_colors", "on_screen"]

log = logging.getLogger(__name__)

#: Output formats by path: a ``.gif`` or ``.mp4`` file, or a folder (no suffix) of numbered PNGs.
FORMATS = {".gif": "gif", ".mp4": "mp4", "": "png"}
_FRAME_NAME = "frame_{:04d}.png"  # files.FRAME_NAME matches these
_KEEP = 255  # GIF palette index of "as in the frame before" (transparent): shared_palette leaves it free


def output_format(path):
    """The format that ``path`` asks for: ``"gif"``, ``"mp4"`` or ``"png"`` (a folder of frames).

    Raises
    ------
    TypeError
        If ``path`` is not a str or os.PathLike.
    ValueError
        If the suffix is none of ``.gif``, ``.mp4`` or empty (a folder).

    >>> output_format("clip.gif"), output_format("frames/")
    ('gif', 'png')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        suffix = ""
    if suffix not in FORMATS:
        raise ValueError(f"path must end in .gif or .mp4, or name a folder for PNG frames (no suffix), "
                         f"got {str(path)!r} (suffix {path.suffix!r})")
    return FORMATS[suffix]


def check_fps(fps):
    """``fps`` as a float in [0.01, 100]; GIF stores a frame's time in whole centiseconds, so 100 is
    its ceiling (and 100 s a frame is as slow as a clip goes).

    >>> check_fps(15)
    15.0
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise TypeError(f"fps must be a number, got {type(fps).__name__}: {fps!r}")
    fps = float(fps)
    if not (0.01 <= fps <= 100):
        raise ValueError(f"fps must be between 0.01 and 100 frames per second, got {fps!r}")
    return fps


def shared_palette(samples, colors=_KEEP, fixed=()):
    """One palette image (mode ``"P"``) for every frame: the ``fixed`` colours exactly, then median
    cut over every fourth pixel (in each direction) of a few sample frames (H, W, 3) uint8 for the
    rest: the median cut's time grows with the pixels it sees, and a slide's frames hold millions.

    ``fixed`` holds the colours that must come out exact: background, ink, outlines and samples of
    every colour map in use (a gradient that exists only in the middle of a clip still finds its
    colour). Deterministic for the same samples.
    """
    from PIL import Image

    fixed = [tuple(int(v) for v in c[:3]) for c in fixed]
    fixed = list(dict.fromkeys(fixed))[:colors]  # unique, in order
    rest = colors - len(fixed)
    extra = []
    if rest > 0 and samples:
        stack = np.concatenate([np.asarray(s, dtype=np.uint8)[::4, ::4] for s in samples], axis=0)  # (k·H/4, W/4, 3)
        mc = Image.fromarray(stack, "RGB").quantize(colors=rest, method=Image.Quantize.MEDIANCUT,
                                                    dither=Image.Dither.NONE)
        used = len(mc.getcolors(maxcolors=256) or [])
        flat = mc.getpalette()[:3 * max(used, 1)]
        extra = [tuple(flat[k:k + 3]) for k in range(0, len(flat), 3)]
    table = fixed + [c for c in extra if c not in set(fixed)]
    pal = Image.new("P", (1, 1))
    pal.putpalette([v for c in table for v in c] + [0] * (3 * (256 - len(table))))
    return pal


def palette_colors(cmaps, per_map=None):
    """Exact RGB (0..255) of the fixed looks (background, ink, outlines, padding, empty cells, black
    and white text) and ``per_map`` evenly spaced samples of each colour map (default: share 160)."""
    from matplotlib.colors import to_rgba

    A = style.ANIM
    base = [style.BACKGROUND, style.INK, style.TEXT_ON_LIGHT, style.TEXT_ON_DARK, A["window"], A["padding"], A["padding_ink"],
            A["empty"], A["grid_line"], A["edge"], style.VISITED, A["panel_fill"], A["panel_outline"],
            A["leaf_outline"]] + list(style.OP_COLORS.values())
    out = [tuple(int(round(255 * v)) for v in to_rgba(c)[:3]) for c in base]
    unique = list({getattr(c, "name", id(c)): c for c in cmaps}.values())
    per_map = per_map or max(16, 160 // max(len(unique), 1))
    for cmap in unique:
        for rgba in cmap(np.linspace(0.0, 1.0, per_map)):
            out.append(tuple(int(round(255 * v)) for v in rgba[:3]))
    return out


def _progress(frames, total, progress, what):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return frames
    from tqdm import tqdm

    return tqdm(frames, total=total, desc=what, unit="frame", leave=False)


class _ExactMapper:
    """RGB frames to palette indices, each colour to its nearest palette entry, exactly.

    Pillow's own mapping (``quantize(palette=...)``) looks colours up in a cache of 8-level bins, so
    a white background can come out as the palette's 250-grey; here every distinct colour is
    matched once (nearest in RGB) and remembered in a 2^24 lookup table.
    """

    def __init__(self, palette):
        flat = palette.getpalette()
        self.flat = flat
        self.table = np.array(flat, dtype=np.int32).reshape(-1, 3)[:_KEEP]  # (255, 3): 255 is "unchanged"
        self.n = len(self.table)
        self.table_f = self.table.astype(np.float64)
        self.sq = (self.table_f ** 2).sum(axis=1)  # |p|² of each palette colour
        # Entries hold _KEEP − index, so that 0 is "not matched yet" (no colour maps to _KEEP): zeros
        # are allocated lazily by the system, page by page as colours arrive, not 16 MB filled a clip.
        self.lut = np.zeros(1 << 24, dtype=np.uint8)
        own, first = np.unique(_keys(self.table.astype(np.uint8)), return_index=True)
        self.lut[own] = _KEEP - first  # each palette colour is its own nearest (a repeated one: its first entry, as argmin)

    def lookup(self, keys):
        """Palette indices of colour ``keys`` (see :func:`_keys`), matching each new colour once."""
        idx = _KEEP - self.lut[keys]
        missed = idx == _KEEP
        if missed.any():  # most frames bring no new colour
            new = np.unique(keys[missed])
            cols = np.stack([new & 255, (new >> 8) & 255, (new >> 16) & 255], axis=1).astype(np.int32)  # (k, 3)
            for start in range(0, len(cols), 4096):
                # |c − p|² = |c|² − 2c·p + |p|²: the first term is the same for every p; in float64
                # every value is an exact integer, so ties fall as before. c·p is summed channel by
                # channel, not as a matrix product: BLAS would start threads that keep spinning on
                # the other core after each product, stealing it from the kit's other worker.
                part = cols[start:start + 4096].astype(np.float64)
                cross = part[:, :1] * self.table_f[:, 0]  # (k, 255)
                cross += part[:, 1:2] * self.table_f[:, 1]
                cross += part[:, 2:] * self.table_f[:, 2]
                d = self.sq[None, :] - 2.0 * cross
                self.lut[new[start:start + 4096]] = _KEEP - d.argmin(axis=1).astype(np.uint8)
            idx[missed] = _KEEP - self.lut[keys[missed]]
        return idx


def _keys(pixels):
    """r | g << 8 | b << 16 of (n, 3) or (n, 4) uint8 pixels (alpha ignored), as uint32."""
    if pixels.shape[1] == 4:  # a little-endian view of RGBA reads it directly
        return np.ascontiguousarray(pixels).view("<u4")[:, 0] & 0xFFFFFF
    p = pixels.astype(np.uint32)
    return p[:, 0] | (p[:, 1] << 8) | (p[:, 2] << 16)


def _changes(rgb, prev):
    """Where ``rgb`` differs from ``prev``: the box (left, top, right, bottom) around the pixels that
    changed (one pixel when none did: GIF needs something to draw), their flat indices in the frame
    and their rows and columns; the frames are compared once. RGBA compares one 32-bit word per pixel."""
    if rgb.shape[2] == 4:
        diff = np.ascontiguousarray(rgb).view("<u4")[..., 0] != np.ascontiguousarray(prev).view("<u4")[..., 0]
    else:
        diff = (rgb != prev).any(axis=2)  # (H, W)
    at = np.flatnonzero(diff)  # few: a frame changes a small part of the picture
    if not at.size:
        return (0, 0, 1, 1), at, at, at
    rows = at // diff.shape[1]
    cols = at - rows * diff.shape[1]
    return (int(cols.min()), int(rows[0]), int(cols.max()) + 1, int(rows[-1]) + 1), at, rows, cols


def _colour_keys(rgb, at):
    """:func:`_keys` of the pixels at flat indices ``at`` of an (H, W, 3 or 4) frame."""
    if rgb.shape[2] == 4:
        return np.ascontiguousarray(rgb).view("<u4").reshape(-1)[at] & 0xFFFFFF
    return _keys(rgb.reshape(-1, 3)[at])


def _first_indices(mapper, rgb, screen):
    """The first frame as palette indices, centred on ``screen`` when given (the letterbox is the
    background's index, not mapped pixel by pixel); and where the frame sits: (indices, left, top)."""
    h, w, c = rgb.shape
    idx = mapper.lookup(_keys(rgb.reshape(h * w, c))).reshape(h, w)
    if screen is None:
        return idx, 0, 0
    width, height, background = screen
    left, top = _placement(w, h, screen)
    full = np.full((height, width), mapper.lookup(_keys(np.array([tuple(background)[:3]], np.uint8)))[0], np.uint8)
    full[top:top + h, left:left + w] = idx
    return full, left, top


def _placement(w, h, screen):
    """Where a w×h frame sits, centred on ``screen`` = (width, height, background): (left, top)."""
    width, height, _ = screen
    if w > width or h > height:
        raise ValueError(f"frames of {w}x{h} do not fit the screen of {width}x{height}")
    return (width - w) // 2, (height - h) // 2


def _unchanged(ms, palette):
    """The bytes of a GIF frame that changes nothing and lasts ``ms``: one transparent pixel."""
    from PIL import GifImagePlugin, Image

    part = Image.new("P", (1, 1), _KEEP)
    part.putpalette(palette.getpalette())
    return b"".join(GifImagePlugin.getdata(part, offset=(0, 0), duration=ms, disposal=1, transparency=_KEEP))


def on_screen(rgb, screen):
    """``rgb`` centred on a ``screen`` = (width, height, background RGB) frame; and its (left, top).
    The letterbox of every MP4 and PNG frame and of a slide-size renderer's (a GIF's first frame
    is placed the same way, as palette indices)."""
    width, height, background = screen
    h, w, c = rgb.shape
    left, top = _placement(w, h, screen)
    full = np.empty((height, width, c), np.uint8)
    full[...] = tuple(background)[:c] + (255,) * (c - 3)
    full[top:top + h, left:left + w] = rgb
    return full, left, top


def _write_gif(timed, tmp, palette, screen=None):
    """Stream (frame, milliseconds) pairs into a looping GIF, one at a time: the header and one shared
    palette first, then each frame as the rectangle that changed since the one before (drawn over
    it), so memory does not grow with the clip's length. Only that rectangle is mapped to the
    palette. With ``screen``, the frames are centred on it: only the first is copied onto the
    background, the rest are written as their changes, shifted."""
    from PIL import GifImagePlugin, Image

    mapper = _ExactMapper(palette)
    prev = last = None  # the previous frame's palette indices (on the screen), and its RGB array
    dx = dy = 0  # where the frames sit on the screen
    repeats = {}  # milliseconds: the bytes of a repeated frame lasting that long
    with open(tmp, "wb") as f:
        for k, (rgb, ms) in enumerate(timed):
            if rgb is last:  # a frame repeated for a fixed frame rate: one unchanged pixel, nothing to map
                if ms not in repeats:
                    repeats[ms] = _unchanged(ms, palette)
                f.write(repeats[ms])
                continue
            rgb = np.asarray(rgb, dtype=np.uint8)
            if prev is None:
                prev, dx, dy = _first_indices(mapper, rgb, screen)  # (H, W) palette indices, kept up to date
                part = Image.fromarray(prev, "P")
                part.putpalette(mapper.flat)
                prev = np.array(prev)
                header, _ = GifImagePlugin.getheader(part, info={"loop": 0, "optimize": False, "duration": ms})
                f.write(b"".join(header))
                offset = (0, 0)
            elif rgb.shape != last.shape:
                raise ValueError(f"every frame must have the same size; got {rgb.shape} after {last.shape}")
            else:
                (left, top, right, bottom), at, rows, cols = _changes(rgb, last)
                # Inside the rectangle only the pixels that changed are mapped; the rest, and any whose
                # palette index stays the same, are transparent: they compress to nearly nothing. The
                # changed pixels are few: they are addressed by flat position, not by a mask of the
                # rectangle (or by row and column: a 2-D gather costs ten times a flat one).
                width, span = rgb.shape[1], right - left
                idx = mapper.lookup(_colour_keys(rgb, at))
                on_screen_at = at + rows * (prev.shape[1] - width) + (dy * prev.shape[1] + dx)  # where they sit on screen
                flat = prev.reshape(-1)  # a view: prev is contiguous
                old = flat[on_screen_at]
                out = np.full((bottom - top) * span, _KEEP, np.uint8)
                out[at - rows * (width - span) - (top * span + left)] = np.where(idx == old, _KEEP, idx)
                flat[on_screen_at] = idx
                part = Image.fromarray(out.reshape(bottom - top, span), "P")
                part.putpalette(palette.getpalette())
                offset = (left + dx, top + dy)
            for chunk in GifImagePlugin.getdata(part, offset=offset, duration=ms, disposal=1,
                                                **({"transparency": _KEEP} if k else {})):
                f.write(chunk)
            last = rgb
        if prev is None:
            raise ValueError("no frames to write")
        f.write(b";")  # the trailer


def _rgb(frame):
    """(H, W, 3) of a frame that may carry an alpha channel."""
    frame = np.asarray(frame, dtype=np.uint8)
    return frame if frame.shape[2] == 3 else rgba_to_rgb(frame)


def _write_mp4(frames, tmp, fps):
    try:
        import imageio_ffmpeg
    except ImportError as e:
        raise ImportError("writing .mp4 needs imageio-ffmpeg: pip install 'convgraph[mp4]' "
                          "(or pip install imageio-ffmpeg)") from e
    writer = None
    try:
        for rgb in frames:
            h, w = rgb.shape[:2]
            if writer is None:
                size = (w + w % 2, h + h % 2)  # yuv420p needs even sides
                writer = imageio_ffmpeg.write_frames(str(tmp), size, fps=fps, macro_block_size=1, quality=7,
                                                     output_params=["-movflags", "+faststart"])
                writer.send(None)  # start ffmpeg
            if (w + w % 2, h + h % 2) != size:
                raise ValueError(f"every frame must have the same size; got {w}x{h} after {size}")
            if w % 2 or h % 2:
                rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            writer.send(np.ascontiguousarray(rgb))
        if writer is None:
            raise ValueError("no frames to write")
    finally:
        if writer is not None:
            writer.close()


def _write_pngs(frames, tmp):
    from PIL import Image

    for k, rgb in enumerate(frames):
        Image.fromarray(rgb, "RGB").save(tmp / _FRAME_NAME.format(k), format="PNG", compress_level=6)


def _timed(frames, seconds, fps):
    """(frame, milliseconds) pairs: each frame for its seconds; with ``fps``, repeated to last that
    long at a fixed frame rate (GIF stores an unchanged frame in a few bytes). A GIF counts time in
    centiseconds: durations are cut from one running clock, so a clip keeps its length
    (15 fps alternates 70 and 60 ms)."""
    clock = 0.0  # seconds since the clip began
    shown = 0  # centiseconds handed out so far
    for rgb, d in zip(frames, seconds):
        parts = 1 if fps is None else max(1, int(round(d * fps)))
        for _ in range(parts):
            clock += d / parts if fps is None else 1.0 / fps
            cs = max(2, int(round(clock * 100)) - shown)  # GIF viewers treat under 20 ms as 100 ms
            shown += cs
            yield rgb, cs * 10


def write_frames(frames, path, *, seconds, fps=None, total=None, palette=None, progress=None, screen=None):
    """Write RGB frames to ``path``: ``.gif``, ``.mp4`` or a folder of ``frame_0000.png`` files.

    Parameters
    ----------
    frames : iterable of numpy.ndarray
        (H, W, 3) uint8 arrays, all the same size (or (H, W, 4), alpha ignored: a GIF is encoded
        fastest from RGBA, as the clips draw it).
    path : str or os.PathLike
    seconds : sequence of float
        How long each frame shows.
    fps : float, optional
        A fixed frame rate: each frame is repeated to last its seconds. Default: a GIF gives each
        frame its own duration; an MP4 runs at 15 frames a second. (A folder of PNGs has no time.)
    total : int, optional
        Number of frames, for the progress bar.
    palette : PIL.Image.Image, optional
        A ``"P"`` image from :func:`shared_palette`; required for GIF.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal.
    screen : (width, height, background), optional
        Centre every frame on a picture of this many pixels filled with ``background`` (RGB 0..255):
        a letterbox. A GIF copies only its first frame onto it and writes the others as their
        changes, shifted; the other formats letterbox each frame.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unknown suffix, frames of different sizes, no frames, or a folder that holds other files.
    ImportError
        For ``.mp4`` without imageio-ffmpeg (with the install hint).
    """
    fmt = output_format(path)
    fps = None if fps is None else check_fps(fps)
    if fmt == "gif" and palette is None:
        raise ValueError("palette is required for GIF output (see shared_palette)")
    output_path(path, folder=fmt == "png", owned=FRAME_NAME)  # refuse before any work
    path = Path(path)
    frames = _progress(frames, total, progress, path.name)
    with into_place(path, folder=fmt == "png", suffix=".mp4" if fmt == "mp4" else "", owned=FRAME_NAME) as tmp:
        if fmt == "gif":
            _write_gif(_timed(frames, seconds, fps), tmp, palette, screen)
        elif fmt == "mp4":
            if screen is not None:
                frames = (on_screen(np.asarray(rgb, dtype=np.uint8), screen)[0] for rgb in frames)
            rate = 15.0 if fps is None else fps
            _write_mp4((_rgb(rgb) for rgb, _ in _timed(frames, seconds, rate)), tmp, rate)
        else:
            if screen is not None:
                frames = (on_screen(np.asarray(rgb, dtype=np.uint8), screen)[0] for rgb in frames)
            _write_pngs((_rgb(rgb) for rgb in frames), tmp)
    log.info("wrote %s", path)
    return path
