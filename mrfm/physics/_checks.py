"""Argument checks shared by the physics classes."""

from __future__ import annotations

import math
from typing import Any


def positive(value: Any, name: str, unit: str = "") -> float:
    """``value`` as a finite float > 0, else ValueError naming ``name`` (and ``unit``)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name}: value {value!r} must be finite and > 0 {unit}".rstrip())
    return x
