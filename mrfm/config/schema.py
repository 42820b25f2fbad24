"""Declarative validation of configuration sections.

A section is a frozen dataclass whose fields carry a :func:`spec` in their
metadata: the kind of value, its physical dimension and its allowed range.
:func:`parse_section` turns a TOML table into that dataclass, converting unit
strings to SI floats and raising :class:`ConfigError` naming the field path,
the value and what is allowed. Unknown keys are rejected with a "did you mean"
hint. Every section of the experiment file is declared this way in
``mrfm.config`` (the optional ones in :mod:`mrfm.config.timeseries`,
:mod:`mrfm.config.plan`, :mod:`mrfm.config.dataset` and
:mod:`mrfm.config.reconstruction`).

Example
-------
>>> from dataclasses import dataclass, field
>>> @dataclass(frozen=True)
... class Drive:
...     amplitude: float = field(default=1e-8, metadata=spec("quantity", dimension="length", min=0))
>>> parse_section(Drive, {"amplitude": "16 nm"}, "drive").amplitude
1.6e-08
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict, TypeVar

import numpy as np

from mrfm.errors import ConfigError
from mrfm.units import SI_UNITS, parse_quantity

KINDS = (
    "quantity",  # float in SI of `dimension`
    "int",
    "bool",
    "choice",  # str among `choices`
    "str",
    "vector",  # `length` quantities (a list), tuple of floats
    "quantity_or_vector",  # scalar (along +z) or 3-vector, returned as tuple of 3 floats
    "axis",  # a single quantity or [start, stop, count] -> 1-D ndarray
    "quantity_list",  # list of quantities -> tuple of floats
    "str_list",  # a string or a list of strings -> tuple of str
    "raw",  # any TOML value, validated by the owner
)

T = TypeVar("T")

#: A value of a TOML document (what an experiment file or a catalogue entry holds).
TomlValue: TypeAlias = "str | int | float | bool | list[TomlValue] | dict[str, TomlValue]"


class FieldSpec(TypedDict):
    """What :func:`spec` records about one field (see its parameters)."""

    kind: str
    dimension: str
    min: float | None
    max: float | None
    min_exclusive: bool
    choices: tuple[str, ...] | None
    length: int | None
    max_count: int
    doc: str


def spec(
    kind: str,
    *,
    dimension: str = "dimensionless",
    min: float | None = None,  # noqa: A002 - reads naturally in field declarations
    max: float | None = None,  # noqa: A002
    min_exclusive: bool = False,
    choices: Sequence[str] | None = None,
    length: int | None = None,
    max_count: int = 100_000,
    doc: str = "",
) -> dict[str, FieldSpec]:
    """Metadata describing one configuration field (use as ``field(metadata=spec(...))``).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    dimension : str
        Physical dimension (a key of :data:`mrfm.units.SI_UNITS`) for quantity kinds.
    min, max : float, optional
        Allowed range in SI; ``min_exclusive`` makes the lower bound strict (``k > 0``).
    choices : sequence of str, optional
        Allowed values for ``kind="choice"`` (compared case-insensitively, returned as listed).
    length : int, optional
        Required length for ``kind="vector"``.
    max_count : int
        Largest point count of an ``axis``.
    doc : str
        One line shown in error messages and documentation.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown spec kind {kind!r}")
    if dimension not in SI_UNITS:
        raise ValueError(f"unknown dimension {dimension!r}")
    return {
        "mrfm_spec": FieldSpec(
            kind=kind,
            dimension=dimension,
            min=min,
            max=max,
            min_exclusive=min_exclusive,
            choices=tuple(choices) if choices else None,
            length=length,
            max_count=max_count,
            doc=doc,
        )
    }


def quantity(
    dimension: str,
    default: float | None = None,
    *,
    min: float | None = None,  # noqa: A002 - as in spec()
    max: float | None = None,  # noqa: A002
    min_exclusive: bool = False,
    doc: str = "",
) -> Any:
    """A dataclass field holding a quantity of ``dimension`` in SI (None: optional).

    The limits are those of :func:`spec`. Returns :func:`dataclasses.field` (as loosely
    typed as it, so the field's annotation states the type).
    """
    return dataclasses.field(default=default, metadata=spec(
        "quantity", dimension=dimension, min=min, max=max, min_exclusive=min_exclusive, doc=doc))


def suggest(name: str, known: Sequence[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def reject_unknown(table: Mapping[str, object], known: Sequence[str], path: str) -> None:
    """Raise ConfigError for the first key of ``table`` not in ``known``."""
    for key in table:
        if key not in known:
            # a key as written in TOML (quoted keys may hold anything, newlines included)
            shown = key if key.replace("_", "").replace("-", "").isalnum() else repr(key[:40])
            where = f"{path}.{shown}" if path else shown
            allowed = ", ".join(sorted(known))
            raise ConfigError(
                f"{where}: unknown key{suggest(key, known)}; allowed keys here: {allowed}"
            )


def section_fields(cls: type) -> dict[str, dataclasses.Field]:
    """Return the fields of a section dataclass that carry a spec, by name."""
    return {f.name: f for f in dataclasses.fields(cls) if "mrfm_spec" in f.metadata}


def parse_section(
    cls: type[T], table: object, path: str, *, extra_known: Sequence[str] = ()
) -> T:
    """Validate ``table`` against the spec'd fields of dataclass ``cls`` and build it.

    Keys named in ``extra_known`` are accepted and ignored (the caller handles them).
    Missing fields take their dataclass defaults; a missing field without a default
    raises ConfigError.
    """
    table = {} if table is None else table
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: expected a table of settings, got {_show(table)}")
    fields = section_fields(cls)
    reject_unknown(table, list(fields) + list(extra_known), path)
    values: dict[str, object] = {}
    for name, fld in fields.items():
        where = f"{path}.{name}" if path else name
        if name in table:
            values[name] = convert(table[name], fld.metadata["mrfm_spec"], where)
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: required setting is missing ({_describe(fld)})")
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:  # cross-field checks in __post_init__
        raise ConfigError(f"{path}: {exc}") from None


def _describe(fld: dataclasses.Field) -> str:
    sp = fld.metadata["mrfm_spec"]
    parts = [sp["doc"]] if sp["doc"] else []
    if sp["kind"] in ("quantity", "vector", "quantity_or_vector", "axis", "quantity_list"):
        unit = SI_UNITS[sp["dimension"]] or "dimensionless"
        parts.append(f"a {sp['dimension'].replace('_', ' ')} in {unit}")
    elif sp["choices"]:
        parts.append("one of " + ", ".join(sp["choices"]))
    else:
        parts.append(sp["kind"])
    return "; ".join(parts)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _range_text(sp: FieldSpec) -> str:
    unit = SI_UNITS.get(sp["dimension"], "")
    unit = f" {unit}" if unit else ""
    lo, hi = sp["min"], sp["max"]
    if lo is not None and hi is not None:
        left = "(" if sp["min_exclusive"] else "["
        return f"allowed range {left}{lo:g}, {hi:g}]{unit}"
    if lo is not None:
        return f"must be {'>' if sp['min_exclusive'] else '>='} {lo:g}{unit}"
    if hi is not None:
        return f"must be <= {hi:g}{unit}"
    return ""


def check_range(number: float, sp: FieldSpec, where: str, raw: object) -> float:
    """Raise ConfigError if ``number`` is outside the spec's range."""
    if not math.isfinite(number):
        raise ConfigError(f"{where}: value {_show(raw)} is not a finite number")
    lo, hi = sp["min"], sp["max"]
    bad_low = lo is not None and (number <= lo if sp["min_exclusive"] else number < lo)
    bad_high = hi is not None and number > hi
    if bad_low or bad_high:
        raise ConfigError(f"{where}: value {_show(raw)} is out of range; {_range_text(sp)}")
    return number


def convert(raw: object, sp: FieldSpec, where: str) -> object:
    """Convert one raw TOML value according to spec ``sp`` (see :func:`spec`)."""
    kind = sp["kind"]
    if kind == "raw":
        return raw
    if kind == "quantity":
        return check_range(parse_quantity(raw, sp["dimension"], where), sp, where, raw)
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, np.integer)):
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            else:
                raise ConfigError(f"{where}: expected an integer, got {_show(raw)}")
        check_range(float(raw), sp, where, raw)
        return int(raw)
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, got {_show(raw)}")
        return raw
    if kind == "str":
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: expected a string, got {_show(raw)}")
        return raw
    if kind == "choice":
        choices = sp["choices"] or ()
        if isinstance(raw, str):
            for choice in choices:
                if raw.lower() == choice.lower():
                    return choice
        hint = suggest(str(raw), choices)
        raise ConfigError(
            f"{where}: unknown value {_show(raw)}{hint}; allowed: {', '.join(choices)}"
        )
    if kind == "str_list":
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(s, str) for s in items):
            raise ConfigError(f"{where}: expected a string or a list of strings, got {_show(raw)}")
        return tuple(items)
    if kind in ("vector", "quantity_list"):
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{where}: expected a list of quantities, got {_show(raw)}")
        if sp["length"] is not None and len(raw) != sp["length"]:
            raise ConfigError(
                f"{where}: expected {sp['length']} values, got {len(raw)} ({_show(raw)})"
            )
        return tuple(
            check_range(parse_quantity(v, sp["dimension"], f"{where}[{i}]"), sp, where, v)
            for i, v in enumerate(raw)
        )
    if kind == "quantity_or_vector":
        if isinstance(raw, list):
            if len(raw) != 3:
                raise ConfigError(f"{where}: expected a scalar or 3 values, got {_show(raw)}")
            vec = tuple(
                parse_quantity(v, sp["dimension"], f"{where}[{i}]") for i, v in enumerate(raw)
            )
            check_range(float(np.linalg.norm(vec)), sp, where, raw)
            return vec
        value = check_range(parse_quantity(raw, sp["dimension"], where), sp, where, raw)
        return (0.0, 0.0, value)
    if kind == "axis":
        return _convert_axis(raw, sp, where)
    raise ValueError(f"unhandled spec kind {kind!r}")


def _convert_axis(raw: object, sp: FieldSpec, where: str) -> np.ndarray:
    if isinstance(raw, list):
        if len(raw) != 3:
            raise ConfigError(
                f"{where}: expected a single value or [start, stop, count], got {_show(raw)}"
            )
        start, stop = (
            check_range(parse_quantity(raw[i], sp["dimension"], f"{where}[{i}]"), sp, where, raw[i])
            for i in (0, 1)
        )
        count = raw[2]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"{where}: count {_show(count)} must be an integer >= 1")
        if count > sp["max_count"]:
            raise ConfigError(
                f"{where}: count {count} is out of range; allowed range [1, {sp['max_count']}]"
            )
        if count > 1 and start == stop:
            raise ConfigError(f"{where}: start and stop are equal but count is {count}")
        return np.linspace(start, stop, count)
    value = check_range(parse_quantity(raw, sp["dimension"], where), sp, where, raw)
    return np.array([value])
