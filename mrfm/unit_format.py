"""SI values written with engineering prefixes, for tables and plot labels (``1.2 aN``)."""

from __future__ import annotations

import math

#: engineering prefixes by power of ten (yocto to tera)
PREFIXES = {
    -24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m",
    0: "", 3: "k", 6: "M", 9: "G", 12: "T",
}


def _exponent(value: float) -> int:
    """The power of ten, a multiple of 3 in [-24, 12], that puts |value| in [1, 1000)."""
    exponent = int(math.floor(math.log10(abs(value)) / 3) * 3)
    return max(-24, min(12, exponent))


def format_quantity(value: float, unit: str, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix, e.g. ``format_quantity(1.2e-18, "N")``.

    Returns ``"1.2 aN"``. Used for human-readable tables and plot labels.
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = _exponent(value)
    scaled = value / 10.0**exponent
    return f"{scaled:.{digits}g} {PREFIXES[exponent]}{unit}"


def engineering_scale(max_abs: float) -> tuple[float, str]:
    """Return ``(factor, prefix)`` so that ``max_abs * factor`` lies in [1, 1000).

    Used by plots to label axes in aN, mHz, nm, ...
    """
    if max_abs == 0 or not math.isfinite(max_abs):
        return 1.0, ""
    exponent = _exponent(max_abs)
    return 10.0 ** (-exponent), PREFIXES[exponent]
