"""Unit parsing at the edges: strings such as ``"110 uN/m"`` become SI floats.

One pint registry serves the whole package (:mod:`mrfm.unit_registry`); it is created on
first use and is read-only afterwards (parsing does not mutate it).
"""

from __future__ import annotations

import math
import re
import sys
from functools import lru_cache
from typing import Any

import numpy as np

from mrfm.errors import ConfigError
from mrfm.unit_registry import lookup_unit, pint_module, registry

#: Physical dimensions accepted by :func:`parse_quantity`, as pint unit strings in SI.
SI_UNITS: dict[str, str] = {
    "dimensionless": "",
    "length": "m",
    "time": "s",
    "frequency": "Hz",
    "magnetic_field": "T",
    "field_gradient": "T/m",
    "force": "N",
    "spring_constant": "N/m",
    "temperature": "K",
    "pressure": "Pa",
    "number_density": "1/m**3",
    "voltage": "V",
    "current": "A",
    "power": "W",
    "angle": "rad",
    "velocity": "m/s",
    "field_rate": "T/s",
    "temperature_rate": "K/s",
    "mass_density": "kg/m**3",
    "power_dbm": "",  # handled specially: "10 dBm" or a bare number in dBm
}


#: longest quantity string accepted ("110 uN/m" is 8 characters); longer text is refused
#: before any parsing, so parsing time is bounded
MAX_QUANTITY_CHARS = 64

#: a decimal number (no expressions): "110", "-1.5", ".5", "5e28", "1E-7"
_NUMBER = re.compile(
    r"\s*([+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?|(?i:nan|inf(?:inity)?)))"
)
#: one unit name: letters (including µ, μ, Ω, Å, °, %) and underscores, at most 24 characters
_UNIT_NAME = re.compile(r"[A-Za-zµμΩÅ°%_]{1,24}")
#: an integer exponent after a unit name: "^-3", "^2", "**3"
_EXPONENT = re.compile(r"\s*(?:\^|\*\*)\s*([+-]?\d{1,2})")
#: largest |exponent| of one unit factor
_MAX_EXPONENT = 12

#: What a unit string may look like, for error messages.
QUANTITY_FORM = ("a number and a unit such as '110 uN/m', '5e28 m^-3' or '2 µm' "
                 f"(letters, ^, *, /, integer exponents; at most {MAX_QUANTITY_CHARS} characters)")

#: Plausible magnitudes (SI) of a non-zero value of each dimension: far outside any physical
#: instrument or sample these ranges are refused (a spring constant of 1e-300 N/m is a typo,
#: not a cantilever). The bounds are deliberately generous, many decades beyond real values.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "dimensionless": (1e-30, 1e30),
    "length": (1e-18, 1e6),
    "time": (1e-18, 1e9),
    "frequency": (1e-12, 1e18),
    "magnetic_field": (1e-18, 1e4),
    "field_gradient": (1e-12, 1e12),
    "force": (1e-30, 1e6),
    "spring_constant": (1e-12, 1e9),
    "temperature": (1e-9, 1e6),
    "pressure": (1e-18, 1e12),
    "number_density": (1e-3, 1e33),
    "voltage": (1e-18, 1e7),
    "current": (1e-18, 1e6),
    "power": (1e-24, 1e9),
    "angle": (1e-15, 1e9),
    "velocity": (1e-24, 3e8),
    "field_rate": (1e-15, 1e9),
    "temperature_rate": (1e-15, 1e6),
    "mass_density": (1e-9, 1e6),
}


def shorten(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (for one-line error messages)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


class UnitError(ConfigError):
    """A value whose unit or physical dimension is wrong."""


def parse_quantity(value: Any, dimension: str, field: str = "value") -> float:
    """Convert ``value`` to a float in the SI unit of ``dimension``.

    Parameters
    ----------
    value : str, int, float or pint.Quantity
        ``"110 uN/m"``, ``"1e-7 mbar"``, a bare number (taken as SI already), or a
        scalar pint Quantity of any registry (``ureg.Quantity(300, "gauss")``).
        A string is a number followed by a unit (see :func:`parse_text`); it is
        never evaluated as an expression.
    dimension : str
        A key of :data:`SI_UNITS` (``"spring_constant"``, ``"length"``, ...).
    field : str
        The field path used in error messages (``"cantilever.k"``).

    Returns
    -------
    float
        The value in SI units.

    Raises
    ------
    UnitError
        If the value cannot be parsed, has the wrong dimension, is not finite, or its
        magnitude lies far outside :data:`PLAUSIBLE` for the dimension.
    """
    if dimension not in SI_UNITS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a quantity in {_unit_label(dimension)}, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if abs(int(value)) > 10**308:
            raise UnitError(f"{field}: value {shorten(value)} is too large")
        number = float(value)
    elif isinstance(value, (float, np.floating)):
        number = float(value)
    elif isinstance(value, str):
        number = _parse_string(value, dimension, field)
    elif is_quantity(value):
        number = _convert(quantity_of(value, field), value, dimension, field)
    else:
        raise UnitError(
            f"{field}: expected a number, a pint Quantity or a string with units "
            f"({_unit_label(dimension)}), "
            f"got {type(value).__name__} {shorten(value)}"
        )
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {shorten(value)} is not a finite number")
    _check_plausible(number, value, dimension, field)
    return number


def _check_plausible(number: float, value: Any, dimension: str, field: str) -> None:
    if dimension == "power_dbm":
        lo_dbm, hi_dbm = -300.0, 100.0
        if not lo_dbm <= number <= hi_dbm:
            raise UnitError(f"{field}: value {shorten(value)} is outside the plausible range "
                            f"[{lo_dbm:g}, {hi_dbm:g}] dBm")
        return
    lo, hi = PLAUSIBLE[dimension]
    if number != 0.0 and not lo <= abs(number) <= hi:
        raise UnitError(
            f"{field}: value {shorten(value)} ({number:.3g} {_unit_label(dimension)}) is far "
            f"outside any plausible {dimension.replace('_', ' ')}; allowed magnitudes "
            f"{lo:g} to {hi:g} {_unit_label(dimension)} (or 0)"
        )


def _unit_label(dimension: str) -> str:
    unit = SI_UNITS[dimension]
    if dimension == "power_dbm":
        return "dBm"
    return unit if unit else "a dimensionless number"


def parse_text(text: str, field: str = "value") -> Any:
    """Read ``text`` (a number, optionally followed by a unit) as a pint Quantity.

    The grammar is deliberately plain: ``NUMBER [UNIT {("*" | "/" | " ") UNIT}]`` where
    ``UNIT`` is a unit name (letters, µ, Ω, °, %, at most 24 characters) with an optional
    integer exponent (``^-3``, ``**2``, ``|exponent| <= 12``), and a leading ``1/`` is
    allowed (``"1/m^3"``). Parentheses, nested powers and anything else are refused; the
    text is at most :data:`MAX_QUANTITY_CHARS` characters, so parsing time is bounded.
    Each unit name is looked up in the pint registry on its own; nothing is evaluated.

    Raises
    ------
    UnitError
        If the text does not follow the grammar or names an unknown unit.
    """
    if not isinstance(text, str):
        raise UnitError(f"{field}: expected {QUANTITY_FORM}, got {shorten(text)}")
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"{field}: value {shorten(text)} is too long; expected {QUANTITY_FORM}")
    match = _NUMBER.match(text)
    if match is None:
        raise UnitError(f"{field}: cannot read {shorten(text)}; expected {QUANTITY_FORM}")
    number = float(match.group(1))
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {shorten(text)} is not a finite number")
    factors = _unit_factors(text, match.end(), field)
    ureg = registry()
    unit = ureg.Unit("dimensionless")
    try:
        for name, exponent in factors:
            unit = unit * _unit(name) ** exponent
        return ureg.Quantity(number, unit)
    except UnitError:
        raise
    except Exception:  # noqa: BLE001 - pint raises many types for odd unit combinations
        raise UnitError(f"{field}: cannot read {shorten(text)}; expected {QUANTITY_FORM}") from None


def _unit_factors(text: str, pos: int, field: str) -> list[tuple[str, int]]:
    """``(name, exponent)`` of each unit factor of ``text`` from ``pos`` (signs applied)."""
    factors: list[tuple[str, int]] = []
    sign = 1
    need_unit = False
    i, n = pos, len(text)
    fail = UnitError(f"{field}: cannot read {shorten(text)}; expected {QUANTITY_FORM}")
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "*/" and text[i:i + 2] != "**":
            if need_unit or (ch == "*" and not factors):
                raise fail
            sign = -1 if ch == "/" else 1
            need_unit = True
            i += 1
            continue
        m = _UNIT_NAME.match(text, i)
        if m is None:
            raise fail
        i = m.end()
        exponent = 1
        e = _EXPONENT.match(text, i)
        if e is not None:
            exponent = int(e.group(1))
            i = e.end()
            if abs(exponent) > _MAX_EXPONENT:
                raise UnitError(f"{field}: exponent {exponent} in {shorten(text)} is too large; "
                                f"at most {_MAX_EXPONENT}")
        if i < n and not (text[i].isspace() or (text[i] in "*/" and text[i:i + 2] != "**")):
            raise fail
        factors.append((m.group(0), sign * exponent))
        need_unit = False
    if need_unit:
        raise fail
    return factors


def _unit(name: str) -> Any:
    """The pint unit called ``name`` (one identifier: no expression is parsed)."""
    try:
        return lookup_unit(name)
    except LookupError:
        raise UnitError(f"unknown unit {name!r}") from None


def _parse_string(text: str, dimension: str, field: str) -> float:
    stripped = text.strip()
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"{field}: value {shorten(text)} is too long; expected {QUANTITY_FORM}")
    if dimension == "power_dbm":
        if stripped.lower().endswith("dbm"):
            stripped = stripped[:-3].strip()
        if _NUMBER.fullmatch(stripped) is None:
            raise UnitError(f"{field}: cannot read {shorten(text)} as a power in dBm "
                            "(e.g. '-10 dBm')")
        return float(stripped)
    try:
        quantity = parse_text(stripped, field)
    except UnitError as exc:
        message = str(exc)
        if message.startswith("unknown unit"):
            raise UnitError(f"{field}: {message} in {shorten(text)}; expected "
                            f"{_unit_label(dimension)}") from None
        raise
    return _convert(quantity, text, dimension, field)


def _convert(quantity: Any, value: Any, dimension: str, field: str) -> float:
    """``quantity`` (of :func:`registry`) as a float in the SI unit of ``dimension``."""
    pint = pint_module()

    target = SI_UNITS[dimension]
    if dimension == "power_dbm":
        raise UnitError(f"{field}: give a power as '-10 dBm' or a number in dBm, "
                        f"not {shorten(value)}")
    try:
        converted = quantity.to(target) if target else quantity.to("dimensionless")
    except pint.errors.DimensionalityError:
        raise UnitError(
            f"{field}: {shorten(value)} has dimension {quantity.dimensionality}, "
            f"expected {dimension.replace('_', ' ')} ({_unit_label(dimension)})"
        ) from None
    except Exception:  # noqa: BLE001 - offset units in products and similar
        raise UnitError(f"{field}: cannot convert {shorten(value)} to "
                        f"{_unit_label(dimension)}") from None
    magnitude = converted.magnitude
    if isinstance(magnitude, complex) or not np.isscalar(magnitude):
        raise UnitError(f"{field}: {shorten(value)} is not a real scalar")
    return float(magnitude)


def is_quantity(value: object) -> bool:
    """True for a pint Quantity of any registry (without importing pint: before pint is
    imported, no Quantity exists)."""
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(value, pint.Quantity)


def quantity_of(value: Any, field: str = "value") -> Any:
    """A scalar pint Quantity of any registry rebuilt in :func:`registry`.

    Each unit name is looked up on its own (as in :func:`parse_text`), so a
    foreign registry's ``gauss`` becomes 1e-4 T here.

    Raises
    ------
    UnitError
        Not a real, finite scalar, or a unit name this registry does not know.
    """
    magnitude = value.magnitude
    if isinstance(magnitude, (bool, complex, np.complexfloating)) or not np.isscalar(magnitude):
        raise UnitError(f"{field}: Quantity {shorten(value)} is not a real scalar")
    try:
        number = float(magnitude)
    except (TypeError, ValueError):
        raise UnitError(f"{field}: Quantity {shorten(value)} is not a real scalar") from None
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {shorten(value)} is not a finite number")
    ureg = registry()
    unit = ureg.Unit("dimensionless")
    for name, exponent in value.unit_items():
        try:
            unit = unit * _unit(str(name)) ** exponent
        except UnitError as exc:
            raise UnitError(f"{field}: {exc} in {shorten(value)}") from None
    return ureg.Quantity(number, unit)


def parse_si(value: Any, field: str = "value") -> tuple[float, str]:
    """A number or a unit string in SI base units, with its dimensionality as text.

    ``"20 nm"`` -> ``(2e-08, "[length]")``; a bare number -> ``(value, "")``.
    For settings whose dimension is only known later (``[dataset] vary``).

    Raises
    ------
    UnitError
        Unreadable or non-finite.
    """
    if is_quantity(value):
        value_q = quantity_of(value, field)
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnitError(f"{field}: expected a number or {QUANTITY_FORM}, got {shorten(value)}")
    if is_quantity(value) or isinstance(value, str):
        q = value_q if is_quantity(value) else parse_text(value.strip(), field)
        try:
            base = q.to_base_units()
        except Exception:  # noqa: BLE001
            raise UnitError(f"{field}: cannot convert {shorten(value)} to SI") from None
        number, dims = float(base.magnitude), str(base.dimensionality)
        dims = "" if dims == "dimensionless" else dims
    else:
        if isinstance(value, int) and abs(value) > 10**308:
            raise UnitError(f"{field}: value {shorten(value)} is too large")
        number, dims = float(value), ""
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {shorten(value)} is not a finite number")
    return number, dims


def parse_in_unit(value: Any, unit: str, field: str = "value") -> float:
    """A number (taken in ``unit``) or a unit string converted to ``unit`` (e.g. ``"N/V"``).

    Raises
    ------
    UnitError
        Unreadable, wrong dimension or not finite.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) or is_quantity(value):
        q = (quantity_of(value, field) if is_quantity(value)
             else parse_text(value.strip(), field))
        try:
            number = float(q.to(_target(unit)).magnitude)
        except Exception:  # noqa: BLE001 - dimensionality and offset errors
            raise UnitError(f"{field}: cannot read {shorten(value)} as a quantity in {unit}"
                            ) from None
    else:
        raise UnitError(f"{field}: expected a number or a string in {unit}, got "
                        f"{shorten(value)}")
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {shorten(value)} is not a finite number")
    return number


@lru_cache(maxsize=64)
def _target(unit: str) -> Any:
    q = parse_text(f"1 {unit}", "unit")
    return q.units
