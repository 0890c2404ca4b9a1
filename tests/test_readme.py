"""The README is the contract: every snippet in it runs, in order, in a temporary folder, and every
example of `convgraph --help` runs too.

- ```python blocks run in one namespace, in order (later ones use what earlier ones made);
- ```sh blocks run line by line (`make` lines are the CI's own: .ci/run runs `make demo` and
  `make test` on a fresh clone);
- ```console blocks run their `$ command` and must print exactly the lines shown;
- the ```text block after "the stepper after: …" is the terminal stepper's screen after those commands.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def blocks(kind):
    return [m.group(2) for m in FENCE.finditer(README) if m.group(1) == kind]


def env():
    """The environment of a reader who ran `source .venv/bin/activate`: this interpreter's bin first."""
    bin_dir = os.path.dirname(sys.executable)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg",
            "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}


def shell(command, cwd, stdin=""):
    """Run one README command line as a reader would (`python` is the project's); ``a | b`` pipes the
    first command's output into the second."""
    if " | " in command:
        first, _, rest = command.partition(" | ")
        r = shell(first, cwd, stdin)
        return shell(rest, cwd, r.stdout) if r.returncode == 0 else r
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    if argv[0] == "convgraph":
        argv[:1] = [sys.executable, "-m", "convgraph"]
    return subprocess.run(argv, cwd=cwd, env=env(), capture_output=True, text=True, input=stdin, timeout=600)


def commands(block):
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if line and not line.startswith("#"):
            yield line


def test_the_readme_has_the_blocks_these_tests_run():
    assert len(blocks("python")) >= 6 and len(blocks("sh")) >= 4 and len(blocks("console")) >= 1
    assert not re.search(r"^    (convgraph|\$ |python |cg\.)", README, re.M)  # no unfenced, untested commands


def test_every_python_snippet_runs_in_order(tmp_path, monkeypatch, dot):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for k, code in enumerate(blocks("python")):
        exec(compile(code, f"README.md python block {k + 1}", "exec"), namespace)
    trace = namespace["trace"]
    np.testing.assert_array_equal(trace.gradients().w, [[54, 63, 72], [99, 108, 117], [144, 153, 162]])
    assert (tmp_path / "outputs" / "step40.png").exists() and (tmp_path / "lesson.html").exists()
    assert (tmp_path / "outputs" / "01_conv_backprop.gif").exists()
    assert namespace["net"].describe() == "x 1×1×6×6 ⊛ w 2×1×3×3 + b → y 1×2×4×4 → … → loss"
    a, b, c = namespace["a"], namespace["b"], namespace["c"]
    assert a.grad == pytest.approx((b.data + 1) * (1 - c.data ** 2)) and b.grad == pytest.approx(2 * (1 - c.data ** 2))
    assert trace.walk().text(40) == "step 40 of 187"


def readme_lines():
    return [line for block in blocks("sh") for line in commands(block) if not line.startswith(("make ", "source "))]


def help_examples():
    from convgraph.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    found = re.findall(r"^  (convgraph .+)$", parser.epilog, re.M)
    for p in sub.choices.values():
        found += re.findall(r"^  (convgraph .+)$", p.epilog or "", re.M)
    return [e.split("  #")[0].strip() for e in found if "COMMAND" not in e]


@pytest.mark.parametrize("line", list(dict.fromkeys(readme_lines() + help_examples())))
def test_every_readme_line_and_help_example_runs(line, tmp_path, dot):
    if line.startswith("python examples/"):  # run from a copy of the project's examples
        (tmp_path / "examples").symlink_to(ROOT / "examples")
    r = shell(line, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr


def test_the_help_examples_are_tested():
    assert len(help_examples()) >= 15 and "convgraph step --from 100 --steps 5 --stride 2 --input 6x6" in help_examples()


def test_make_lines_are_the_ones_the_makefile_and_ci_have():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    targets = {line.split()[1] for block in blocks("sh") for line in commands(block) if line.startswith("make ")}
    assert targets == {"demo", "test"}
    assert all(re.search(rf"^{t}:", makefile, re.M) for t in targets | {"notebook", "torch"})
    assert "make demo" in ci and "make test" in ci


@pytest.mark.parametrize("block", blocks("console"), ids=lambda b: b.splitlines()[0])
def test_console_blocks_print_what_they_show(block, tmp_path):
    command, *expected = block.splitlines()
    assert command.startswith("$ ")
    r = shell(command[2:], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == expected


def test_the_stepper_screen_is_what_the_stepper_shows():
    from convgraph.lessons import LESSON
    from convgraph.renderers.steppers.terminal import Stepper
    from convgraph.renderers.steppers.text import StepText

    m = re.search(r"<!-- the stepper after: (.+?) -->\n```text\n(.*?)\n```", README, re.S)
    trace = LESSON.trace()
    stepper = Stepper(StepText(trace, trace.walk()))
    for cmd in m.group(1).split(" | "):
        shown = stepper.command(cmd)
    assert "\n".join(shown) == m.group(2)
