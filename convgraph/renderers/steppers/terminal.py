"""The interactive terminal stepper: walk backprop one node at a time, back, jump, follow a weight.

Keys (each followed by Enter): Enter next · ``b`` back · ``j N`` jump to step N · ``w u,v`` the next
step that feeds weight w[u,v] (``w`` alone: the next one again) · ``x i,j`` the same for an input ·
``e`` the end · ``h`` help · ``q`` quit. Input and output are plain callables, so tests drive it.
"""

from __future__ import annotations

import re

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
    first step). The session never changes the trace or its walk.

    >>> import numpy as np, convgraph as cg
    >>> t = cg.trace_conv2d(np.ones((3, 3)), np.ones((2, 2)))
    >>> from convgraph.renderers.steppers.text import StepText
    >>> s = Stepper(StepText(t, t.walk()))
    >>> _ = s.command("j 5"); s.current
    5
    >>> _ = s.command("w 1,1"); t.label(s.text.walk.node(s.current))
    'mul#32'
    """

    def __init__(self, text, *, start=1):
        if not len(text):
            raise ValueError("there are no steps to show (the graph is empty)")
        if not 0 <= start <= len(text):
            raise ValueError(f"start must be a step number from 0 to {len(text)}, got {start}")
        self.text = text
        self.current = start
        self.focus = None  # (label, node, [step numbers]) of the last w/x command
        self.done = False

    def view(self, note=None):
        """The lines of the current step, with ``note`` (a message) under it."""
        text = self.text
        if self.current == 0:
            lines = [text.before()] + ["  " + r for r in text.grids(0)]
        else:
            lines = text.block(text.walk.step(self.current))
        if self.focus is not None:
            name, _, feeding = self.focus
            if self.current in feeding:
                k = feeding.index(self.current) + 1
                lines.append("")
                lines.append(f"  following {name}: step {k} of the {len(feeding)} that feed it (w / x again: the next)")
        if note:
            lines.append("")
            lines.append("  " + note)
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


def run_stepper(text, *, read=input, write=print, clear=False, start=1, title=None):
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

    Returns
    -------
    int
        The number of the step on screen when the session ended.
    """
    stepper = Stepper(text, start=start)
    lines = stepper.view(INTRO)
    prompt = text.say("▸ ")
    while True:
        head = [title, ""] if title else []
        write((_CLEAR if clear else "") + "\n".join(head + lines + ["", text.say(KEYS)]))
        try:
            line = read(prompt)
        except (EOFError, KeyboardInterrupt):
            write("")
            break
        lines = stepper.command(line)
        if stepper.done:
            break
    return stepper.current
