"""The interactive terminal stepper: walk backprop one node at a time, back, jump, follow a weight.

Keys (each followed by Enter): Enter next · ``b`` back · ``j N`` jump to step N · ``w u,v`` the next
step that feeds weight w[u,v] (``w`` alone: the next one again) · ``x i,j`` the same for an input ·
``e`` the end · ``h`` help · ``q`` quit. Input and output are plain callables, so tests drive it.
Lines are wrapped to the terminal's width with a hanging indent, so a long step reads whole on a
projected terminal instead of breaking mid-word.
"""

from __future__ import annotations

import re
import shutil

from .text import wrap

__all__ = ["Stepper", "run_stepper", "HELP", "KEYS", "INTRO"]

KEYS = "Enter next · b back · j N jump · w u,v weight · x i,j input · e end · h help · q quit"
HELP = ("Enter: next step · b: back one step · j N: jump to step N (j 0: before the first) · w u,v: the next "
        "step that pushes into w[u,v] (w alone: the one after) · x i,j: the same for x[i,j] · e: the last step · "
        "q: quit")

INTRO = "Backprop visits each node once, outputs first: a node pushes grad·local into each operand (+=)."

_CLEAR = "\x1b[H\x1b[2J"


class Stepper:
    """State and commands of one stepping session over ``text.walk``.

    ``command(line)`` applies one line of input and returns the lines to show; ``current`` is the
    number of the step on screen (1 … N, as every other view counts them; 0 is the screen before the
    first step). With ``width`` (characters), every line shown is wrapped to it with a hanging
    indent. The session never changes the trace or its walk.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.ones((3, 3)), np.ones((2, 2)))
    >>> from convgraph.renderers.steppers.text import StepText
    >>> s = Stepper(StepText(t, t.walk()))
    >>> _ = s.command("j 5"); s.current
    5
    >>> _ = s.command("w 1,1"); t.name(s.text.walk.node(s.current))
    'w[1,1]·x[2,1]'
    """

    def __init__(self, text, *, start=1, width=None):
        if not len(text):
            raise ValueError("there are no steps to show (the graph is empty)")
        if not 0 <= start <= len(text):
            raise ValueError(f"start must be a step number from 0 to {len(text)}, got {start}")
        wrap("", width)  # a bad width fails here, naming it
        self.text = text
        self.width = width
        self.current = start
        self.focus = None  # (label, node, [step numbers]) of the last w/x command
        self.done = False

    def view(self, note=None):
        """The lines of the current step, with ``note`` (a message) under it."""
        text, width = self.text, self.width
        if self.current == 0:
            grids = text.grids(0, line_width=100 if width is None else width - 2)
            lines = wrap(text.before(), width) + ["  " + r for r in grids]
        else:
            lines = text.block(text.walk.step(self.current), width=width)
        notes = []
        if self.focus is not None:
            name, _, feeding = self.focus
            if self.current in feeding:
                k = feeding.index(self.current) + 1
                notes.append(f"  following {name}: step {k} of the {len(feeding)} that feed it (w / x again: the next)")
        if note:
            notes.append("  " + note)
        for line in notes:
            lines += [""] + wrap(text.say(line), width)
        return [text.say(line) for line in lines]

    def command(self, line):
        """Apply one line of input; returns the lines to display (the step view, or a message)."""
        cmd = line.strip()
        last = len(self.text)
        if cmd in ("", "n", "next"):
            if self.current < last:
                self.current += 1
            return self.view(self._end_note() if self.current == last else None)
        if cmd in ("b", "back", "p"):
            if self.current == 0:
                return self.view("already before the first step")
            self.current -= 1
            return self.view()
        if cmd in ("e", "end"):
            self.current = last
            return self.view(self._end_note())
        if cmd in ("q", "quit", "exit"):
            self.done = True
            return []
        if cmd in ("h", "?", "help"):
            return self.view(HELP)
        m = re.fullmatch(r"j(?:ump)?\s*(-?\d+)", cmd)
        if m:
            n = int(m.group(1))
            if not 0 <= n <= last:
                return self.view(f"no step {n}: steps run from 1 to {last} (0: before the first)")
            self.current = n
            return self.view(self._end_note() if self.current == last else None)
        m = re.fullmatch(r"([a-zA-Z]\w*)\s*(?:\[?\s*((?:-?\d+\s*[, ]\s*)*-?\d+)\s*\]?)?", cmd)
        if m and (m.group(2) is not None or cmd in ("w", "x")):
            return self._follow(m.group(1), m.group(2))
        return self.view(f"unknown command {cmd!r} (h: help)")

    def _end_note(self):
        return "the last step: every gradient is final (the same as trace.backward())"

    def _follow(self, name, index):
        text = self.text
        if index is None:
            if self.focus is None or self.focus[0].split("[")[0] != name:
                return self.view(f"give an element: {name} 1,1")
            label, node, feeding = self.focus
        else:
            try:
                node = text.find(name, [int(i) for i in re.split(r"[,\s]+", index.strip())])
            except ValueError as e:
                return self.view(str(e))
            label = text.label(node)
            feeding = text.feeding(node)
            if not feeding:
                self.focus = None
                return self.view(f"no step pushes gradient into {label}")
        self.focus = (label, node, feeding)
        later = [k for k in feeding if k > self.current]
        self.current = later[0] if later else feeding[0]
        wrapped = "" if later else " (from the start again)"
        listing = ", ".join(str(k) for k in feeding[:12]) + (", …" if len(feeding) > 12 else "")
        return self.view(f"{label} is fed by {len(feeding)} steps: {listing}{wrapped}")


def run_stepper(text, *, read=input, write=print, clear=False, start=1, title=None, width=None):
    """Run an interactive session until ``q`` or end of input.

    Parameters
    ----------
    text : StepText
    read : callable(prompt) -> str
        Raises ``EOFError`` at the end of input (as ``input`` does).
    write : callable(str)
        Prints one chunk of text.
    clear : bool
        Clear the screen before each view (a terminal), so the grids stay in place.
    start : int
        The step to show first (0 … N; 0 is the screen before the first step).
    title : str, optional
        A line shown above every view.
    width : int, optional
        Characters per line: longer lines wrap at spaces with a hanging indent. Default: the
        terminal's width (``shutil.get_terminal_size``: the ``COLUMNS`` variable, else 80 when
        output is not a terminal), less one column.

    Returns
    -------
    int
        The number of the step on screen when the session ended.

    Raises
    ------
    TypeError, ValueError
        If ``width`` is not an int of at least 20, or ``start`` is not a step number.
    """
    if width is None:
        width = max(shutil.get_terminal_size().columns - 1, 40)
    stepper = Stepper(text, start=start, width=width)
    lines = stepper.view(INTRO)
    prompt = text.say("▸ ")
    head = wrap(title, width) + [""] if title else []
    keys = wrap(text.say(KEYS), width)
    while True:
        write((_CLEAR if clear else "") + "\n".join(head + lines + [""] + keys))
        try:
            line = read(prompt)
        except (EOFError, KeyboardInterrupt):
            write("")
            break
        lines = stepper.command(line)
        if stepper.done:
            break
    return stepper.current
