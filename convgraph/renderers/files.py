"""Writing a file or a folder under a temporary name and renaming it into place: an interrupted or
failed write never leaves a half-written file at the path."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

__all__ = ["into_place", "write_text"]


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
