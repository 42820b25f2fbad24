"""Opening a rig's instruments for a scan: each with its driver, its rig-file keys and the
lab's limits.

Every rig-file key of an instrument reaches its driver through
:func:`mrfm.drivers.constructor_kwargs` (terminations, ``timeout``, the model's
constructor options of the registry) or is read by the scan itself
(:mod:`mrfm.scan.roles`); the rig's ``[limits]`` become per-driver limits here, so a
set-point beyond them is refused by the driver before it is sent.
"""

from __future__ import annotations

from typing import Any

from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.rigdef.rigfile import InstrumentSpec, RigLimits

#: pyvisa backend of every instrument unless its rig-file entry names one (``backend``)
DEFAULT_BACKEND = "@py"


def driver_limits(role: str, limits: RigLimits | None,
                  stage_temperature: float | None = None) -> dict[str, Any]:
    """Per-driver safety limits of one role from the rig's ``[limits]``."""
    if limits is None:
        return {}
    if role == "rf":
        return {"power": limits.max_rf_power_dbm}  # the driver refuses more, too
    if role == "magnet":
        # every field and ramp-rate set-point is checked by the driver before it is sent
        return {"max_field": limits.max_field, "max_ramp_rate": limits.max_field_rate}
    if role == "coarse" and stage_temperature is not None:
        # stepper amplitude and offset never above the piezo limit at this temperature
        volts = limits.piezo_voltage_limit(stage_temperature)
        return {"voltage": volts, "offset": volts}
    return {}


def open_driver(spec: InstrumentSpec, role: str, *, limits: RigLimits | None = None,
                stage_temperature: float | None = None) -> Any:
    """Open one instrument with its driver; UserError if it cannot be reached.

    Raises
    ------
    UserError
        No resource string, a rig-file option of the wrong type, or an instrument that
        does not answer the connection (nothing has moved).
    """
    from mrfm.drivers import open_instrument

    if not spec.resource:
        raise UserError(f"instruments.{spec.name}.resource: no VISA resource string")
    backend = str(spec.options.get("backend", DEFAULT_BACKEND))
    try:
        return open_instrument(spec, backend=backend,
                               limits=driver_limits(role, limits, stage_temperature))
    except (InstrumentError, OSError) as exc:
        raise UserError(f"instruments.{spec.name}: cannot reach {spec.resource} "
                        f"({exc.__class__.__name__}: {exc}); check the address and that the "
                        "instrument is on") from None
    except ValueError as exc:
        raise UserError(f"instruments.{spec.name}: {exc}") from None
