"""Text stamped into frames: formulas, captions and cell numbers drawn from cached glyph bitmaps.

Drawing a matplotlib Text artist costs about a millisecond; a clip changes a few words per frame,
so each character is rendered once with FreeType (as Agg draws text), words are put together from
those bitmaps at their hinted advances, and only a line's inked pixels are blended into the frame.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import style

_WORDS = 20_000  # word bitmaps kept (small: a number, a symbol)
_LINES = 64  # whole-line bitmaps kept (big: a line is as wide as the frame)

__all__ = ["Glyphs", "fit_text", "fit_dpi", "shared_text", "stamp_line", "stamp_alpha", "canvas_rgba", "rgba_to_rgb"]


def fit_text(glyphs, texts, avail_px, pt):
    """The largest size up to ``pt`` (in quarter points) at which every line of ``texts`` fits ``avail_px``."""
    lines = {line for t in texts for line in t.split("\n")}
    widest = max((glyphs.width(line, pt) for line in lines), default=1)
    return float(pt) if widest <= avail_px else float(int(0.97 * pt * avail_px / widest * 4) / 4)


def shared_text(texts):
    """The one text all of ``texts`` are (a caption every frame of a clip shows: stamped once into
    the background, not into each frame), or None where they differ."""
    distinct = set(texts)
    return distinct.pop() if len(distinct) == 1 else None


def stamp_line(rgb, glyphs, text, pt, y, top, ink):
    """Stamp one line of ``text`` centred horizontally on ``rgb`` ((H, W, 3) or the colour channels of
    an RGBA frame), its top (``top=True``) or bottom at row ``y``, in colour ``ink`` (0..255 RGB);
    returns the line pitch in pixels. Only the inked pixels are blended (a line's box is mostly
    background)."""
    pitch = int(round(pt * 1.45 * glyphs.dpi / 72))
    (h, w), rows, cols, alpha = glyphs.inked(text, pt)
    H, W = rgb.shape[:2]
    y0 = y if top else y - h
    x0 = max((W - w) // 2, 0)
    if y0 < 0 or y0 + h > H or x0 >= W:
        return pitch
    if x0 + w > W:  # wider than the frame: what fits
        keep = cols < W - x0
        rows, cols, alpha = rows[keep], cols[keep], alpha[keep]
    at = (rows + y0) * W + (cols + x0)  # flat: a 1-D gather is much cheaper than a (rows, cols) one
    words = _pixel_words(rgb)
    if words is not None:  # the colour channels of an RGBA frame: each pixel gathered as one word
        px = words[at]
        channels = px.view(np.uint8).reshape(-1, 4)[:, :3]  # a view: blended in place, written back whole
    else:
        pixels = _pixel_rows(rgb)
        channels = pixels[at]  # (n, 3), a copy
    region = channels.astype(np.float32)
    channels[...] = (region + alpha * (np.asarray(ink, np.float32) - region) + 0.5).astype(np.uint8)
    if words is not None:
        words[at] = px
    else:
        pixels[at] = channels
    return pitch


def _pixel_words(rgb):
    """The pixels of ``rgb`` as one flat array of 32-bit words (little-endian RGBA) where it is the
    colour channels of a whole (H, W, 4) uint8 frame; else None."""
    H, W, c = rgb.shape
    frame = rgb.base
    if (c != 3 or rgb.dtype != np.uint8 or not isinstance(frame, np.ndarray) or frame.shape != (H, W, 4)
            or frame.dtype != np.uint8 or not frame.flags.c_contiguous
            or rgb.__array_interface__["data"][0] != frame.__array_interface__["data"][0]
            or rgb.strides != (4 * W, 4, 1)):
        return None  # not frame[..., :3] of a whole RGBA frame
    return frame.reshape(-1).view("<u4")


def _pixel_rows(rgb):
    """An (H·W, channels) view of an (H, W, channels) frame, or of the colour channels of an RGBA one."""
    H, W, c = rgb.shape
    if rgb.strides[0] != W * rgb.strides[1]:
        raise ValueError("frame rows must be contiguous")
    return np.lib.stride_tricks.as_strided(rgb, (H * W, c), rgb.strides[1:])


class Glyphs:
    """Rendered numbers by (text, size): coverage bitmaps from FreeType, as Agg draws text."""

    def __init__(self, dpi, italic=False):
        from matplotlib.font_manager import FontProperties, findfont
        from matplotlib.ft2font import FT2Font

        self.dpi = dpi
        self.font = FT2Font(findfont(FontProperties(family=style.FONT, style="italic" if italic else "normal")))
        self.chars = {}  # characters: the few dozen a clip uses
        self.kerns = {}  # pairs of glyph indices
        self.cache = {}  # words
        self.lines = OrderedDict()  # whole lines, most recent last
        self.sparse = OrderedDict()  # their inked pixels, most recent last
        self.ink = {}  # each word's inked pixels

    def get(self, text, pt):
        """Coverage bitmap (h, w) float32 of ``text`` drawn as one run of glyphs."""
        return self._word(text, pt)[0]

    def _word(self, word, pt):
        """(coverage, baseline row, advance in pixels) of one word, put together from its characters'
        bitmaps: hinted advances are whole pixels, so a glyph looks the same wherever it stands."""
        key = (word, pt)
        hit = self.cache.get(key)
        if hit is None:
            chars, pens, x, start = self._layout(word, pt)
            ascent = max(base for _, base, _, _, _ in chars)
            descent = max(alpha.shape[0] - base for alpha, base, _, _, _ in chars)
            width = self._extent(chars, pens, x, start)
            alpha = np.zeros((ascent + descent, width), np.float32)
            for p, (a, base, _, _, _) in zip(pens, chars):
                y0, x0 = ascent - base, p - start
                box = alpha[y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
                np.maximum(box, a, out=box)
            hit = (alpha, ascent, width)
            if len(self.cache) > _WORDS:  # long clips: keep memory bounded
                self.cache.clear()
            self.cache[key] = hit
        return hit

    def _layout(self, word, pt):
        """A word's characters, where each one's bitmap starts, the pen's end and the leftmost start."""
        chars = [self._char(c, pt) for c in word]
        pens, x, before = [], 0, None
        for _, _, left, advance, index in chars:
            if before is not None:
                x += self._kerning(before, index, pt)
            pens.append(x + left)
            x += advance
            before = index
        return chars, pens, x, min(min(pens), 0)

    @staticmethod
    def _extent(chars, pens, x, start):
        """A word's width: from its leftmost start to its pen's end or its last ink, whichever is further."""
        return max(x, max(p + a.shape[1] for p, (a, _, _, _, _) in zip(pens, chars))) - start

    def width(self, text, pt):
        """The width in pixels of :meth:`line` ``(text, pt)``, without drawing it."""
        return self._placed(text, pt)[1]

    def _placed(self, text, pt):
        """Where a line's words go: [(word, x)] and the line's width, from the words' advances alone."""
        parts = text.split(" ")
        space = int(round(0.28 * pt * self.dpi / 72))  # DejaVu Sans: a space is 0.318 em, less the side bearings
        placed, x = [], 0
        for part in parts:
            if part:
                placed.append((part, x))
                x += self._word(part, pt)[2]  # a measured word is stamped too: its bitmap is made once
            x += space
        return placed, x - space + 2

    def _height(self, bases, pt):
        """A line's ascent and descent in pixels, from its words' (baseline row, height)."""
        ascent = max([b for b, _ in bases] + [int(round(0.76 * pt * self.dpi / 72))])
        descent = max([h - b for b, h in bases] + [int(round(0.24 * pt * self.dpi / 72))])
        return ascent, descent

    def _char(self, char, pt):
        """(coverage, baseline row, left bearing, advance, glyph index) of one character, rendered
        once with FreeType as Agg draws text."""
        key = (char, pt)
        hit = self.chars.get(key)
        if hit is None:
            from matplotlib.backends.backend_agg import get_hinting_flag

            f = self.font
            f.set_size(pt, self.dpi)
            f.set_text(char, 0.0, flags=get_hinting_flag())
            f.draw_glyphs_to_bitmap(antialiased=True)
            alpha = np.asarray(f.get_image(), dtype=np.float32) / 255.0
            descent = int(round(f.get_descent() / 64))
            glyph = f.load_char(ord(char), flags=get_hinting_flag())
            left = int(np.floor(f.get_bitmap_offset()[0] / 64)) if alpha.any() else 0
            hit = (alpha, alpha.shape[0] - descent, left, int(round(glyph.horiAdvance / 64)), f.get_char_index(ord(char)))
            self.chars[key] = hit
        return hit

    def _kerning(self, left, right, pt):
        """The hinted kerning (whole pixels) between two glyph indices."""
        key = (left, right, pt)
        hit = self.kerns.get(key)
        if hit is None:
            from matplotlib.ft2font import Kerning

            self.font.set_size(pt, self.dpi)
            hit = self.kerns[key] = int(round(self.font.get_kerning(left, right, Kerning.DEFAULT) / 64))
        return hit

    def line(self, text, pt):
        """Coverage bitmap (h, w) float32 of one line of text, words on a common baseline.

        Words are cached, so a formula that changes a few numbers per frame costs a few words.
        """
        key = (text, pt)
        hit = self.lines.get(key)
        if hit is not None:
            self.lines.move_to_end(key)
            return hit
        placed, width = self._placed(text, pt)
        words = [self._word(w, pt) for w, _ in placed]
        ascent, descent = self._height([(b, a.shape[0]) for a, b, _ in words], pt)
        out = np.zeros((ascent + descent, width), np.float32)
        for (alpha, base, _), (_, x) in zip(words, placed):
            y0 = ascent - base
            h, w = alpha.shape
            out[y0:y0 + h, x:x + w] = np.maximum(out[y0:y0 + h, x:x + w], alpha)
        self.lines[key] = out  # a few recent lines (the captions repeat; the titles change every frame)
        if len(self.lines) > _LINES:
            self.lines.popitem(last=False)
        return out

    def inked(self, text, pt):
        """One line of text as its box's (h, w) and its inked pixels: rows, cols and coverage (n, 1),
        put together from each word's inked pixels (cached), as :meth:`line` draws the line."""
        key = (text, pt)
        hit = self.sparse.get(key)
        if hit is not None:
            self.sparse.move_to_end(key)
            return hit
        placed, width = self._placed(text, pt)
        words = [self._word_ink(w, pt) for w, _ in placed]
        ascent, descent = self._height([(b, h) for _, _, _, b, h in words], pt)
        empty = np.empty(0, np.intp)
        hit = self.sparse[key] = ((ascent + descent, width),
                                  np.concatenate([r + (ascent - b) for r, _, _, b, _ in words] or [empty]),
                                  np.concatenate([c + x for (_, c, _, _, _), (_, x) in zip(words, placed)] or [empty]),
                                  np.concatenate([a for _, _, a, _, _ in words] or [np.empty((0, 1), np.float32)]))
        if len(self.sparse) > _LINES:
            self.sparse.popitem(last=False)
        return hit

    def _word_ink(self, word, pt):
        """A word's inked pixels: rows and cols in its bitmap, coverage (n, 1), baseline row, height."""
        key = (word, pt)
        hit = self.ink.get(key)
        if hit is None:
            alpha, base, _ = self._word(word, pt)
            r, c = np.nonzero(alpha)
            hit = self.ink[key] = (r, c, alpha[r, c][:, None], base, alpha.shape[0])
            if len(self.ink) > _WORDS:
                self.ink.clear()
        return hit


def stamp_alpha(rgb, alpha, cx, cy, ink, clip=False):
    """Blend a coverage bitmap ``alpha`` (h, w) into ``rgb`` centred on pixel (cx, cy) in colour
    ``ink`` (a 0..255 grey level or RGB); where it would cross the edge of ``rgb``, nothing, or with
    ``clip`` the part inside (a number stamped into its own cell)."""
    H, W = rgb.shape[:2]
    h, w = alpha.shape
    y0, x0 = cy - h // 2, cx - w // 2
    if y0 < 0 or x0 < 0 or y0 + h > H or x0 + w > W:
        if not clip:
            return
        top, left = max(-y0, 0), max(-x0, 0)
        alpha = alpha[top:max(H - y0, top), left:max(W - x0, left)]
        y0, x0 = y0 + top, x0 + left
        h, w = alpha.shape
        if not h or not w:
            return
    region = rgb[y0:y0 + h, x0:x0 + w].astype(np.float32)
    a = alpha[..., None]
    rgb[y0:y0 + h, x0:x0 + w] = (region * (1.0 - a) + ink * a + 0.5).astype(np.uint8)


def canvas_rgba(canvas):
    """The pixels of a drawn Agg ``canvas`` as a writable (H, W, 4) uint8 array: a plain copy of its
    buffer, about 40 times cheaper than dropping the alpha channel. Clips are drawn and encoded
    in RGBA; ``frame[..., :3]`` is what the stamping functions write into."""
    return np.array(np.asarray(canvas.buffer_rgba()))


def rgba_to_rgb(rgba):
    """An (H, W, 4) uint8 array as a contiguous (H, W, 3) one."""
    from PIL import Image

    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return np.array(Image.frombuffer("RGBA", (w, h), rgba, "raw", "RGBA", 0, 1).convert("RGB"))


def fit_dpi(width_in, height_in, fit):
    """The dpi at which a ``width_in`` × ``height_in`` inch figure fills ``fit`` = (width, height)
    pixels as far as its shape allows (the other side is letterboxed)."""
    return min(fit[0] / width_in, fit[1] / height_in)
