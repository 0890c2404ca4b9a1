"""Shared fixtures. Checks that need PyTorch, Graphviz's dot or Chromium skip on a developer machine
that lacks them, and fail under CI=true, where they must run."""

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(what, available, hint):
    """Skip (or, in CI, fail) when ``available`` is false."""
    if available:
        return
    message = f"{what} is not available: {hint}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this check must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def torch():
    try:
        import torch as _torch
    except ImportError:
        _torch = None
    need("PyTorch", _torch is not None, "pip install torch==2.13.0")
    _torch.set_default_dtype(_torch.float64)
    return _torch


@pytest.fixture(scope="session")
def dot():
    path = shutil.which("dot")
    need("Graphviz's dot program", path is not None, "apt-get install graphviz")
    return path


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need("Chromium", path is not None, "apt-get install chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need("Playwright", False, "pip install playwright")
    return path


@pytest.fixture
def lesson():
    """The seed lesson's arrays: a 5x5 input and a 3x3 kernel."""
    from convgraph.lessons import lesson_arrays

    return lesson_arrays()
