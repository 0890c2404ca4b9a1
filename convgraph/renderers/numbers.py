"""How every picture and text writes a number, in one place.

One rule everywhere: whole numbers bare (``1``, ``-2``, ``108``), others with three significant
digits (``0.5``, ``12.3``, ``0.000123``), Python's ``g`` format when tiny or huge (``3.7e-05``,
``1.23e+07``), and what is left of a sum that cancels in floating point (``-5.55e-17``) as ``0``,
never ``-0``. The forms:

- :func:`fmt` and :func:`num`: one number (``convgraph step``, the notebook widget, the HTML page
  in JavaScript kept equal by a parity test, diagrams, clips);
- :func:`factor` and :func:`num_factor`: the same as a factor of a product, negatives in
  parentheses (``1·(-2)``);
- :class:`Numbers`: the labels of one diagram, with rounding noise judged on the diagram's scale;
- :func:`tick`: a colour bar's ticks.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["ZERO", "RELATIVE_ZERO", "fmt", "factor", "num", "num_factor", "Numbers", "tick"]


#: Without a scale, values closer to zero than this print as ``0``.
ZERO = 1e-12
#: With a ``scale`` (the size of the numbers around), values within this fraction of it print as
#: ``0``: rounding noise of a sum of terms that size is about 1e-16 of it.
RELATIVE_ZERO = 1e-9


def _digits(digits):
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 0 <= digits <= 16:
        raise ValueError(f"digits must be an int from 0 to 16, got {digits!r}")
    return int(digits)


def _is_zero(a, scale):
    if scale is None:
        return a < ZERO
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a number or None, got {scale!r}")
    if not (math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite number at least 0, got {scale!r}")
    return a <= RELATIVE_ZERO * scale


def fmt(value, digits=2, scale=None):
    """A number as every view writes it: whole numbers bare, others with ``digits + 1``
    significant digits (three by default), ``g`` format when tiny or huge, rounding noise as ``0``.

    Parameters
    ----------
    value : float
    digits : int
        Precision: ``digits + 1`` significant digits (0..16; default 2, the rule of every view).
    scale : float, optional
        The size of the numbers around ``value`` (e.g. the largest magnitude of its tensor):
        ``|value| <= 1e-9 * scale`` prints ``0``. Without it, ``|value| < 1e-12`` does.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``digits`` is not an int from 0 to 16 or ``scale`` is negative or not finite.
    TypeError
        If ``scale`` is not a number.

    >>> fmt(0.3712), fmt(-2.0), fmt(108.0), fmt(12.345), fmt(0.0001234), fmt(3.7e-05)
    ('0.371', '-2', '108', '12.3', '0.000123', '3.7e-05')
    >>> fmt(-0.0), fmt(-5.551115e-17), fmt(12345678.0), fmt(2e-7, scale=1000.0), fmt(0.3712, digits=1)
    ('0', '0', '1.23e+07', '0', '0.37')
    """
    v = float(value)
    a = abs(v)
    if _is_zero(a, scale):
        return "0"
    if v.is_integer() and a < 1e6:
        return str(int(v))
    return f"{v:.{_digits(digits) + 1}g}"


def factor(value, digits=2, scale=None):
    """:func:`fmt` as a factor of a product: negatives in parentheses, ``1·(-2)``.

    >>> factor(-2.0), factor(0.5)
    ('(-2)', '0.5')
    """
    s = fmt(value, digits, scale)
    return f"({s})" if s.startswith("-") else s


def num(v, scale=None):
    """A number as a cell or formula of an animation shows it: :func:`fmt`'s rule.

    >>> num(3.0), num(-0.5), num(12.345), num(0.0001234), num(-5.55e-17)
    ('3', '-0.5', '12.3', '0.000123', '0')
    """
    return fmt(v, scale=scale)


def num_factor(v, scale=None):
    """:func:`num` as a factor of a product: ``(-1)``."""
    return factor(v, scale=scale)


class Numbers:
    """Formats the numbers of one diagram as every view writes them (:func:`fmt`), rounding noise
    judged on the scale of ``values`` (the largest magnitude among them).

    >>> Numbers([1.0, 2.5])(3.0), Numbers([1.0, 2.5])(2.5), Numbers([])(-5.55e-17), Numbers([1e6])(1e-4)
    ('3', '2.5', '0', '0')
    """

    def __init__(self, values=()):
        self.values = values  # kept for callers that size their labels by them
        finite = [abs(float(v)) for v in values if math.isfinite(float(v))]
        top = max(finite, default=0.0)
        self.scale = top if top > 0 else None

    def __call__(self, v):
        return fmt(v, scale=self.scale)


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
