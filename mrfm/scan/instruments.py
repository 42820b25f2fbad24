"""Opening a rig's instruments for a scan: each with its driver, its rig-file keys and the
lab's limits.

Every rig-file key of an instrument reaches its driver through
:func:`mrfm.drivers.constructor_kwargs` (terminations, ``timeout``, the model's
constructor options of the registry) or is read by the scan itself
(:mod:`mrfm.scan.roles`); the rig's ``[limits]`` become per-driver limits here, so a
set-point beyond them is refused by the driver before it is sent.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.rigdef.rigfile import InstrumentSpec, RigLimits

if TYPE_CHECKING:
    from mrfm.drivers.ami.ami430 import AMI430
    from mrfm.drivers.attocube.anc300 import ANC300
    from mrfm.drivers.attocube.ids3010 import IDS3010
    from mrfm.drivers.base import Instrument
    from mrfm.drivers.keysight.ks33500b import KS33500B
    from mrfm.drivers.lakeshore.ls336 import LS336
    from mrfm.drivers.pi.e727 import E727
    from mrfm.drivers.srs._lockin import SRSLockin
    from mrfm.drivers.srs.sg384 import SG384

#: pyvisa backend of every instrument unless its rig-file entry names one (``backend``)
DEFAULT_BACKEND = "@py"


def driver_limits(role: str, limits: RigLimits | None,
                  stage_temperature: float | None = None,
                  measured_temperature: float | None = None) -> dict[str, float]:
    """Per-driver safety limits of one role from the rig's ``[limits]``.

    The coarse stepper's amplitude and offset stay below the piezo voltage limit at the
    stage temperature: the lower of the limits at the measured temperature (the rig's
    temperature controller) and at the experiment's ``stage.temperature``, so a plan
    written for a cold stage never drives a warm one harder than its limit; without a
    measured temperature, the lowest limit of the table (the warm one), whatever the
    experiment says.
    """
    if limits is None:
        return {}
    if role == "rf":
        return {"power": limits.max_rf_power_dbm}  # the driver refuses more, too
    if role == "magnet":
        # every field and ramp-rate set-point is checked by the driver before it is sent
        return {"max_field": limits.max_field, "max_ramp_rate": limits.max_field_rate}
    if role == "coarse":
        if measured_temperature is None or not math.isfinite(measured_temperature):
            volts = min(v for _, v in limits.piezo_voltage)
        else:
            volts = limits.piezo_voltage_limit(measured_temperature)
            if stage_temperature is not None:
                volts = min(volts, limits.piezo_voltage_limit(stage_temperature))
        return {"voltage": volts, "offset": volts}
    return {}


@dataclass(frozen=True)
class RigDrivers:
    """The open driver of each role (None: the rig has no instrument in that role)."""

    lockin: SRSLockin
    scanner: E727
    rf: SG384 | None = None
    awg: KS33500B | None = None
    temperature: LS336 | None = None
    magnet: AMI430 | None = None
    coarse: ANC300 | None = None
    interferometer: IDS3010 | None = None

    def items(self) -> Iterator[tuple[str, Instrument | IDS3010]]:
        """(role, driver) of every instrument the rig has, in role order."""
        for f in fields(self):
            drv = getattr(self, f.name)
            if drv is not None:
                yield f.name, drv

    def __getitem__(self, role: str) -> Instrument | IDS3010:
        drv = dict(self.items()).get(role)
        if drv is None:
            raise KeyError(role)
        return drv

    def __contains__(self, role: object) -> bool:
        return role in dict(self.items())


@contextlib.contextmanager
def open_drivers(roles: Mapping[str, InstrumentSpec], *, limits: RigLimits | None = None,
                 stage_temperature: float | None = None) -> Iterator[RigDrivers]:
    """Open the instrument of every role (:func:`open_driver`); all are closed on exit,
    and those already open are closed if a later one cannot be reached."""
    opened: dict[str, Instrument | IDS3010] = {}
    measured: float | None = None
    try:
        # the thermometer first: the coarse stepper's voltage limit needs its reading
        order = sorted(roles, key=lambda role: role != "temperature")
        for role in order:
            spec = roles[role]
            opened[role] = open_driver(spec, role, limits=limits,
                                       stage_temperature=stage_temperature,
                                       measured_temperature=measured)
            if role == "temperature":
                measured = read_stage_temperature(opened[role], spec)
        yield RigDrivers(**{role: opened[role] for role in roles})  # type: ignore[arg-type]
    finally:
        for drv in opened.values():
            with contextlib.suppress(Exception):  # closing never hides what ended the scan
                drv.close()


def temperature_input(spec: InstrumentSpec) -> str:
    """The temperature controller's sensor input that reads the stage (rig-file option
    ``input``, default A)."""
    return str(spec.options.get("input", "A"))


def read_stage_temperature(driver: Instrument | IDS3010, spec: InstrumentSpec) -> float:
    """The stage temperature (K) from the temperature controller's
    :func:`temperature_input`; UserError if it does not answer (nothing has moved)."""
    sensor = temperature_input(spec)
    try:
        return float(driver.temperature(sensor))  # type: ignore[union-attr]
    except (InstrumentError, OSError, ValueError) as exc:
        raise UserError(f"instruments.{spec.name}: cannot read the stage temperature on "
                        f"input {sensor} ({exc.__class__.__name__}: {exc}); the coarse "
                        "stepper's voltage limit depends on it") from None


def open_driver(spec: InstrumentSpec, role: str, *, limits: RigLimits | None = None,
                stage_temperature: float | None = None,
                measured_temperature: float | None = None) -> Instrument | IDS3010:
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
                               limits=driver_limits(role, limits, stage_temperature,
                                                    measured_temperature))
    except (InstrumentError, OSError) as exc:
        raise UserError(f"instruments.{spec.name}: cannot reach {spec.resource} "
                        f"({exc.__class__.__name__}: {exc}); check the address and that the "
                        "instrument is on") from None
    except ValueError as exc:
        raise UserError(f"instruments.{spec.name}: {exc}") from None
