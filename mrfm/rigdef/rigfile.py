"""Rig files (TOML): the instruments of a rig, its safety limits and, for the virtual rig,
the physics behind it and the faults to inject.

Layout (every quantity accepts a unit string; a bare number is SI)::

    name = "virtual MRFM rig"
    experiment = "configs/demo.toml"   # optional: its sample/magnet/cantilever back the physics
    time_scale = 1.0                   # virtual rig only: simulated seconds per wall second

    [instruments.lockin]               # one table per instrument, keyed by its name
    driver = "srs.sr830"               # maker.model, see mrfm.rigdef.registry
    resource = "GPIB0::8::INSTR"       # a real rig's VISA address; the virtual rig fills it
    port = 0                           # virtual rig: TCP port on 127.0.0.1 (0: chosen by the OS)
    read_termination = "\\n"            # optional; default: the model's own
    write_termination = "\\n"
    timeout = "2 s"                    # optional; more keys per model: see the registry

    [limits]                           # what the lab allows (checked by the scan and the rig)
    x_range = ["-5 um", "5 um"]
    y_range = ["-5 um", "5 um"]
    height_range = ["5 nm", "8 um"]
    max_temperature = "10 K"           # temperature interlock
    temperature_wait = "600 s"
    max_rf_power = "10 dBm"
    max_field = "3 T"
    max_field_rate = "0.01 T/s"
    piezo_voltage = [["4 K", "250 V"], ["300 K", "120 V"]]  # max piezo voltage vs temperature

    [virtual]                          # virtual-rig physics (all optional, see VirtualSettings)
    base_temperature = "4.2 K"

    [faults.lockin]                    # fault injection, per instrument (a table or a list)
    mode = "timeout"                   # timeout | drop | garbage | stuck
    after = 100                        # commands answered normally first
    probability = 1.0                  # per later command

Errors are :class:`~mrfm.errors.ConfigError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from mrfm.errors import ConfigError
from mrfm.rigdef.registry import DRIVER_NAMES, REGISTRY
from mrfm.rigdef.spec import (
    FAULT_MODES,
    FaultSpec,
    InstrumentSpec,
    RigFile,
    RigLimits,
    VirtualSettings,
)
from mrfm.units import parse_quantity

__all__ = [
    "FAULT_MODES", "FaultSpec", "InstrumentSpec", "RigFile", "RigLimits", "VirtualSettings",
    "load", "loads", "resolve_experiment",
]


# ---------------------------------------------------------------------- parsing
_LIMIT_DIMENSIONS = {
    "x_range": ("length", 2),
    "y_range": ("length", 2),
    "height_range": ("length", 2),
    "max_temperature": ("temperature", 0),
    "temperature_wait": ("time", 0),
    "max_rf_power": ("power_dbm", 0),
    "max_field": ("magnetic_field", 0),
    "max_field_rate": ("field_rate", 0),
}

_VIRTUAL_DIMENSIONS = {
    "base_temperature": ("temperature", 0),
    "thermal_time_constant": ("time", 0),
    "heater_max_temperature": ("temperature", 3),
    "fine_range_300K": ("length", 3),
    "low_temperature_fraction": ("dimensionless", 0),
    "hysteresis": ("dimensionless", 0),
    "play_width": ("dimensionless", 0),
    "creep": ("dimensionless", 0),
    "creep_time": ("time", 0),
    "servo_time": ("time", 0),
    "sensor_noise": ("length", 0),
    "coarse_step_per_volt": (None, 0),
    "coarse_range": ("length", 0),
    "volts_per_meter": (None, 0),
    "volts_per_hertz": (None, 0),
    "detector_noise": (None, 0),
    "feedback_Q": (None, 0),
    "coil_constant": (None, 0),
    "initial_field": ("magnetic_field", 0),
    "initial_height": ("length", 0),
    "seed": ("int", 0),
    "drift": ("bool", 0),
    "spin_noise": ("bool", 0),
}


def _suggest(key: str, allowed) -> str:
    import difflib

    match = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _reject_unknown(table: Mapping[str, Any], allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}{key}: unknown key{_suggest(key, allowed)}; allowed: {', '.join(allowed)}"
            )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number (SI), got {value!r}")
    return float(value)


def _quantity(value: Any, dimension: str | None, count: int, where: str) -> Any:
    if dimension == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if dimension == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if count:
        if not isinstance(value, list) or len(value) != count:
            raise ConfigError(f"{where}: expected a list of {count} values, got {value!r}")
        return tuple(_quantity(v, dimension, 0, f"{where}[{i}]") for i, v in enumerate(value))
    if dimension is None:
        return _number(value, where)
    return parse_quantity(value, dimension, where)


def _parse_limits(table: Any) -> RigLimits:
    if not isinstance(table, Mapping):
        raise ConfigError(f"limits: expected a table, got {table!r}")
    allowed = (*_LIMIT_DIMENSIONS, "piezo_voltage")
    _reject_unknown(table, allowed, "limits.")
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        where = f"limits.{key}"
        if key == "piezo_voltage":
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{where}: expected a list of [temperature, voltage] pairs")
            rows = []
            for i, row in enumerate(value):
                if not isinstance(row, list) or len(row) != 2:
                    raise ConfigError(f"{where}[{i}]: expected [temperature, voltage], got {row!r}")
                t = parse_quantity(row[0], "temperature", f"{where}[{i}][0]")
                v = parse_quantity(row[1], "voltage", f"{where}[{i}][1]")
                if t <= 0 or v <= 0:
                    raise ConfigError(f"{where}[{i}]: temperature and voltage must be > 0")
                rows.append((t, v))
            kwargs[key] = tuple(sorted(rows))
            continue
        dimension, count = _LIMIT_DIMENSIONS[key]
        parsed = _quantity(value, dimension, count, where)
        if count == 2 and not parsed[0] < parsed[1]:
            raise ConfigError(f"{where}: expected [low, high] with low < high, got {value!r}")
        if key in ("max_temperature", "max_field", "max_field_rate", "temperature_wait") and (
            parsed <= 0
        ):
            raise ConfigError(f"{where}: must be > 0, got {value!r}")
        kwargs["max_rf_power_dbm" if key == "max_rf_power" else key] = parsed
    return RigLimits(**kwargs)


def _parse_virtual(table: Any) -> VirtualSettings:
    if not isinstance(table, Mapping):
        raise ConfigError(f"virtual: expected a table, got {table!r}")
    _reject_unknown(table, tuple(_VIRTUAL_DIMENSIONS), "virtual.")
    kwargs = {}
    for key, value in table.items():
        dimension, count = _VIRTUAL_DIMENSIONS[key]
        parsed = _quantity(value, dimension, count, f"virtual.{key}")
        if key not in ("seed", "initial_field", "spin_noise", "drift"):
            values = parsed if isinstance(parsed, tuple) else (parsed,)
            if any(v < 0 for v in values):
                raise ConfigError(f"virtual.{key}: must be >= 0, got {value!r}")
        if key == "feedback_Q" and not parsed > 0.5:
            raise ConfigError(f"virtual.feedback_Q: must be > 0.5 (an underdamped cantilever), "
                              f"got {value!r}")
        kwargs[key] = parsed
    names = {f.name for f in fields(VirtualSettings)}
    assert set(kwargs) <= names
    return VirtualSettings(**kwargs)


def _parse_instruments(table: Any) -> tuple[InstrumentSpec, ...]:
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("instruments: expected a table of instruments ([instruments.<name>])")
    specs = []
    for name, entry in table.items():
        where = f"instruments.{name}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table, got {entry!r}")
        driver = entry.get("driver")
        if driver not in REGISTRY:
            raise ConfigError(
                f"{where}.driver: {driver!r} not one of {', '.join(DRIVER_NAMES)}"
                f"{_suggest(str(driver), DRIVER_NAMES)}"
            )
        resource = entry.get("resource")
        if resource is not None and (not isinstance(resource, str) or not resource.strip()):
            raise ConfigError(
                f"{where}.resource: expected a VISA resource string, got {resource!r}"
            )
        port = entry.get("port", 0)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"{where}.port: expected an integer 0..65535, got {port!r}")
        terms = {}
        for key in ("read_termination", "write_termination"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{where}.{key}: expected a non-empty string, got {value!r}")
            terms[key] = value
        known = ("driver", "resource", "port", "read_termination", "write_termination")
        options = {k: v for k, v in entry.items() if k not in known}
        _reject_unknown(options, REGISTRY[driver].allowed_options(), f"{where}.")
        if "timeout" in options:
            t = parse_quantity(options["timeout"], "time", f"{where}.timeout")
            if t <= 0:
                raise ConfigError(f"{where}.timeout: must be > 0, got {options['timeout']!r}")
        specs.append(
            InstrumentSpec(
                name=str(name), driver=driver, resource=resource, port=port,
                options=options, **terms,
            )
        )
    return tuple(specs)


def _parse_faults(table: Any, names: set[str]) -> dict[str, tuple[FaultSpec, ...]]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"faults: expected a table, got {table!r}")
    out = {}
    for name, entry in table.items():
        if name not in names:
            raise ConfigError(
                f"faults.{name}: no instrument called {name!r}{_suggest(name, names)}"
            )
        entries = entry if isinstance(entry, list) else [entry]
        specs = []
        for i, e in enumerate(entries):
            where = f"faults.{name}" + (f"[{i}]" if isinstance(entry, list) else "")
            if not isinstance(e, Mapping):
                raise ConfigError(f"{where}: expected a table, got {e!r}")
            _reject_unknown(e, ("mode", "after", "probability", "seed"), f"{where}.")
            after = e.get("after", 0)
            if isinstance(after, bool) or not isinstance(after, int):
                raise ConfigError(f"{where}.after: expected an integer, got {after!r}")
            prob = e.get("probability", 1.0)
            try:
                specs.append(
                    FaultSpec(
                        mode=str(e.get("mode")), after=after,
                        probability=_number(prob, f"{where}.probability"), seed=e.get("seed"),
                    )
                )
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        out[name] = tuple(specs)
    return out


def resolve_experiment(value: str, rig_path: Path | None) -> Path:
    """Find the experiment file named in a rig file.

    Tried in order: an absolute path; relative to the rig file's folder and
    to its parent (a checkout's root); relative to the working directory; and
    inside the shipped data folder named by its first component
    (``configs/demo.toml`` -> ``mrfm.resources.data_dir("configs") / "demo.toml"``).
    """
    p = Path(value)
    candidates = []
    if p.is_absolute():
        candidates.append(p)
    else:
        if rig_path is not None:
            candidates += [rig_path.parent / p, rig_path.parent.parent / p]
        candidates.append(Path.cwd() / p)
        if len(p.parts) > 1:
            from mrfm.resources import data_dir

            try:
                candidates.append(data_dir(p.parts[0]).joinpath(*p.parts[1:]))
            except FileNotFoundError:
                pass
    for c in candidates:
        if c.is_file():
            return c.resolve()
    looked = ", ".join(map(str, candidates))
    raise ConfigError(f"experiment: file {value!r} not found (looked in {looked})")


def loads(text: str, *, path: Path | None = None) -> RigFile:
    """Parse rig-file TOML text (``path`` resolves the experiment file and names errors)."""
    origin = str(path) if path else "<rig file>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML ({exc})") from None
    top = ("name", "description", "experiment", "time_scale", "instruments", "limits", "virtual",
           "faults")
    _reject_unknown(raw, top, "")
    name = raw.get("name", path.stem if path else "rig")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {name!r}")
    instruments = _parse_instruments(raw.get("instruments"))
    names = [s.name for s in instruments]
    limits = _parse_limits(raw.get("limits", {}))
    virtual = _parse_virtual(raw.get("virtual", {}))
    faults = _parse_faults(raw.get("faults", {}), set(names))
    time_scale = _number(raw.get("time_scale", 1.0), "time_scale")
    if time_scale <= 0:
        raise ConfigError(f"time_scale: must be > 0, got {time_scale}")
    experiment = None
    if "experiment" in raw:
        if not isinstance(raw["experiment"], str):
            raise ConfigError(f"experiment: expected a path string, got {raw['experiment']!r}")
        experiment = resolve_experiment(raw["experiment"], path)
    return RigFile(
        name=name, path=path, instruments=instruments, limits=limits, experiment=experiment,
        faults=faults, time_scale=time_scale, virtual=virtual, source_text=text,
    )


def load(path: str | Path) -> RigFile:
    """Read and validate a rig file (ConfigError on any problem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: rig file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read rig file ({exc.__class__.__name__})") from None
    return loads(text, path=p.resolve())
