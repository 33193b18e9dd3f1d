"""Evaluate a sympy expression the way upstream MATH-V evaluates it, without Python `eval`.

MATH-V's `utils.py` does `eval(str(latex2sympy(x)))` in a module that ran `from math import *`. So the
printed form of the expression is Python arithmetic whose names resolve in `math`: `pi` is a number,
`sqrt`/`sin`/`log`/`factorial`/`floor` are math functions, and everything sympy prints under another
name fails with NameError: Euler's `E` (math calls it `e`), `I`, `oo`/`zoo`, `Abs`, `cot`, `ceiling`, any
free symbol. Tuples, sets, intervals and relations are not numbers. `value` walks the tree with those
rules and raises ValueError wherever upstream's eval would raise (or return a non-number).

Integers stay Python ints (as `eval("6")` does), so tuple strings compare like upstream's; a bare decimal
with an integral value counts as an int, since upstream's parser reads decimals as rationals ("6.0" -> 6).
"""

from __future__ import annotations

import math

MAX_INT_BITS = 100_000
"""Refuse integer powers larger than this (upstream would compute them for minutes, then compare)."""

_FUNCTIONS = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "asinh": math.asinh,
    "acosh": math.acosh, "atanh": math.atanh, "exp": math.exp, "factorial": math.factorial,
    "floor": math.floor, "gamma": math.gamma, "erf": math.erf, "erfc": math.erfc,
}


def _pow(base, exp):
    if isinstance(base, int) and isinstance(exp, int) and exp > 0:
        if max(abs(base), 2).bit_length() * exp > MAX_INT_BITS:
            raise ValueError("integer power too large")
    try:
        out = base**exp
    except (OverflowError, ZeroDivisionError) as e:
        raise ValueError(str(e)) from e
    if isinstance(out, complex):
        raise ValueError("complex value")
    return out


def _real(x) -> int | float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError("not a number")
    return x


def value(expr) -> int | float:
    """int/float value of a sympy expression under upstream's `eval(str(expr))` rules; else ValueError."""
    import sympy

    if isinstance(expr, sympy.Integer):
        return int(expr)
    if isinstance(expr, sympy.Rational):
        return _div(int(expr.p), int(expr.q))
    if isinstance(expr, sympy.Float):
        f = float(expr)
        if not math.isfinite(f):
            raise ValueError("not finite")
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if expr is sympy.pi:
        return math.pi
    if isinstance(expr, sympy.UnevaluatedExpr):
        return value(expr.args[0])
    if isinstance(expr, sympy.Add):
        return _real(sum(value(a) for a in expr.args))
    if isinstance(expr, sympy.Mul):
        # str() prints factors with a negative exponent as a division ("a/b**2"): Python's int / int is
        # exact where int ** -1 would overflow for huge integers.
        num, den = 1, 1
        for a in expr.args:
            if isinstance(a, sympy.Pow) and a.args[1].is_Integer and a.args[1] < 0:
                den = den * value(sympy.Pow(a.args[0], -a.args[1], evaluate=False))
            else:
                num = num * value(a)
        return _real(num if den == 1 else _div(num, den))
    if isinstance(expr, sympy.Pow):
        base, exp = expr.args
        # str() prints x**(1/2) as sqrt(x) and x**(-1/2) as 1/sqrt(x): math.sqrt, which refuses negatives.
        if exp == sympy.Rational(1, 2):
            return _sqrt(value(base))
        if exp == sympy.Rational(-1, 2):
            return _div(1, _sqrt(value(base)))
        return _pow(value(base), value(exp))
    if isinstance(expr, sympy.log):
        args = [value(a) for a in expr.args]  # log(x, E) (from \ln) fails here, as eval fails on "E"
        try:
            return math.log(*args)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as e:
            raise ValueError(str(e)) from e
    if isinstance(expr, sympy.Function):
        fn = _FUNCTIONS.get(type(expr).__name__)
        if fn is None:
            raise ValueError(f"{type(expr).__name__} is not a name in the math module")
        try:
            return _real(fn(*[value(a) for a in expr.args]))
        except (ValueError, OverflowError, TypeError) as e:
            raise ValueError(str(e)) from e
    raise ValueError(f"{type(expr).__name__} does not evaluate to a number")


def _div(a, b) -> float:
    try:
        return a / b
    except (ZeroDivisionError, OverflowError) as e:
        raise ValueError(str(e)) from e


def _sqrt(x) -> float:
    try:
        return math.sqrt(x)
    except (ValueError, OverflowError) as e:
        raise ValueError(str(e)) from e
