"""Exact coordinates as text: a small grammar, its parser and its printer, with no way to run code.

A pair file (:mod:`counterexamples.files`) is data from strangers, so its coordinates are never handed to
``sympify``, ``parse_expr`` or ``eval`` (all three evaluate Python). :func:`parse_exact` reads this grammar by
recursive descent and builds sympy numbers with sympy's constructors::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("^" | "**") unary)?          right-associative: 2^3^2 = 2^9
    atom   := NUMBER | "pi" | FUNC "(" expr ")" | "(" expr ")"
    FUNC   := "sqrt" | "cos" | "sin"
    NUMBER := digits ["." digits] [("e" | "E") ["+" | "-"] digits]

Decimals are exact rationals (``0.1`` is 1/10); exponents must be rational numbers (``2^(1/3)``); ``cos`` and ``sin``
take rational multiples of pi; a square root takes a non-negative number. Every value must be a finite real number.
Limits keep a hostile string from exhausting time or memory: its length, its nesting depth, the size of exponents,
of the integers that roots are taken of and of every intermediate number (see the constants below).

Examples
--------
>>> parse_exact("-sqrt(3)/2 + 1")
1 - sqrt(3)/2
>>> parse_exact("cos(2*pi/5)"), parse_exact("2^(1/3) * 2**(2/3)"), parse_exact("1.25e-1")
(-1/4 + sqrt(5)/4, 2, 1/8)
>>> format_exact(parse_exact("sqrt(sqrt(5)/8 + 5/8)"))
'sqrt(sqrt(5)/8 + 5/8)'
"""

from __future__ import annotations

import re

import sympy

__all__ = ["parse_exact", "format_exact", "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "MAX_BITS", "MAX_ROOT_BITS",
           "MAX_DECIMAL"]

#: Longest accepted text, in characters.
MAX_LENGTH = 2000
#: Deepest nesting of parentheses, functions, signs and powers.
MAX_DEPTH = 40
#: Largest numerator and denominator of an exponent.
MAX_EXPONENT = 100
#: Largest total bit size of the numbers inside any intermediate value.
MAX_BITS = 4096
#: Largest bit size of a numerator or denominator that a root (a fractional power) is taken of.
MAX_ROOT_BITS = 512
#: Largest decimal exponent (``1e400``) and number of digits in a decimal.
MAX_DECIMAL = 400

_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z]+)|(?P<op>\*\*|[-+*/^()])")
_FUNCTIONS = {"sqrt", "cos", "sin"}


def parse_exact(text: str) -> sympy.Expr:
    """The exact real number that ``text`` writes in the grammar above, as a sympy expression.

    Raises
    ------
    ValueError
        When ``text`` is not a string, breaks the grammar or a limit, or writes no finite real number (``sqrt(-1)``,
        ``1/0``); the message names the problem and where in ``text`` it is.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string such as \"sqrt(3)/2\", got {type(text).__name__} {text!r:.40}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"{len(text)} characters, more than the limit of {MAX_LENGTH}")
    value = _Parser(text).parse()
    if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or value.is_real is not True:
        raise ValueError(f"{text!r:.60} is not a finite real number")
    return value


def format_exact(value: sympy.Expr) -> str:
    """``value`` written in the grammar of :func:`parse_exact`, checked to read back as the same expression.

    Raises
    ------
    ValueError
        When ``value`` uses something the grammar cannot write (floats, ``exp``, ``acos``, symbols, ...).
    """
    text = sympy.sstr(value)
    try:
        same = parse_exact(text) == value
    except ValueError as err:
        raise ValueError(f"cannot write {text!r:.60} exactly: {err}. Fix: use integers, rationals, square roots, "
                         "rational powers, pi and cos/sin of rational multiples of pi.") from None
    if not same:
        raise ValueError(f"cannot write {text!r:.60} exactly: it reads back as another expression. Fix: simplify "
                         "the coordinate (sympy.nsimplify, sympy.radsimp) before saving.")
    return text


class _Parser:
    """One recursive-descent pass over one string; every value is checked as soon as it is built."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str, int]]:
        tokens = []
        at = _SPACE.match(text).end()
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None:
                raise ValueError(f"unexpected character {text[at]!r} at position {at}: only numbers, + - * / ^ **, "
                                 "parentheses, pi, sqrt, cos and sin are allowed")
            tokens.append((match.lastgroup, match.group(), at))
            at = _SPACE.match(text, match.end()).end()
        return tokens

    def parse(self) -> sympy.Expr:
        if not self.tokens:
            raise ValueError("empty: expected a number such as 0, 1/2 or sqrt(3)/2")
        value = self._expr()
        if self.pos < len(self.tokens):
            _, token, at = self.tokens[self.pos]
            raise ValueError(f"unexpected {token!r} at position {at}")
        return value

    # -- tokens -------------------------------------------------------------------------------------------------

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str, int]:
        if self.pos >= len(self.tokens):
            raise ValueError(f"unexpected end of {self.text!r:.60}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _expect(self, op: str) -> None:
        _, token, at = self._take()
        if token != op:
            raise ValueError(f"expected {op!r} at position {at}, found {token!r}")

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")

    # -- grammar ------------------------------------------------------------------------------------------------

    def _expr(self) -> sympy.Expr:
        value = self._term()
        while self._peek() in ("+", "-"):
            op = self._take()[1]
            right = self._term()
            value = _checked(value + right if op == "+" else value - right)
        return value

    def _term(self) -> sympy.Expr:
        value = self._unary()
        while self._peek() in ("*", "/"):
            _, op, at = self._take()
            right = self._unary()
            if op == "/" and _is_zero(right):
                raise ValueError(f"division by zero at position {at}")
            value = _checked(value * right if op == "*" else value / right)
        return value

    def _unary(self) -> sympy.Expr:
        if self._peek() in ("+", "-"):
            op = self._take()[1]
            self._deeper()
            value = self._unary()
            self.depth -= 1
            return -value if op == "-" else value
        return self._power()

    def _power(self) -> sympy.Expr:
        base = self._atom()
        if self._peek() not in ("^", "**"):
            return base
        at = self._take()[2]
        self._deeper()
        exponent = self._unary()
        self.depth -= 1
        return _power(base, exponent, at)

    def _atom(self) -> sympy.Expr:
        kind, token, at = self._take()
        if kind == "number":
            return _number(token, at)
        if token == "(":
            self._deeper()
            value = self._expr()
            self._expect(")")
            self.depth -= 1
            return value
        if kind == "name" and token == "pi":
            return sympy.pi
        if kind == "name" and token in _FUNCTIONS:
            self._expect("(")
            self._deeper()
            argument = self._expr()
            self._expect(")")
            self.depth -= 1
            return _function(token, argument, at)
        if kind == "name":
            raise ValueError(f"unknown name {token!r} at position {at}: only pi, sqrt, cos and sin are allowed")
        raise ValueError(f"unexpected {token!r} at position {at}")


def _number(token: str, at: int) -> sympy.Rational:
    """A decimal literal as the exact rational it writes, within :data:`MAX_DECIMAL`."""
    mantissa, _, exponent = token.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    if len(whole) + len(fraction) > MAX_DECIMAL or len(exponent) > 6 or abs(int(exponent or 0)) > MAX_DECIMAL:
        raise ValueError(f"number at position {at} is too long or its exponent too large (limit {MAX_DECIMAL} "
                         f"digits and e±{MAX_DECIMAL})")
    scale = int(exponent or 0) - len(fraction)
    digits = int(whole + fraction)
    return sympy.Integer(digits * 10 ** scale) if scale >= 0 else sympy.Rational(digits, 10 ** -scale)


def _power(base: sympy.Expr, exponent: sympy.Expr, at: int) -> sympy.Expr:
    """``base ** exponent`` for a small rational exponent, refused before sympy would compute something huge."""
    if not exponent.is_Rational:
        raise ValueError(f"the exponent at position {at} must be a rational number such as 2 or 1/3, got "
                         f"{sympy.sstr(exponent)!r:.40}")
    if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
        raise ValueError(f"the exponent {exponent} at position {at} is too large (numerator and denominator at most "
                         f"{MAX_EXPONENT})")
    if _is_zero(base) and exponent.is_negative:
        raise ValueError(f"zero to a negative power at position {at}")
    if abs(exponent.p) * _bits(base) > MAX_BITS:
        raise ValueError(f"the power at position {at} would be too large (more than {MAX_BITS} bits)")
    if exponent.q > 1:
        _check_root(base, at)
    return _checked(sympy.Pow(base, exponent))


def _function(name: str, argument: sympy.Expr, at: int) -> sympy.Expr:
    """``sqrt`` of a non-negative number; ``cos``/``sin`` of a rational multiple of pi."""
    if name == "sqrt":
        _check_root(argument, at)
        return _checked(sympy.sqrt(argument))
    turn = argument / sympy.pi
    if not turn.is_Rational or turn.q > 10 ** 6 or abs(turn.p) > 10 ** 6 * turn.q:
        raise ValueError(f"{name}(...) at position {at} takes a rational multiple of pi such as 2*pi/5, got "
                         f"{sympy.sstr(argument)!r:.40}")
    return _checked(sympy.cos(argument) if name == "cos" else sympy.sin(argument))


def _check_root(radicand: sympy.Expr, at: int) -> None:
    """A root is taken of a non-negative number whose rational parts are small enough to factor quickly."""
    negative = radicand.is_negative
    if negative is None and radicand.is_real:
        negative = sympy.N(radicand, 50) < 0
    if negative or radicand.is_real is not True:
        raise ValueError(f"root of a negative or non-real number at position {at}")
    big = [r for r in radicand.atoms(sympy.Rational) if max(abs(r.p), r.q).bit_length() > MAX_ROOT_BITS]
    if big:
        raise ValueError(f"root at position {at} of a number with more than {MAX_ROOT_BITS} bits")


def _is_zero(value: sympy.Expr) -> bool:
    """Whether ``value`` is zero, deciding sympy's undecided cases numerically (50 digits)."""
    zero = value.is_zero
    return bool(zero) if zero is not None else bool(abs(sympy.N(value, 50)) < sympy.Float("1e-45", 50))


def _bits(value: sympy.Expr) -> int:
    """The total bit size of the rational numbers inside ``value`` (at least 1)."""
    return max(1, sum(abs(r.p).bit_length() + r.q.bit_length() for r in value.atoms(sympy.Rational)))


def _checked(value: sympy.Expr) -> sympy.Expr:
    """``value``, unless its numbers have grown past :data:`MAX_BITS`."""
    if _bits(value) > MAX_BITS:
        raise ValueError(f"a value grows past the limit of {MAX_BITS} bits")
    return value
