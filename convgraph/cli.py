"""The ``convgraph`` command: argument parsing and friendly errors; the work happens in the library."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

from .renderers.animations.catalog import SCENE_TABLE, SCENES
from .tracer.params import OPS

__all__ = ["main"]

PROG = "convgraph"


class UsageError(Exception):
    """A problem with the command line or its files: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) raised to ``main``."""

    def error(self, message):
        stray = re.fullmatch(r"unrecognized arguments: (\S+)", message)
        if stray and Path(stray.group(1)).suffix.lower() in _OUTPUT_SUFFIXES:
            message += f" (an output file? give it with -o {stray.group(1)})"
        raise UsageError(f"{message} (see: {self.prog} --help)")


_OUTPUT_SUFFIXES = {".svg", ".png", ".pdf", ".dot", ".gv", ".gif", ".mp4", ".html", ".htm"}


def _help(*examples):
    return "examples:\n" + "\n".join(f"  {e}" for e in examples)


# ---- argument types ---------------------------------------------------------------------------
def _ints(text, what, allow=()):
    if text in allow:
        return text
    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = None
    if values is None or len(values) not in (1, 2):
        extra = "".join(f", {a!r}" for a in allow)
        raise argparse.ArgumentTypeError(f"malformed {what} {text!r}: expected N or N,M{extra}")
    return values[0] if len(values) == 1 else tuple(values)


def _count(lo, hi=None):
    """An int type for argparse within [lo, hi]."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo or (hi is not None and value > hi):
            bounds = f"from {lo} to {hi}" if hi is not None else f"{lo} or more"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {text!r}")
        return value
    return parse


def _tolerance(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number at least 0, got {text!r}")
    return value


def _pair(text):
    return _ints(text, "value")


def _padding(text):
    return _ints(text, "padding", ("same", "valid"))


def _dy(text):
    if text in ("ones", "random") or Path(text).suffix.lower() in (".npy", ".csv", ".txt"):
        return text
    raise argparse.ArgumentTypeError(f"expected ones, random or a file (.npy, .csv, .txt), got {text!r}")


def _index(text):
    """``w:1,1`` -> ("w", (1, 1)) for focus views."""
    name, sep, rest = text.partition(":")
    try:
        index = tuple(int(i) for i in rest.split(","))
    except ValueError:
        index = ()
    if not sep or not name or not index:
        raise argparse.ArgumentTypeError(f"malformed focus {text!r}: expected TENSOR:INDEX, like w:1,1 or y:0,2")
    return name, index


# ---- building the convolution from the options --------------------------------------------------
def _conv_options():
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group(
        "the convolution (default: the lesson, x = 0..24 as 5x5, the 3x3 Sobel kernel, dY ones)",
        "X and W are each a shape (random values N(0,1) rounded to 0.1, --seed), literal rows "
        '("1,0,-1;2,0,-2;1,0,-1"), a named array (ramp, ramp8, edge, sobel, laplace, seed) or a file '
        "(.npy, .csv, .txt)")
    g.add_argument("--input", metavar="X", help="the input: HxW, CxHxW or NxCxHxW as a shape, rows, a name or a file")
    g.add_argument("--kernel", metavar="W", help="the kernel: KHxKW or OxC/groupsxKHxKW, rows, a name or a file")
    g.add_argument("--x-file", type=Path, metavar="FILE", help=argparse.SUPPRESS)  # the same as --input FILE
    g.add_argument("--w-file", type=Path, metavar="FILE", help=argparse.SUPPRESS)  # the same as --kernel FILE
    g.add_argument("--bias", nargs="?", const="random", metavar="B",
                   help="add a bias: random (no value), one number, a comma list, or a file")
    g.add_argument("--op", choices=OPS, default="conv2d",
                   help="the operation (default conv2d); conv1d takes X as a length L, CxL or NxCxL (one row of "
                        "numbers: one signal) and W as K or OxC/groupsxK, conv_transpose2d W as CxO/groupsxKHxKW; "
                        "without X and W each shows its own example (conv1d: the signal, conv_transpose2d: the 2x2 "
                        "to 4x4 upsampling)")
    g.add_argument("--stride", type=_pair, default=1, metavar="S", help="N or N,M (default 1)")
    g.add_argument("--padding", type=_padding, default=0, metavar="P", help="N, N,M, same or valid (default 0)")
    g.add_argument("--output-padding", type=_pair, default=0, metavar="P",
                   help="conv_transpose2d only: N or N,M rows and columns added at the bottom and right (default 0)")
    g.add_argument("--dilation", type=_pair, default=1, metavar="D", help="N or N,M (default 1)")
    g.add_argument("--groups", type=_count(1), default=1, metavar="G", help="(default 1)")
    g.add_argument("--dy", type=_dy, default="ones", metavar="DY",
                   help="seed gradient: ones (loss = sum y), random, or a file (default ones)")
    g.add_argument("--seed", type=_count(0), default=0, help="seed of every random array (default 0)")
    return p


def _array(args, name, rng):
    """--input/--kernel (or their --x-file/--w-file spelling) as an array, None when not given."""
    from .inputs import InputError, parse_array

    option, file_option = {"x": ("--input", "--x-file"), "w": ("--kernel", "--w-file")}[name]
    text, path = getattr(args, option[2:]), getattr(args, file_option[2:].replace("-", "_"))
    if text is not None and path is not None:
        raise UsageError(f"give {option} or {file_option}, not both")
    if path is not None:
        text = str(path)
    if text is None:
        return None
    if args.op == "conv1d" and path is None and re.fullmatch(r"\s*\d+\s*", text):  # a length: L random samples
        text = f"1x{text.strip()}"
    try:
        return parse_array(text, option, rng=rng)
    except InputError as e:
        raise UsageError(str(e)) from None


def _bias(args, w, rng, np):
    from .inputs import InputError, load_file

    if args.bias is None:
        return None
    if args.op == "conv_transpose2d":
        O = w.shape[1] * args.groups if w.ndim == 4 else 1
    else:
        O = w.shape[0] if w.ndim == (3 if args.op == "conv1d" else 4) else 1
    if args.bias == "random":
        return rng.standard_normal((O,)).round(1) + 0.0
    if Path(args.bias).suffix.lower() in (".npy", ".csv", ".txt"):
        try:
            return load_file(args.bias, "--bias").reshape(-1)
        except InputError as e:
            raise UsageError(str(e)) from None
    try:
        values = [float(v) for v in args.bias.split(",")]
    except ValueError:
        raise UsageError(f"malformed --bias {args.bias!r}: expected a number, a comma list or a file") from None
    return np.full(O, values[0]) if len(values) == 1 else np.array(values)


def _seed_gradient(args, trace, rng):
    """--dy as an array shaped like the output, or None for ones."""
    from .inputs import InputError, load_file

    if args.dy == "ones":
        return None
    if args.dy == "random":
        return rng.standard_normal(trace.y.shape).round(1) + 0.0
    try:
        return trace.seed(load_file(args.dy, "--dy", shape=trace.y.shape))
    except InputError as e:
        raise UsageError(str(e)) from None
    except (ValueError, TypeError) as e:
        raise UsageError(f"--dy {args.dy}: {e}") from None


def _build(args):
    """The arrays and trace the options describe: (trace, dY or None)."""
    import numpy as np

    import convgraph as cg

    from .lessons import default_for

    rng = np.random.default_rng(args.seed)
    x, w = _array(args, "x", rng), _array(args, "w", rng)
    if args.op == "conv1d":  # one row of numbers is one signal (or one kernel)
        x, w = (a[0] if a is not None and a.ndim == 2 and a.shape[0] == 1 else a for a in (x, w))
    example = default_for(args.op)
    options = _options(args)
    own_example = x is None and w is None and not _options_given(args)
    if own_example:
        options = dict(example.options)  # the example as it is meant: the upsampling with its stride
    if x is None:
        x = example.x
    if w is None:
        w = _default_kernel(args, x, example, rng)
    b = _bias(args, w, rng, np)
    try:
        trace = cg.trace_op(args.op, x, w, b, **options)
    except (ValueError, TypeError) as e:
        raise UsageError(_which(args, str(e))) from e
    if own_example and args.dy == "ones" and example.dY is not None and args.bias is None:
        return trace, trace.seed(example.dY)  # the example with its own dY (the signal's mixed signs)
    return trace, _seed_gradient(args, trace, rng)


def _options(args):
    options = dict(stride=args.stride, padding=args.padding, dilation=args.dilation, groups=args.groups)
    if args.op == "conv_transpose2d":
        options["output_padding"] = args.output_padding
    elif args.output_padding != 0:
        raise UsageError("--output-padding is for --op conv_transpose2d only")
    return options


def _options_given(args):
    return any(getattr(args, a) != d for a, d in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1),
                                                   ("output_padding", 0)))


def _default_kernel(args, x, example, rng):
    """The example's kernel for a one-channel x; else one random 3-tap (3x3) filter per group over
    every channel of its group."""
    spatial = 1 if args.op == "conv1d" else 2
    if x.ndim <= spatial:  # the example's kernel (and the tracer's message for an x of too few axes)
        return example.w
    groups, C = args.groups, x.shape[-spatial - 1]
    if C % groups:
        raise UsageError(f"--groups {groups} must divide the input's {C} channels")
    shape = (C, 1) if args.op == "conv_transpose2d" else (groups, C // groups)
    return rng.standard_normal(shape + (3,) * spatial).round(1) + 0.0


def _conv_given(args):
    """Whether any conv option describes a convolution of the user's own (else the command's default)."""
    return any(getattr(args, a) is not None for a in ("input", "kernel", "x_file", "w_file", "bias")) or any(
        getattr(args, a) != d for a, d in (("op", "conv2d"), ("dy", "ones"))) or _options_given(args)


def _which(args, message):
    """Prefix a tracer message with the option it came from."""
    for option, given, name in (("--input", args.input or args.x_file, "x"), ("--kernel", args.kernel or args.w_file, "w"),
                                ("--bias", args.bias, "b")):
        if given is not None and message.startswith(f"{name} "):
            return f"{option} {given}: {message}"
    return message


def _describe(trace, dY):
    from .tracer import seed_text

    return f"{trace.describe()}, dY {seed_text(trace.seed(dY))}"


# ---- output -----------------------------------------------------------------------------------
def _out(out):
    """sys.stdout's encoding decides whether ·, → and Σ can be printed."""
    enc = getattr(out, "encoding", None) or "ascii"
    try:
        "·→Σ⊛│▸✓…".encode(enc)
        return False
    except (UnicodeEncodeError, LookupError):
        return True


def _say(text, ascii_only):
    from .renderers.steppers.text import to_ascii

    print(to_ascii(text) if ascii_only else text)


def _writable(path, *, folder=False):
    """The output path, refused before any work when the output policy (renderers/files.py) or the
    folder's permissions forbid it; nothing is created yet."""
    from .renderers.files import FRAME_NAME, output_path

    try:
        output_path(path, folder=folder, owned=FRAME_NAME if folder else None)
    except ValueError as e:
        raise UsageError(str(e)) from None
    path = Path(path)
    full = path.absolute()
    existing = next(p for p in [full if folder else full.parent, *full.parent.parents] if p.exists())
    if not os.access(existing, os.W_OK):
        raise UsageError(f"cannot write {path}: no permission to write in {existing}")
    return path


# ---- subcommands ------------------------------------------------------------------------------
def cmd_trace(args):
    from .renderers.steppers.text import format_summary

    trace, dY = _build(args)
    trace.backward(dY)
    _say(format_summary(trace, digits=args.digits), args.ascii)
    return 0


def _quiz_problem(args):
    """The questions the options ask for: about the convolution they describe when any conv option
    is given, else about the random problem of --level and --seed. Returns (trace, questions)."""
    from .practice import problem_trace, quiz

    if _conv_given(args):
        trace, dY = _build(args)
        trace.backward(dY)
    else:
        trace = problem_trace(args.level, args.seed)
    try:
        return trace, quiz(trace, seed=args.seed, count=args.count)
    except (TypeError, ValueError) as e:
        raise UsageError(str(e)) from e


def cmd_quiz(args):
    from .practice import problem_lines, run_quiz
    from .renderers.steppers.text import wrap

    trace, questions = _quiz_problem(args)
    if args.answers:
        for q in questions:
            _say(q.key, args.ascii)
        return 0
    _say("\n".join(["convgraph quiz: work each answer out by hand, then type it "
                     "(a number, a shape like 3x3, or cells like 1,1 2,3)", ""] + problem_lines(trace)), args.ascii)
    if sys.stdin.isatty() and sys.stdout.isatty():
        read = input
    else:
        def read(prompt):  # piped: one answer per line, no prompt
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")
    width = max(shutil.get_terminal_size().columns - 1, 40) if sys.stdout.isatty() else None

    def write(text):  # on a terminal, long explanations wrap at its width
        _say("\n".join(part for line in text.split("\n") for part in wrap(line, width)), args.ascii)
    run_quiz(questions, read=read, write=write, prompt="answer ▸ " if not args.ascii else "answer > ")
    return 0


def cmd_worksheet(args):
    from .practice import worksheet

    trace, questions = _quiz_problem(args)
    out = Path(args.out)
    key_path = out.with_name(out.stem + "-answers" + (out.suffix or ".md"))
    for path in (out, key_path):
        _writable(path)
    sheet, key = worksheet(questions, trace)
    from .renderers.files import write_text

    write_text(out, sheet)
    write_text(key_path, key)
    print(f"wrote {out} and {key_path}")
    return 0


def cmd_check(args):
    from .check import check_gradients

    trace, dY = _build(args)
    try:
        report = check_gradients(trace, dY, use_torch=False if args.no_torch else None, rtol=args.rtol)
    except (ImportError, ValueError) as e:
        raise UsageError(str(e)) from e
    _say(f"check: {_describe(trace, dY)}", args.ascii)
    _say("\n".join(report.lines()), args.ascii)
    _say("backward as convolution calls:\n" + "\n".join("  " + t for t in report.calls), args.ascii)
    return 0 if report.ok else 1


def cmd_step(args):
    from .renderers.steppers.terminal import run_stepper
    from .renderers.steppers.text import StepText, wrap

    trace, dY = _build(args)
    n = trace.graph.number_of_nodes()
    if not 1 <= args.start <= n:
        raise UsageError(f"--from must be a step number from 1 to {n}, got {args.start}")
    interactive = args.interactive or (args.steps is None and sys.stdin.isatty() and sys.stdout.isatty())
    color = interactive and sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
    title = f"convgraph step · {_describe(trace, dY)} · {n} steps, one per node"
    if interactive:
        text = StepText(trace, trace.walk(dY), digits=args.digits, ascii=args.ascii, color=color)

        def write(chunk):
            print(chunk, flush=True)
        run_stepper(text, write=write, clear=sys.stdout.isatty(), start=args.start, title=text.say(title),
                    width=args.width)
        return 0
    # Printed to a terminal, lines wrap to its width; piped, each step stays one line (for grep and
    # scripts) unless --width asks otherwise.
    width = args.width
    if width is None and sys.stdout.isatty():
        width = max(shutil.get_terminal_size().columns - 1, 40)
    stream = trace.stream(dY)  # printing: compute only the steps printed
    text = StepText(trace, stream, digits=args.digits, ascii=args.ascii)
    print("\n".join(wrap(text.say(title), width)))
    stop = n if args.steps is None else min(n, args.start - 1 + args.steps)
    for step in stream.steps(args.start, stop):
        print(text.line(step, width=width))
    if stop < n:
        print(text.say(f"… {n - stop} more steps (--steps N, --from K)"))
    return 0


def _render_options(p):
    p.add_argument("--focus", type=_index, metavar="T:I",
                   help="focus view: y:I,J (one output's multiply-adds), w:U,V (every use of one weight), "
                        "x:I,J (every output an input feeds)")
    p.add_argument("--heat", default="signed", choices=["signed", "grad", "none"],
                   help="node fill: signed gradient, grad (|gradient|), or none (default signed)")
    p.add_argument("--size", choices=["slide", "slide-720"],
                   help="a 16:9 slide: a PNG of exactly 1920x1080 (or 1280x720) px, type large enough for "
                        "the back row, detail chosen by what stays legible (default: the drawing's own size)")
    p.add_argument("--step", type=_count(0), metavar="K",
                   help="the state after step K as `convgraph step` numbers them (0: before the first): "
                        "that node marked, the visited shaded")
    p.add_argument("--detail", default="auto", choices=["auto", "full", "collapsed"],
                   help="every scalar node (full), or collapsed above a node budget (auto, default)")
    p.add_argument("--no-backward", action="store_true", help="draw before backward has run (no heat)")


def _renderer_kwargs(args):
    kw = {}
    if args.focus is not None:
        kw["focus"] = args.focus
    if args.heat != "signed":
        kw["heat"] = None if args.heat == "none" else args.heat
    if getattr(args, "size", None) is not None:
        kw["size"] = args.size
    if args.step is not None:
        kw["step"] = args.step  # "step K of N", as convgraph step and the HTML page number it
    if args.detail != "auto":
        kw["detail"] = args.detail
    return kw


def _call(fn, *a, **kw):
    """Run a renderer; its ValueError/TypeError/OSError and missing programs become one line."""
    try:
        return fn(*a, **kw)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e).splitlines()[0]) from e
    except OSError as e:
        raise UsageError(f"{e.strerror or e}: {e.filename}" if e.filename else str(e)) from e
    except (ImportError, RuntimeError) as e:
        raise UsageError(str(e).splitlines()[0]) from e


def cmd_render(args):
    import convgraph as cg

    out = _writable(args.out)
    trace, dY = _build(args)
    n = trace.graph.number_of_nodes()
    if args.step is not None and args.step > n:
        raise UsageError(f"--step must be a step number from 0 to {n}, got {args.step}")
    if not args.no_backward:
        trace.backward(dY)
    kw = _renderer_kwargs(args)
    if args.step is not None and dY is not None:
        kw["dY"] = dY  # the walk the step belongs to
    path = _call(cg.render_graph, trace, out, **kw)
    print(f"wrote {path}")
    return 0


def cmd_animate(args):
    import convgraph as cg

    from .renderers.animations.encoding import output_format

    try:
        fmt = output_format(args.out)
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = _writable(args.out, folder=fmt == "png")
    if args.scene == "train":  # the stamp learning: its own example, not a trace
        from .lessons import stamp_learning

        if _conv_given(args):
            raise UsageError("--scene train animates its own example (a kernel learning the Sobel kernel); "
                             "leave out the conv options")
        trace, dY = stamp_learning(), None
    else:
        trace, dY = _build(args)
    kw = {"scene": args.scene}
    for name in ("pace", "pause", "hold", "fps", "dpi", "size", "max_frames", "graph_steps", "numbers"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if dY is not None:
        kw["dY"] = dY
    path = _call(cg.animate, trace, out, **kw)
    print(f"wrote {path}")
    return 0


def cmd_html(args):
    import convgraph as cg

    out = _writable(args.out)
    trace, dY = _build(args)
    kw = {"digits": args.digits} if args.digits != 2 else {}
    if args.title is not None:
        kw["title"] = args.title
    if args.max_nodes is not None:
        kw["max_nodes"] = args.max_nodes
    if args.quiz:
        kw["quiz"] = True
    path = _call(cg.render_html, trace, out, dY=dY, **kw)
    print(f"wrote {path}")
    return 0


def cmd_demo(args):
    from .kit import arithmetic_gallery, lecture_kit

    if args.kit == "arithmetic":
        if _conv_given(args):
            raise UsageError("--kit arithmetic draws its own configurations; leave out the conv options")
        out = Path(args.out or "outputs/arithmetic")
        written = _call(arithmetic_gallery, out, progress=not args.quiet, overwrite=args.overwrite, jobs=args.jobs)
        print(f"wrote the convolution-arithmetic gallery ({len(written)} files) to {out}/; open {out / 'index.html'} "
              f"(every clip on one page) or {out / 'index.md'}")
        return 0
    out = Path(args.out or "outputs")
    trace, dY = _build(args) if _conv_given(args) else (None, None)
    written = _call(lecture_kit, out, trace=trace, dY=dY, progress=not args.quiet, overwrite=args.overwrite,
                    jobs=args.jobs)
    print(f"wrote the lecture kit ({len(written)} files) to {out}/; open first: {out / 'index.md'} (what each file "
          f"shows), {out / 'lesson.html'} (the stepper), {out / 'backprop.gif'} (the lecture clip)")
    return 0


def _parser():
    conv = _conv_options()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--digits", type=_count(0, 8), default=2, help="precision of printed numbers: whole numbers bare, "
                        "others with DIGITS+1 significant digits (default 2: 0.371, 12.3)")
    common.add_argument("--ascii", action="store_true", default=None,
                        help="print * and -> instead of · and → (automatic when the terminal needs it)")
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG, formatter_class=fmt,
        description="Backpropagation through a convolution (conv2d, conv1d, conv_transpose2d), one scalar node per "
                    "multiply and add.",
        epilog=_help("convgraph demo                       # the lecture kit in outputs/",
                     "convgraph step                       # walk backprop node by node",
                     "convgraph check --input 3x8x8 --kernel 4x3x3x3 --stride 2",
                     "convgraph COMMAND --help             # options and an example for each command"))
    from . import __version__
    parser.add_argument("--version", action="version", version=f"convgraph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, func, help_, examples, parents=(conv,)):
        p = sub.add_parser(name, parents=list(parents), help=help_, description=help_ + ".",
                           epilog=_help(*examples), formatter_class=fmt)
        p.set_defaults(func=func)
        return p

    _text_commands(add, conv, common)
    _picture_commands(add)
    return parser


def _demo_command(add, conv):
    """demo: the lecture kit, or the convolution-arithmetic gallery."""
    p = add("demo", cmd_demo, "write the lecture kit: graph with heat, focus views, GIFs of every scene, index.md",
            ["convgraph demo                # the kit of an edge patch ⊛ the Sobel kernel, in outputs/",
             "convgraph demo --input ramp  # the lesson's own example (x = 0..24), dY ones",
             "convgraph demo --input edge --kernel laplace --dy random --out outputs/edge",
             "convgraph demo --op conv_transpose2d --out outputs/upsample",
             "convgraph demo --kit arithmetic      # every convolution-arithmetic configuration, forward and backward"],
            parents=(conv,))
    p.add_argument("--kit", choices=("lecture", "arithmetic"), default="lecture",
                   help="lecture: every picture of one convolution (default); arithmetic: the convolution-arithmetic "
                        "guide's configurations, each a forward clip, a backward clip and a focus picture")
    p.add_argument("--out", metavar="DIR",
                   help="folder to write into (default outputs, for --kit arithmetic outputs/arithmetic)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--jobs", type=_count(1), metavar="N",
                   help="files rendered at once, each in its own process (default: one per core)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files in DIR that an earlier kit did not write (refused otherwise)")


def _text_commands(add, conv, common):
    """demo, trace, step, quiz, worksheet and check."""
    _demo_command(add, conv)
    add("trace", cmd_trace, "print node and edge counts by op, y and the gradients",
        ["convgraph trace", "convgraph trace --input 3x6x6 --kernel 2x3x3x3 --bias --padding same",
         "convgraph trace --op conv1d --input 0,1,3,6,6,3 --kernel 1,0,-1   # a 1-D signal"],
        parents=(conv, common))

    p = add("step", cmd_step, "walk backprop node by node, with the chain rule in numbers",
            ["convgraph step                # interactive on a terminal: Enter, b, j N, w u,v, q",
             "convgraph step --steps 20     # print the first 20 steps",
             "convgraph step --from 100 --steps 5 --stride 2 --input 6x6",
             "convgraph step --steps 3 --width 60   # lines wrapped at 60 characters"], parents=(conv, common))
    p.add_argument("--steps", type=_count(1), metavar="N", help="print N steps and exit (no interaction)")
    p.add_argument("--from", dest="start", type=_count(1), default=1, metavar="K", help="start at step K (default 1)")
    p.add_argument("-i", "--interactive", action="store_true",
                   help="interactive even when standard input is not a terminal (commands one per line)")
    p.add_argument("--width", type=_count(20), metavar="N",
                   help="wrap lines at N characters (default: the terminal's width; piped output keeps one "
                        "line per step)")

    for name, func, help_, examples in (
            ("quiz", cmd_quiz, "practice: predict gradients and values, checked with the chain rule's terms",
             ["convgraph quiz                        # the lesson's shape: 10 questions, one at a time",
              "convgraph quiz --level 3 --seed 7     # stride 2 and padding 1",
              "convgraph quiz --seed 3 --answers     # the answer key, one line per question",
              "convgraph quiz --seed 3 --answers | convgraph quiz --seed 3"]),
            ("worksheet", cmd_worksheet, "write a worksheet of quiz problems and its answer key (markdown)",
             ["convgraph worksheet --level 2 --seed 5 --count 8 -o outputs/sheet.md"])):
        p = add(name, func, help_, examples, parents=(conv, common))
        p.add_argument("--level", type=_count(1, 6), default=1,
                       help="1 the lesson's shape, 2 padding and bias, 3 stride, 4 dilation, 5 channels, "
                            "6 groups (default 1; ignored when conv options describe a problem of your own)")
        p.add_argument("--count", type=_count(1, 100), default=10, metavar="N", help="questions (default 10)")
        if name == "quiz":
            p.add_argument("--answers", action="store_true",
                           help="print the answer key instead, one line per question, as the quiz accepts it")
        else:
            p.add_argument("-o", "--out", default="worksheet.md", metavar="PATH",
                           help="the worksheet; the key goes beside it as NAME-answers.md (default worksheet.md)")

    p = add("check", cmd_check, "compare the graph's gradients with numpy and PyTorch (exit 1 if they disagree)",
            ["convgraph check", "convgraph check --input 2x3x9x9 --kernel 4x3x3x3 --dilation 2 --padding 2 --dy random",
             "convgraph check --op conv_transpose2d --input 2x3x3 --kernel 2x1x3x3 --groups 2 --stride 2 "
             "--output-padding 1"],
            parents=(conv, common))
    p.add_argument("--no-torch", action="store_true", help="compare with numpy only")
    p.add_argument("--rtol", type=_tolerance, default=1e-9, help="allowed difference relative to the largest value "
                   "(default 1e-9)")


def _picture_commands(add):
    """render, animate and html."""
    p = add("render", cmd_render, "draw the graph with Graphviz (.svg .png .pdf .dot .gv by suffix)",
            ["convgraph render -o graph.svg", "convgraph render --focus w:1,1 -o w11.png",
             "convgraph render --input 12x12 --detail auto -o big.svg"])
    p.add_argument("-o", "--out", default="graph.svg", metavar="PATH", help="output file (default graph.svg)")
    _render_options(p)

    p = add("animate", cmd_animate, "animate a scene as .gif, .mp4 or a folder of PNG frames",
            ["convgraph animate --scene weight-grad -o dw.gif",
             "convgraph animate --scene backprop --size slide -o backprop.gif",
             "convgraph animate --scene graph --pace 0.2 -o frames/",
             "convgraph animate --scene input-grad --pace 0.5 --pause 2 --hold 4 -o dx.gif",
             "convgraph animate --input 7x7 --stride 2 --dilation 2 --padding 1 --scene input-grad -o dx.gif",
             "convgraph animate --scene dw-as-conv -o dw_as_conv.gif   # each dW[u,v] a window sum over x",
             "convgraph animate --scene train -o train.gif   # a random kernel learning the Sobel kernel"])
    p.add_argument("-o", "--out", default="backprop.gif", metavar="PATH",
                   help=".gif, .mp4 (needs the mp4 extra) or a folder for PNG frames (default backprop.gif)")
    p.add_argument("--scene", default="backprop", choices=list(SCENES), help="; ".join(
        f"{name}: {entry.shows}" for name, entry in SCENE_TABLE.items()) + " (default backprop)")
    p.add_argument("--pace", type=float, metavar="S",
                   help="seconds each frame shows (default: 1 for a lesson-sized clip, faster for long ones)")
    p.add_argument("--pause", type=float, metavar="S", help="seconds more between phases (default 1)")
    p.add_argument("--hold", type=float, metavar="S", help="seconds more on the last frame (default 2)")
    p.add_argument("--fps", type=float, help="a fixed frame rate, frames repeated to last their time "
                   "(default: a GIF times each frame; an MP4 runs at 15)")
    p.add_argument("--dpi", type=float, help="pixels per inch of each frame (default 100)")
    p.add_argument("--size", choices=["slide", "slide-720"],
                   help="frames of exactly 1920x1080 (or 1280x720) px, the drawing scaled to fill them")
    p.add_argument("--max-frames", type=int, metavar="N", help="longer clips advance several positions per frame "
                   "(default 400)")
    p.add_argument("--graph-steps", type=int, metavar="K", help="graph scene: backprop steps per frame")
    p.add_argument("--numbers", action=argparse.BooleanOptionalAction, default=None,
                   help="numbers in the cells (default: when they are large enough to read)")

    p = add("html", cmd_html, "write the interactive HTML stepper: one self-contained page",
            ["convgraph html", "convgraph html --input 3x6x6 --kernel 2x3x3x3 --out channels.html",
             "convgraph html --quiz --out practice.html   # type dW, dX and y; the page checks them"])
    p.add_argument("-o", "--out", default="lesson.html", metavar="PATH", help="(default lesson.html)")
    p.add_argument("--digits", type=int, default=2, help="decimals of every number on the page (default 2)")
    p.add_argument("--title", help="heading of the page (default: the convolution)")
    p.add_argument("--max-nodes", type=_count(1), metavar="N",
                   help="refuse traces with more nodes (default 200,000: bigger pages are tens of megabytes)")
    p.add_argument("--quiz", action="store_true",
                   help="practice: dW, dX (and y in forward mode) hidden until typed in; the page checks each")


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: temporary files removed, Graphviz stopped


def main(argv=None):
    """Run the command line; returns the exit status (0 ok, 1 check disagrees, 2 usage or file error)."""
    if argv is None and threading.current_thread() is threading.main_thread():  # run as the program
        signal.signal(signal.SIGTERM, _terminated)
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal cannot spell is escaped, not fatal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
            raise UsageError(f"unrecognized arguments: {argv[0]} (options go after the command; "
                             f"see: {PROG} --help)")
        if not argv:  # plain `convgraph`: what it can do, and exit 2 as argparse does without a command
            _parser().print_help(sys.stderr)
            return 2
        args = _parser().parse_args(argv)
        if getattr(args, "ascii", None) is None and "ascii" in vars(args):
            args.ascii = _out(sys.stdout)
        return args.func(args)
    except UsageError as e:
        if os.environ.get("CONVGRAPH_DEBUG") and e.__cause__ is not None:
            raise  # the whole traceback, for reporting a bug
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:
        if isinstance(e.code, int) and e.code > 128:  # a signal: say so in one line, keep the status
            print(f"{PROG}: stopped by signal {e.code - 128}", file=sys.stderr)
        raise
    except BrokenPipeError:  # `convgraph step | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:  # standard output full or gone (`convgraph step > /dev/full`)
        print(f"{PROG}: error: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
