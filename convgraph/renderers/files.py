"""Where every writer puts its output, and how: one policy for output paths, for ``render_graph``,
``render_html``, ``animate``, the lecture kit and the command line.

- Missing folders on the way to an output are created (as Graphviz's own ``render`` does), and
  removed again when the write fails.
- Output is written under a short temporary name in the same folder (``.cg<pid>-<random>.part``,
  unique per call) and renamed into place only when complete: an interrupted or failed write never
  leaves a half-written file at the path. A regular file there is replaced and keeps its mode; a
  new one gets the usual mode (0666 less the umask).
- A symbolic link at the path is followed: the file it points to is replaced, the link stays.
- Refused, with a ``ValueError`` naming the path, before any work: a folder where a file goes (or a
  file where a folder goes); a device, FIFO or socket; a file with other hard links (replacing it
  would leave them with the old content); a path that runs through a file; a folder of frames
  holding anything but the frames convgraph writes.
- Temporary files left by a killed run (its process gone) are swept from the folder by the next write.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["output_path", "into_place", "write_text", "FRAME_NAME"]

#: The files a folder of frames may hold: convgraph's own frames, which a new clip replaces.
FRAME_NAME = re.compile(r"frame_\d{4,}\.png")
_PART = re.compile(r"\.cg(\d+)-[^/]*\.part(\.\w+)?")


def _kind(st):
    mode = st.st_mode
    return ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def _check_folder(path, owned):
    for entry in path.iterdir():
        ok = owned is not None and owned.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink()
        if not ok:
            raise ValueError(f"cannot write {str(path)!r}: the folder holds {entry.name!r}, which convgraph did not "
                             f"write; give an empty or new folder")


def output_path(path, *, folder=False, owned=None):
    """``path`` checked against the policy of this module (nothing is created) and resolved through a
    symbolic link at its end. Call it before any work, to refuse early.

    Parameters
    ----------
    path : str or os.PathLike
    folder : bool
        The output is a folder (of frames) rather than a file.
    owned : re.Pattern, optional
        The names of the files an existing output folder may hold (they are replaced).

    Raises
    ------
    TypeError
        If ``path`` is not a str or os.PathLike.
    ValueError
        For any target the policy refuses, naming it and why.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    given = Path(path)
    path = Path(os.path.realpath(given)) if given.is_symlink() else given
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"cannot write {str(given)!r}: {str(blocking)!r} is a file, not a folder")
    if not path.exists():
        return path
    st = path.stat()
    if folder:
        if not stat.S_ISDIR(st.st_mode):
            raise ValueError(f"path must be a folder, got the file {str(given)!r}")
        _check_folder(path, owned)
    elif stat.S_ISDIR(st.st_mode):
        raise ValueError(f"path must be a file name, got the folder {str(given)!r}")
    elif not stat.S_ISREG(st.st_mode):
        raise ValueError(f"cannot write {str(given)!r}: it is {_kind(st)}, not a file convgraph may replace")
    elif st.st_nlink > 1:
        raise ValueError(f"cannot write {str(given)!r}: the file has {st.st_nlink} names (hard links), and "
                         f"replacing it would leave the others with the old content; write elsewhere")
    return path


def _make_parents(folder):
    """Create ``folder`` and its missing parents; return the ones created, deepest first."""
    made = []
    for p in [folder, *folder.parents]:
        if p.exists():
            break
        made.append(p)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot make the folder {str(folder)!r} ({e.strerror or e})") from None
    return made


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(folder):
    """Remove the temporary files of killed runs (their process gone) from ``folder``."""
    for entry in folder.iterdir():
        m = _PART.fullmatch(entry.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def _umask_mode(base):
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextmanager
def into_place(path, *, folder=False, suffix="", owned=None):
    """Yield a new temporary file (or folder) beside ``path`` to write; when the block ends normally,
    rename it onto ``path``, otherwise remove it and any folder made for it (see the module doc).

    Parameters
    ----------
    path : str or os.PathLike
    folder : bool
        Write a folder (of frames) rather than a file.
    suffix : str
        Ending of the temporary name, for writers that choose their format by it (``".mp4"``).
    owned : re.Pattern, optional
        For ``folder``: the names of the files an existing folder at ``path`` may hold.

    Raises
    ------
    TypeError, ValueError
        As :func:`output_path`.
    """
    path = output_path(path, folder=folder, owned=owned)
    made = _make_parents(path.parent)
    _sweep(path.parent)
    prefix = f".cg{os.getpid()}-"
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".part" + suffix, dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".part" + suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        old = path.stat() if path.exists() else None
        os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else _umask_mode(0o777 if folder else 0o666))
        if folder and old is not None:
            output_path(path, folder=True, owned=owned)  # still only our frames
            for entry in path.iterdir():
                entry.unlink()
            path.rmdir()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        for p in made:  # deepest first; only while still empty
            try:
                p.rmdir()
            except OSError:
                break
        raise


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through :func:`into_place`. Returns the path written."""
    with into_place(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
