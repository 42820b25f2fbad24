"""Declarative settings and readings: a driver's body reads as a table of the manual.

:class:`Setting` is a read/write parameter (query, set template, unit, validator,
value map); :class:`Measurement` a read-only reading. Both are descriptors that talk
through the owning :class:`~mrfm.drivers.base.Instrument`'s ``ask`` and ``write``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mrfm.drivers.values import (
    Bool,
    OneOf,
    Range,
    Validator,
    ValueMap,
    format_number,
    parse_float,
    parse_int,
)


class Setting:
    """A read/write instrument parameter, declared as a row of the manual's table.

    Parameters
    ----------
    get_cmd : str or None
        Query, e.g. ``"FREQ?"``; ``{ch}``-style fields are filled from the
        driver's :meth:`Instrument.command_fields`.
    set_cmd : str or None
        Template with one ``{}`` for the value, e.g. ``"FREQ {}"``.
    unit : str
        SI unit of the Python value (documentation and messages).
    validator : Validator or callable
        Instrument range; a callable receives the driver and returns a Validator
        (for ranges that depend on the model).
    value_map : list or dict, optional
        Index-coded settings: list index (or dict value) is the wire code.
    parse : callable
        Turns the reply text into the wire value (default :func:`parse_float`;
        :func:`parse_int` when a value map is given).
    fmt : str
        Format of the wire value inside ``set_cmd`` (default for numbers:
        :func:`~mrfm.drivers.values.format_number`, every digit the value holds;
        ``"{:d}"`` for integers, ``"{}"`` for codes and text).
    limit : str or None
        Key of the per-instance ``limits`` that narrows this setting (default: the
        attribute's name); ``None`` disables it.
    limit_mode : {"range", "upper", "abs"}
        How a single number given as the limit is read: ``upper`` value <= n,
        ``abs`` \\|value\\| <= n; a (lo, hi) pair is always a closed range.
    check : bool
        Read the instrument's error report after the write.
    doc : str
        Docstring.
    """

    def __init__(
        self,
        get_cmd: str | None,
        set_cmd: str | None,
        *,
        unit: str = "",
        validator: Validator | Callable[[Any], Validator] | None = None,
        value_map: Sequence[Any] | Mapping[Any, Any] | None = None,
        parse: Callable[[str], Any] | None = None,
        fmt: str | None = None,
        limit: str | None = "",
        limit_mode: str = "range",
        check: bool = True,
        doc: str = "",
    ) -> None:
        self.get_cmd = get_cmd
        self.set_cmd = set_cmd
        self.unit = unit
        self.validator = validator
        self.value_map = ValueMap(value_map) if value_map is not None else None
        if parse is None:
            parse = parse_int if self.value_map is not None else parse_float
        self.parse = parse
        if fmt is None:
            fmt = "{}"  # numbers: format_number (see encode)
            if isinstance(validator, Range) and validator.integer:
                fmt = "{:d}"
            if isinstance(validator, (OneOf, Bool)):
                fmt = "{}"
        self.fmt = fmt
        self.limit = limit
        self.limit_mode = limit_mode
        self.check = check
        self.__doc__ = doc + (f" [{unit}]" if unit else "")
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.limit == "":
            self.limit = name

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        if inst is None:
            return self
        if self.get_cmd is None:
            raise AttributeError(f"{self.name} cannot be read back from the instrument")
        cmd = self.get_cmd.format(**inst.command_fields())
        if self.value_map is None:
            return inst.ask(cmd, self.parse)
        return inst.ask(cmd, lambda text: self.value_map.decode(self.parse(text)))

    def __set__(self, inst: Any, value: Any) -> None:
        if self.set_cmd is None:
            raise AttributeError(f"{self.name} is read-only")
        wire = self.encode(inst, value)
        inst.write(self.set_cmd.format(wire, **inst.command_fields()), check=self.check)

    def encode(self, inst: Any, value: Any) -> str:
        """Validate ``value`` (instrument range, then instance limits) and format it.

        Raises
        ------
        LimitError
            Outside the instrument's range, not an allowed value, or outside
            the instance's ``limits``. Nothing has been written.
        """
        what = f"{inst.model}.{self.name}"
        validator = self.validator
        if validator is not None and not isinstance(validator, Validator):
            validator = validator(inst)
        if self.value_map is not None:
            code = self.value_map.encode(value, what)
            if validator is not None:
                validator(value, what)
            inst.check_limit(self.limit, value, mode=self.limit_mode, unit=self.unit, what=what)
            return self.fmt.format(code)
        if validator is not None:
            value = validator(value, what)
        inst.check_limit(self.limit, value, mode=self.limit_mode, unit=self.unit, what=what)
        if self.fmt == "{}" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_number(value)
        return self.fmt.format(value)


class Measurement:
    """A read-only reading: ``Measurement("OUTP? 1", unit="V")``.

    Parameters
    ----------
    get_cmd : str
        Query (``{ch}``-style fields from :meth:`Instrument.command_fields`).
    parse : callable
        Reply text -> value (default :func:`parse_float`).
    unit : str
        Unit of the value.
    retry : bool
        Whether a timeout/garbage may be retried (False for queries that change
        state, e.g. registers cleared on read).
    doc : str
        Docstring.
    """

    def __init__(self, get_cmd: str, parse: Callable[[str], Any] = parse_float, *,
                 unit: str = "", retry: bool = True, doc: str = "") -> None:
        self.get_cmd = get_cmd
        self.parse = parse
        self.unit = unit
        self.retry = retry
        self.__doc__ = doc + (f" [{unit}]" if unit else "")
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        if inst is None:
            return self
        cmd = self.get_cmd.format(**inst.command_fields())
        return inst.ask(cmd, self.parse, retries=None if self.retry else 0)

    def __set__(self, inst: Any, value: Any) -> None:
        raise AttributeError(f"{self.name} is a measurement and cannot be set")
