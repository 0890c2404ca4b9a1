"""Regenerate the README's pictures of the lecture kit and of the other ops: ``make pictures`` (or
``python docs/pictures.py``).

Each picture is rendered for a 1920×1080 slide, as the kit renders it, then scaled to 960×540 so the
README stays small; a clip is shown by its most telling frame.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

import convgraph as cg
from convgraph.lessons import EDGE, LESSON, SIGNAL, UPSAMPLE, stamp_learning

DOCS = Path(__file__).resolve().parent
WIDTH = 960  # half a 1080p slide: sharp in the README, a few hundred KB at most


def small(src, dest, frame=None):
    """Write ``src`` (a PNG, or frame ``frame`` of a GIF) to ``dest`` at WIDTH pixels wide."""
    with Image.open(src) as im:
        if frame is not None:
            im.seek(frame if frame >= 0 else im.n_frames + frame)
        im = im.convert("RGB")
        im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.LANCZOS)
        im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        im.save(dest, format="PNG", optimize=True)
    print("wrote", dest.relative_to(DOCS.parent))


def main():
    trace = EDGE.trace()
    trace.backward(EDGE.dY)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small(cg.render_graph(trace, tmp / "g.png", size="slide"), DOCS / "kit_graph.png")
        small(cg.render_graph(trace, tmp / "w.png", size="slide", focus=("w", (1, 0))), DOCS / "kit_focus_w.png")
        clip = cg.animate(trace, tmp / "b.gif", scene="backprop", size="slide", progress=False)
        small(clip, DOCS / "kit_backprop.png", frame=13)  # backward, halfway: dW and dX filling in
        clip = cg.animate(trace, tmp / "i.gif", scene="input-grad", size="slide", progress=False)
        small(clip, DOCS / "kit_input_grad.png", frame=20)  # the gather: rot180(W) over dY′
        stepper(tmp)
        ops(tmp)
        views(tmp)
    return 0


def views(tmp):
    """Backward as convolutions, in the lesson: dW[1,1] = 108 as a window sum over x, the same as row 4
    of the column matrix against dY, and the stamp learning's last step."""
    lesson = LESSON.trace()
    clip = cg.animate(lesson, tmp / "dw.gif", scene="dw-as-conv", size="slide", progress=False)
    small(clip, DOCS / "view_dw_as_conv.png", frame=4)  # dW[1,1] = 1·6 + … + 1·18 = 108
    clip = cg.animate(lesson, tmp / "im.gif", scene="im2col", size="slide", progress=False)
    small(clip, DOCS / "view_im2col.png", frame=13)  # dW[1,1] = dY_row · cols[4, :]
    clip = cg.animate(stamp_learning(), tmp / "tr.gif", size="slide", progress=False)
    small(clip, DOCS / "view_train.png", frame=-1)


def ops(tmp):
    """The other two ops: the upsampling's forward clip at its gather (rot180(W) over x′, beside the
    stamps), and the 1-D signal's graph."""
    clip = cg.animate(UPSAMPLE.trace(), tmp / "t.gif", scene="forward", size="slide", progress=False)
    small(clip, DOCS / "ops_transposed.png", frame=13)  # y[2,1] gathered; the scatter complete beside it
    signal = SIGNAL.trace()
    signal.backward(SIGNAL.dY)
    small(cg.render_graph(signal, tmp / "s.png", size="slide"), DOCS / "ops_conv1d.png")


def stepper(tmp):
    """The HTML stepper at step 19 of the lesson, focused on w[2,2], as a 1280×720 projector shows it
    (needs Playwright and Chromium, as the browser tests do)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print("skipped docs/html_stepper.png: needs Playwright and Chromium (make test installs them)")
        return
    page_path = cg.render_html(LESSON.trace(), tmp / "lesson.html")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(page_path.resolve().as_uri() + "#step=19")
        page.locator("#grad-w .cell").nth(8).click()  # dW[2,2]
        page.screenshot(path=str(tmp / "stepper.png"))
        browser.close()
    small(tmp / "stepper.png", DOCS / "html_stepper.png")


if __name__ == "__main__":
    sys.exit(main())
