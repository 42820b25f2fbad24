"""Reply parsing and set-point validation shared by the drivers.

Parsers turn a reply's text into a value and raise ValueError on anything else (so a
garbled reply is never taken for a number); validators check a set-point against the
instrument's range and raise :class:`~mrfm.drivers.errors.LimitError` before anything
is written; :class:`ValueMap` translates index-coded settings.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mrfm.drivers.errors import LimitError

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")


# ---------------------------------------------------------------- reply parsing
def parse_float(text: str) -> float:
    """A finite decimal number (``+1.000E+03``, ``-0.5``); ValueError otherwise.

    Stricter than :func:`float`: ``nan``, ``inf``, ``1_0`` and empty text are refused,
    so a garbled reply is never taken for a number.
    """
    t = text.strip()
    if not _FLOAT.match(t):
        raise ValueError(f"not a number: {t[:60]!r}")
    return float(t)


def parse_int(text: str) -> int:
    """A decimal integer (a number with no fraction, such as ``+2`` or ``2.0``, is accepted)."""
    t = text.strip()
    if _INT.match(t):
        return int(t)
    value = parse_float(t)
    if value != int(value):
        raise ValueError(f"not an integer: {t[:60]!r}")
    return int(value)


def parse_bool(text: str) -> bool:
    """``1``/``0`` (also ``ON``/``OFF``) as a bool."""
    t = text.strip().upper()
    if t in ("1", "ON", "+1"):
        return True
    if t in ("0", "OFF", "+0"):
        return False
    raise ValueError(f"not a boolean: {t[:60]!r}")


def parse_csv(text: str, count: int | None = None) -> list[float]:
    """Comma-separated numbers; ``count`` (if given) must match."""
    values = [parse_float(p) for p in text.split(",")]
    if count is not None and len(values) != count:
        raise ValueError(f"expected {count} comma-separated numbers, got {len(values)}")
    return values


# ---------------------------------------------------------------- numbers out
def as_number(value: Any, name: str) -> float | int:
    """A set-point as a Python int or float: numpy scalars (``np.float32``, ``np.int64``)
    and other real numbers are accepted, a boolean never (``True`` is not ``1 Hz``);
    numeric text (``"1.5"``) is read as a float.

    Raises
    ------
    LimitError
        A boolean, or anything that is not a real number.
    """
    if isinstance(value, (bool, np.bool_)):
        raise LimitError(f"{name}: {value!r} is a boolean, not a number")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise LimitError(f"{name}: {value!r} is not a number")


def format_number(value: float | int) -> str:
    """A set-point's wire text with every digit it holds: ``{:.10g}`` when that is exact
    (``1000``, ``0.1``), else the shortest text that reads back as the same float
    (``2870000000.000001``: an SG384 frequency at its 1 uHz resolution, which ``.10g``
    would round to 2.87 GHz)."""
    if isinstance(value, int):
        return str(value)
    text = f"{value:.10g}"
    return text if float(text) == value else repr(float(value))


# ------------------------------------------------------------------- validators
class Validator:
    """Checks a set-point and returns it in the type that goes on the wire."""

    def __call__(self, value: Any, name: str) -> Any:
        raise LimitError(f"{name}: no values allowed")


class Range(Validator):
    """``lo <= value <= hi`` (closed interval); ``integer=True`` also requires an integer.

    Parameters
    ----------
    lo, hi : float
        Bounds, in the setting's unit.
    integer : bool
        Only whole numbers (returned as int).
    """

    def __init__(self, lo: float, hi: float, *, integer: bool = False) -> None:
        self.lo = lo
        self.hi = hi
        self.integer = integer

    def __call__(self, value: Any, name: str) -> float | int:
        value = as_number(value, name)
        if not math.isfinite(value):
            raise LimitError(f"{name}: {value!r} is not finite")
        if self.integer:
            if value != int(value):
                raise LimitError(f"{name}: {value!r} is not an integer")
            value = int(value)
        if not self.lo <= value <= self.hi:
            raise LimitError(f"{name}: {value:g} outside the instrument range "
                             f"[{self.lo:g}, {self.hi:g}]")
        return value

    def __repr__(self) -> str:
        return f"Range({self.lo!r}, {self.hi!r}, integer={self.integer})"


class OneOf(Validator):
    """One of a fixed set of values (strings compared without regard to case)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def __call__(self, value: Any, name: str) -> Any:
        for v in self.values:
            if isinstance(v, str) and isinstance(value, str):
                if v.upper() == value.strip().upper():
                    return v
            elif v == value and type(v) is type(value):
                return v
        raise LimitError(f"{name}: {value!r} is not one of {list(self.values)}")


class Bool(Validator):
    """A boolean switch sent as ``on``/``off`` tokens (``"ON"``/``"OFF"`` or ``"1"``/``"0"``)."""

    def __init__(self, on: str = "1", off: str = "0") -> None:
        self.on = on
        self.off = off

    def __call__(self, value: Any, name: str) -> str:
        if isinstance(value, bool) or value in (0, 1):
            return self.on if value else self.off
        raise LimitError(f"{name}: {value!r} is not True/False")


class ValueMap:
    """Physical value <-> wire code (a list whose index is the code, or a dict value -> code).

    Floats are matched to within a relative 1e-6 (``30e-3`` finds the 30 ms entry);
    anything not in the table raises :class:`LimitError` listing what is allowed.
    """

    def __init__(self, table: Sequence[Any] | Mapping[Any, Any]) -> None:
        if isinstance(table, Mapping):
            self.pairs = tuple(table.items())
        else:
            self.pairs = tuple((v, i) for i, v in enumerate(table))

    @property
    def values(self) -> tuple[Any, ...]:
        """The allowed physical values, in code order."""
        return tuple(v for v, _ in self.pairs)

    def encode(self, value: Any, name: str) -> Any:
        """Wire code of ``value``."""
        if not any(isinstance(v, bool) for v in self.values):
            value = as_number(value, name) if not isinstance(value, str) else value
        for v, code in self.pairs:
            if isinstance(v, bool) or isinstance(value, bool):
                if isinstance(v, bool) and isinstance(value, bool) and v == value:
                    return code
            elif isinstance(v, float) and isinstance(value, (int, float)):
                if math.isclose(v, value, rel_tol=1e-6, abs_tol=0.0):
                    return code
            elif isinstance(v, str) and isinstance(value, str):
                if v.lower() == value.strip().lower():
                    return code
            elif v == value:
                return code
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else repr(v) for v in self.values)
        raise LimitError(f"{name}: {value!r} is not an allowed value ({shown})")

    def decode(self, code: Any) -> Any:
        """Physical value of a wire code; ValueError for an unknown code."""
        for v, c in self.pairs:
            if c == code:
                return v
        raise ValueError(f"unknown code {code!r}")
