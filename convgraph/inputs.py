"""Arrays given as text, for the command line: a shape (random values), literal rows, a named array,
or a file (.npy, .csv, .txt). Sizes are checked from the text or the file's header before anything
is allocated or read.

>>> import numpy as np
>>> parse_array("1,0,-1;2,0,-2", "--kernel", rng=np.random.default_rng(0)).tolist()
[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0]]
>>> parse_array("3x4x4", "--input", rng=np.random.default_rng(0)).shape
(3, 4, 4)
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .lessons import ARRAYS
from .tracer.params import DEFAULT_MAX_NODES

__all__ = ["parse_array", "load_file", "forms", "InputError", "MAX_TEXT_BYTES"]

#: .csv and .txt files larger than this are refused before reading.
MAX_TEXT_BYTES = 64 * 2**20
_SHAPE = re.compile(r"\d+(?:[x×]\d+){1,3}")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ROWS = re.compile(rf"\s*{_NUMBER}(?:\s*[,\s]\s*{_NUMBER})*\s*(?:;\s*{_NUMBER}(?:\s*[,\s]\s*{_NUMBER})*\s*)*;?\s*")


class InputError(ValueError):
    """An array argument that cannot be read: the message names the option and says why."""


def forms():
    """The forms an array argument takes, as the error messages list them."""
    return ('a shape like 5x5 or 3x8x8 (random values), rows like "1,0,-1;2,0,-2;1,0,-1", a named array ('
            + ", ".join(ARRAYS) + "), or a file (.npy, .csv, .txt)")


def _random(rng, shape):
    return rng.standard_normal(shape).round(1) + 0.0  # + 0.0: no -0.0 on screen


def _check_size(option, shape, max_size, where):
    size = math.prod(shape)
    if size > max_size:
        raise InputError(f"{option} {where} holds {size:,} numbers, more than a trace can take "
                         f"({max_size:,} nodes at most)")


def parse_array(text, option, *, rng, max_size=DEFAULT_MAX_NODES):
    """The array ``text`` gives (see the module docstring), as float64.

    Raises
    ------
    InputError
        Naming ``option``, the text and the forms that exist, when it is none of them, or the file
        cannot be read or is too big.
    """
    text = text.strip()
    if text in ARRAYS:
        return np.array(ARRAYS[text], dtype=float)
    if _SHAPE.fullmatch(text.lower()):
        shape = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
        if min(shape) < 1:
            raise InputError(f"{option} {text}: every size of a shape must be at least 1")
        _check_size(option, shape, max_size, text)
        return _random(rng, shape)
    if Path(text).suffix.lower() in (".npy", ".csv", ".txt") or Path(text).exists():
        return load_file(text, option, max_size=max_size)
    if _ROWS.fullmatch(text):
        rows = [[float(v) for v in re.split(r"[,\s]+", row.strip())] for row in text.strip().rstrip(";").split(";")]
        lengths = {len(r) for r in rows}
        if len(lengths) != 1:
            raise InputError(f"{option} {text!r}: the rows have different lengths {[len(r) for r in rows]}")
        return np.array(rows, dtype=float)
    raise InputError(f"malformed {option} {text!r}: expected {forms()}")


def load_file(path, option, *, max_size=DEFAULT_MAX_NODES, shape=None):
    """Read an array from a .npy, .csv or .txt file, refusing before reading what cannot be used:
    no such regular file, not a .npy file, pickled objects, more than ``max_size`` numbers, or (with
    ``shape``) another shape than the one wanted.

    Raises
    ------
    InputError
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot read {option} {path}: no such file")
    if not path.is_file():
        raise InputError(f"cannot read {option} {path}: not a regular file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        arr = _load_text(path, option, suffix)
    else:
        arr = _load_npy(path, option, max_size, shape)
    if shape is not None and arr.shape != tuple(shape):
        raise InputError(f"{option} {path}: must have the shape {tuple(shape)}, got {arr.shape}")
    _check_size(option, arr.shape, max_size, str(path))
    return arr


def _load_npy(path, option, max_size, shape):
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
        except ValueError:
            raise InputError(f"cannot read {option} {path}: not a .npy file (save one with numpy.save, "
                             f"or give numbers in a .csv or .txt file)") from None
        try:
            header = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                      else np.lib.format.read_array_header_2_0(f))
        except ValueError as e:
            raise InputError(f"cannot read {option} {path}: a broken .npy header ({e})") from None
    found, _, dtype = header
    if dtype.hasobject:
        raise InputError(f"cannot read {option} {path}: it holds Python objects (a pickle), which convgraph "
                         f"does not load; save numbers")
    if shape is not None and tuple(found) != tuple(shape):
        raise InputError(f"{option} {path}: must have the shape {tuple(shape)}, got {tuple(found)}")
    _check_size(option, found, max_size, str(path))
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"cannot read {option} {path}: {str(e).splitlines()[0]}") from None


def _load_text(path, option, suffix):
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise InputError(f"cannot read {option} {path}: {path.stat().st_size:,} bytes is more than "
                         f"{MAX_TEXT_BYTES:,}; save big arrays with numpy.save")
    try:
        with open(path, encoding="utf-8") as f:
            first = next((line for line in f if line.strip() and not line.lstrip().startswith("#")), "")
        delimiter = "," if suffix == ".csv" or "," in first else None
        return np.loadtxt(path, delimiter=delimiter, ndmin=2, dtype=float)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {option} {path}: {str(e).splitlines()[0]} (expected rows of numbers, "
                         f"separated by commas or spaces)") from None
