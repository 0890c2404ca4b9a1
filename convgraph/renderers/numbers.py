"""How every picture and text writes a number, in one place.

Three forms, each for one kind of place:

- :func:`fmt`: the steppers' numbers (``1``, ``-2``, ``0.37``; ``g`` format when tiny or huge),
  the same in ``convgraph step``, the notebook widget and (in JavaScript, kept equal by a parity
  test) the HTML page;
- :func:`num`: cells and formulas of the animations, whole numbers bare, else three significant
  digits (``3``, ``-0.5``, ``12.3``);
- :class:`Numbers`: the labels of one diagram, as :func:`fmt` writes them;
  :func:`tick` writes a colour bar's ticks.
"""

from __future__ import annotations

__all__ = ["ZERO", "fmt", "factor", "num", "num_factor", "Numbers", "tick"]


#: Values closer to zero than this print as ``0``: what is left of a sum that cancels in floating
#: point (``-5.55e-17``) is rounding, not a number a slide should show.
ZERO = 1e-12


def fmt(value, digits=2):
    """A number as the steppers print it, in the same form as every picture: whole numbers bare,
    others with ``digits`` decimals, ``g`` format when tiny or huge, rounding noise as ``0``.

    >>> fmt(0.3712), fmt(-2.0), fmt(-0.0), fmt(3.7e-05), fmt(12345678.0), fmt(-5.551115e-17)
    ('0.37', '-2', '0', '3.7e-05', '1.23e+07', '0')
    """
    v = float(value)
    a = abs(v)
    if a < ZERO:
        return "0"
    if v.is_integer() and a < 1e6:
        return str(int(v))
    if a < 0.5 * 10.0 ** -digits or a >= 1e6:
        return f"{v:.{digits + 1}g}"
    return f"{v:.{digits}f}"


def factor(value, digits=2):
    """:func:`fmt` as a factor of a product: negatives in parentheses, ``1·(-2)``.

    >>> factor(-2.0)
    '(-2)'
    """
    s = fmt(value, digits)
    return f"({s})" if s.startswith("-") else s


def num(v):
    """A number as a cell or formula of an animation shows it: whole numbers bare, else three
    significant digits.

    >>> num(3.0), num(-0.5), num(12.345), num(0.0001234)
    ('3', '-0.5', '12.3', '0.000123')
    """
    v = float(v)
    if abs(v) < ZERO:
        return "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def num_factor(v):
    """:func:`num` as a factor of a product: ``(-1)``."""
    s = num(v)
    return f"({s})" if s.startswith("-") else s


class Numbers:
    """Formats the numbers of one diagram as every view writes them (:func:`fmt`): whole numbers
    bare, others with two decimals, rounding noise as ``0``.

    >>> Numbers([1.0, 2.5])(3.0), Numbers([1.0, 2.5])(2.5), Numbers([])(-5.55e-17)
    ('3', '2.50', '0')
    """

    def __init__(self, values=()):
        self.values = values  # kept for callers that size their labels by them

    def __call__(self, v):
        return fmt(v)


def tick(v, last=False):
    """A colour-bar tick: 2 significant digits (each cell stands for a range); the end exact to 3.

    >>> tick(0.123), tick(162.0, last=True)
    ('0.12', '162')
    """
    v = float(v)
    if v == 0:
        return "0"
    if last:
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{float(f'{v:.2g}'):.6g}"
