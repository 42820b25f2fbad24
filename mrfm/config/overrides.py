"""Dotted-key overrides of an experiment file (``{"cantilever.Q": 3e4}``).

An override value is what a TOML file could hold (a string with units such as
``"40 nm"``, a number in SI, a bool, a list or a table) or a pint ``Quantity`` from
any unit registry. A Quantity is written as its magnitude and unit names
(``Quantity(40, "nm")`` -> ``"40.0 nanometer"``), which the section's own unit
parser (:func:`mrfm.units.parse_quantity`) then reads and checks like any unit
string; the text is never evaluated.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from mrfm.config.schema import TomlValue, suggest
from mrfm.config.sections import TOP_LEVEL_KEYS
from mrfm.errors import ConfigError

if TYPE_CHECKING:
    import pint

#: An override value: a TOML value, a numpy number or a pint Quantity (any registry).
OverrideValue: TypeAlias = (
    "str | int | float | bool | np.number | pint.Quantity | Sequence[OverrideValue]"
    " | Mapping[str, OverrideValue]"
)


def parse_override_value(text: str) -> TomlValue:
    """Interpret a command-line override value: a TOML value if it parses, else a string.

    ``"3e4"`` -> 3e4, ``"[1, 2]"`` -> [1, 2], ``"true"`` -> True, ``"110 uN/m"`` -> "110 uN/m".
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def toml_value(value: object, where: str) -> TomlValue:
    """``value`` as a TOML value: Quantities become unit strings, numpy numbers Python ones.

    Raises
    ------
    ConfigError
        For a value that is neither a TOML value, a number nor a pint Quantity, or a
        Quantity with a complex or non-finite magnitude.
    """
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): toml_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [toml_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [toml_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    quantity = _as_quantity(value)
    if quantity is None:
        raise ConfigError(
            f"{where}: cannot use {type(value).__name__} {value!r} as a value; expected a "
            "string such as '40 nm', a number (SI), a list or a pint Quantity"
        )
    return _quantity_text(quantity, where)


def _as_quantity(value: object) -> pint.Quantity | None:
    """``value`` if it is a pint Quantity of any registry, else None."""
    from mrfm.units import is_quantity

    return value if is_quantity(value) else None


def _quantity_text(quantity: pint.Quantity, where: str) -> TomlValue:
    """A Quantity as ``"<magnitude> <unit>^<exponent> ..."`` (a list for an array)."""
    units = " ".join(
        name if exponent == 1 else f"{name}^{exponent:g}"
        for name, exponent in quantity.unit_items()
    )
    magnitude = np.asarray(quantity.magnitude)
    if magnitude.ndim > 1:
        raise ConfigError(f"{where}: a Quantity override must be a scalar or a 1-D array")
    if not np.isrealobj(magnitude) or not np.issubdtype(magnitude.dtype, np.number):
        raise ConfigError(f"{where}: Quantity magnitude {quantity.magnitude!r} is not a real "
                          "number")
    numbers = [float(m) for m in magnitude.reshape(-1)]
    for number in numbers:
        if not math.isfinite(number):
            raise ConfigError(f"{where}: Quantity magnitude {number!r} is not finite")
    texts: list[TomlValue] = [f"{n!r} {units}" if units else n for n in numbers]
    return texts[0] if magnitude.ndim == 0 else texts


def apply_overrides(
    raw: Mapping[str, TomlValue], overrides: Mapping[str, OverrideValue]
) -> dict[str, TomlValue]:
    """Return a deep copy of ``raw`` with dotted-key ``overrides`` applied.

    Values may be TOML values, numpy numbers or pint Quantities (see the module notes).
    """
    result: dict[str, TomlValue] = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or not dotted or any(not p for p in dotted.split(".")):
            raise ConfigError(f"override {dotted!r}: expected a dotted key such as cantilever.Q")
        parts = dotted.split(".")
        if parts[0] not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"{dotted}: unknown section {parts[0]!r}{suggest(parts[0], TOP_LEVEL_KEYS)}"
            )
        node = result
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if isinstance(child, str) and i == 0:  # `cantilever = "ibm-2004"` shorthand
                child = {"model": child}
            if child is None:
                child = {}
            if not isinstance(child, dict):
                raise ConfigError(f"{dotted}: {'.'.join(parts[: i + 1])} is not a table")
            node[part] = child
            node = child
        node[parts[-1]] = toml_value(value, dotted)
    return result


__all__ = ["OverrideValue", "TomlValue", "apply_overrides", "parse_override_value", "toml_value"]
