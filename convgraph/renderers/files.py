"""Where every writer puts its output: one rule for output paths, and writing a file or a folder under
a temporary name and renaming it into place, so an interrupted or failed write never leaves a
half-written file at the path.

The rule, for ``render_graph``, ``render_html``, ``animate``, the lecture kit and the command line:
missing folders on the way to an output are created (as Graphviz's own ``render`` does); a path
that names an existing folder where a file is wanted, or runs through a file, is refused with a
``ValueError`` naming it.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

__all__ = ["output_path", "into_place", "write_text"]


def output_path(path, *, folder=False):
    """``path`` as a :class:`~pathlib.Path`, its missing parent folders created (see the module doc).

    Parameters
    ----------
    path : str or os.PathLike
    folder : bool
        The output is a folder (of frames): it may exist as one (its writer renames a new one into
        place, so a failed run leaves no empty folder behind).

    Raises
    ------
    TypeError
        If ``path`` is not a str or os.PathLike.
    ValueError
        If ``path`` is an existing folder where a file is wanted (or a file where a folder is), or a
        folder on the way cannot be made (a file stands in its place, no permission).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    path = Path(path)
    if not folder and path.is_dir():
        raise ValueError(f"path must be a file name, got the folder {str(path)!r}")
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"path must be a folder, got the file {str(path)!r}")
    make = path.parent
    blocking = next((p for p in [make, *make.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"cannot write {str(path)!r}: {str(blocking)!r} is a file, not a folder")
    try:
        make.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot write {str(path)!r}: cannot make the folder {str(make)!r} "
                         f"({e.strerror or e})") from None
    return path


def _temp_sibling(path, suffix=""):
    return path.with_name(f".{path.name}.part-{os.getpid()}{suffix}")


@contextmanager
def into_place(path, suffix=""):
    """Yield a temporary sibling of ``path`` to write (a file or a folder); when the block ends
    normally, rename it onto ``path`` (replacing a folder there), otherwise remove it.
    """
    path = Path(path)
    tmp = _temp_sibling(path, suffix)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through :func:`into_place`. Returns the path."""
    with into_place(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
