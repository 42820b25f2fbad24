"""Unit parsing at the edges: strings such as ``"110 uN/m"`` become SI floats.

One pint registry serves the whole package; it is created on first use and is
read-only afterwards (parsing does not mutate it).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import numpy as np

from mrfm.errors import ConfigError

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
    "mass_density": "kg/m**3",
    "power_dbm": "",  # handled specially: "10 dBm" or a bare number in dBm
}


#: characters a quantity string may hold ("110 uN/m", "1e22 m^-3", "4.2 K", "2 µm");
#: anything else (";", ",", quotes, control characters) is refused before pint sees it
_QUANTITY_TEXT = re.compile(r"[\w .+\-*/^()µΩ°%]+")


class UnitError(ConfigError):
    """A value whose unit or physical dimension is wrong."""


@lru_cache(maxsize=1)
def registry():
    """Return the package's pint UnitRegistry (created once)."""
    import pint

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # Spectroscopists write "ppm" and "percent"; pint knows both. Add "mbar" aliases pint lacks.
    return ureg


def parse_quantity(value: Any, dimension: str, field: str = "value") -> float:
    """Convert ``value`` to a float in the SI unit of ``dimension``.

    Parameters
    ----------
    value : str, int or float
        ``"110 uN/m"``, ``"1e-7 mbar"``, or a bare number (taken as SI already).
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
        If the value cannot be parsed, has the wrong dimension, or is not finite.
    """
    if dimension not in SI_UNITS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a quantity in {_unit_label(dimension)}, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    elif isinstance(value, str):
        number = _parse_string(value, dimension, field)
    else:
        raise UnitError(
            f"{field}: expected a number or a string with units ({_unit_label(dimension)}), "
            f"got {type(value).__name__} {value!r}"
        )
    if not math.isfinite(number):
        raise UnitError(f"{field}: value {value!r} is not a finite number")
    return number


def _unit_label(dimension: str) -> str:
    unit = SI_UNITS[dimension]
    if dimension == "power_dbm":
        return "dBm"
    return unit if unit else "a dimensionless number"


def _parse_string(text: str, dimension: str, field: str) -> float:
    import pint

    stripped = text.strip()
    if dimension == "power_dbm":
        if stripped.lower().endswith("dbm"):
            stripped = stripped[:-3].strip()
        try:
            return float(stripped)
        except ValueError:
            raise UnitError(f"{field}: cannot read {text!r} as a power in dBm") from None
    ureg = registry()
    if not _QUANTITY_TEXT.fullmatch(stripped):
        raise UnitError(f"{field}: cannot read {text!r} as a quantity")
    try:
        quantity = ureg.Quantity(stripped)
    except Exception:  # noqa: BLE001 - pint's parser raises many types (even AssertionError)
        raise UnitError(f"{field}: cannot read {text!r} as a quantity") from None
    target = SI_UNITS[dimension]
    if not isinstance(quantity, ureg.Quantity):  # a bare number inside a string: "3e4"
        quantity = ureg.Quantity(float(quantity))
    try:
        converted = quantity.to(target) if target else quantity.to("dimensionless")
    except pint.errors.DimensionalityError:
        raise UnitError(
            f"{field}: {text!r} has dimension {quantity.dimensionality}, "
            f"expected {dimension.replace('_', ' ')} ({_unit_label(dimension)})"
        ) from None
    magnitude = converted.magnitude
    if isinstance(magnitude, complex) or not np.isscalar(magnitude):
        raise UnitError(f"{field}: {text!r} is not a real scalar")
    return float(magnitude)


def format_quantity(value: float, unit: str, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix, e.g. ``format_quantity(1.2e-18, "N")``.

    Returns ``"1.2 aN"``. Used for human-readable tables and plot labels.
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    prefixes = {
        -24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m",
        0: "", 3: "k", 6: "M", 9: "G", 12: "T",
    }
    exponent = int(math.floor(math.log10(abs(value)) / 3) * 3)
    exponent = max(-24, min(12, exponent))
    scaled = value / 10.0**exponent
    return f"{scaled:.{digits}g} {prefixes[exponent]}{unit}"


def engineering_scale(max_abs: float) -> tuple[float, str]:
    """Return ``(factor, prefix)`` so that ``max_abs * factor`` lies in [1, 1000).

    Used by plots to label axes in aN, mHz, nm, ...
    """
    if max_abs == 0 or not math.isfinite(max_abs):
        return 1.0, ""
    prefixes = {
        -24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m",
        0: "", 3: "k", 6: "M", 9: "G", 12: "T",
    }
    exponent = int(math.floor(math.log10(abs(max_abs)) / 3) * 3)
    exponent = max(-24, min(12, exponent))
    return 10.0 ** (-exponent), prefixes[exponent]
