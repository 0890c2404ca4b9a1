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
    from convgraph.check import TORCH_HINT

    need("PyTorch", _torch is not None, TORCH_HINT)
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


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Opened:
    """A page loaded from a file:// URL, with every console message, page error and request seen."""

    def __init__(self, browser, path, hash_="", size=(1600, 900)):
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.console, self.requests = [], []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url + hash_)

    def state(self):
        return self.page.evaluate("convgraph.state()")

    def text(self, selector):
        return self.page.locator(selector).text_content()

    def cells(self, selector):
        return [c.strip() for c in self.page.locator(selector).all_text_contents()]

    def assert_clean(self):
        assert self.console == []
        assert [u for u in self.requests if u.split("#")[0] != self.url] == []


@pytest.fixture
def opened(browser):
    pages = []

    def _open(path, hash_="", size=(1600, 900)):
        p = Opened(browser, path, hash_, size)
        pages.append(p)
        return p

    yield _open
    for p in pages:
        p.page.close()


@pytest.fixture
def lesson():
    """The lesson's arrays (convgraph.lessons.LESSON): x = 0..24 as 5x5 and the 3x3 Sobel kernel."""
    from convgraph.lessons import lesson_arrays

    return lesson_arrays()
