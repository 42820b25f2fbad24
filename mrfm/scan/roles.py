"""Roles of a rig's instruments in a scan, the channels it records, the scanner calibration.

Each instrument's role comes from the registry (:data:`mrfm.rigdef.registry.REGISTRY`):

=================  =========================  ========================================
role               models                     used for
=================  =========================  ========================================
``lockin``         SR830, SR865               X, Y (V); time constant; phase
``scanner``        PI E-727                   tip position (x, y, height) <-> axes, um
``rf``             SG384                      frequency, power, output (off when safe)
``awg``            Keysight 33500B            outputs off when safe
``temperature``    Lake Shore 336             stage temperature (interlock)
``magnet``         AMI 430                    field, "still ramping" interlock
``coarse``         ANC300                     axes grounded when safe
``interferometer`` IDS3010                    its state, recorded in the logbook
=================  =========================  ========================================

A lock-in and a fine scanner are required; every other role is optional (its
interlock or safe-state step is then skipped). Nothing here opens an instrument.

Options read from the rig file (all optional; quantities accept unit strings):

* ``[instruments.<lock-in>]``: ``time_constant`` (set at start, e.g. ``"30 ms"``),
  ``phase`` (degrees), ``force_per_volt`` (``"2e-12 N/V"``: adds a ``force``
  channel, N) or ``frequency_per_volt`` (``"1000 Hz/V"``: adds ``frequency_shift``, Hz);
  ``model`` (SR865 family).
* ``[instruments.<scanner>]``: ``axes`` (GCS axis ids for x, y, z, default
  ``["1", "2", "3"]``), ``calibration`` (piezo displacement per tip displacement,
  3 numbers, default 1; a sign flips an axis), ``offset`` (tip position when all
  axes read 0, three lengths, default 0), ``park`` (x, y where the tip is parked,
  default ``["0 um", "0 um"]``), ``park_step`` (largest step while retracting and
  parking, default ``"100 nm"``), ``settle_timeout`` (default ``"2 s"``),
  ``position_tolerance`` (largest distance of the position read back from the set-point
  after settling, default ``"5 nm"``; farther is a scanner that does not follow: exit 3).
* ``[instruments.<rf>]``: ``power`` (dBm, output switched on at start at this
  level after the RF power interlock; without it the RF is left as found),
  ``frequency_multiplier`` (an external multiplier after the source).
* ``[instruments.<temperature>]``: ``input`` (sensor, default ``"A"``), ``output``
  (heater output whose set-point and range are logged, default 1).
* ``[instruments.<coarse>]``: ``axes`` to ground (default ``[1, 2, 3]``), ``password``.
* ``[instruments.<awg>]``: ``model``, ``channel``.
* ``[instruments.<interferometer>]``: ``namespace``.
* every instrument: ``timeout`` (reply timeout), ``read_termination``, ``write_termination``.

Piezo target (um) = ``calibration * (tip - offset) / 1 um`` per axis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mrfm.errors import UserError
from mrfm.rigdef.registry import REGISTRY, models_for_role
from mrfm.rigdef.rigfile import InstrumentSpec, RigFile
from mrfm.scan.plan import Position
from mrfm.scan.store import Channel
from mrfm.units import parse_quantity

REQUIRED_ROLES = ("lockin", "scanner")
UM = 1e-6


def ratio(value: object, unit: str, where: str) -> float:
    """A quantity such as ``"2e-12 N/V"`` in ``unit`` (a bare number is taken in ``unit``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise UserError(f"{where}: expected a number or a string in {unit}, got {value!r}")
    import pint

    from mrfm.units import registry

    try:
        return float(registry().Quantity(value).to(unit).magnitude)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
        raise UserError(f"{where}: cannot read {value!r} as a quantity in {unit}") from None


def assign_roles(rig: RigFile) -> dict[str, InstrumentSpec]:
    """Instrument spec per role (the registry's); UserError for a missing or doubled role."""
    found: dict[str, InstrumentSpec] = {}
    for spec in rig.instruments:
        role = REGISTRY[spec.driver].role
        if role in found:
            raise UserError(f"instruments.{spec.name}: a second {role} "
                            f"(besides {found[role].name!r}); a scan uses one of each")
        found[role] = spec
    for role in REQUIRED_ROLES:
        if role not in found:
            models = ", ".join(models_for_role(role))
            raise UserError(f"rig {rig.name!r}: no {role} instrument ({models}); a scan needs one")
    return found


def channels_for(rig: RigFile) -> list[Channel]:
    """The channels a scan on ``rig`` records (known before any instrument is opened)."""
    roles = assign_roles(rig)
    lockin = roles["lockin"]
    # A calibrated physical channel, when the rig file gives one, comes first: it is the
    # file's NXdata signal (what `mrfm plot` and `mrfm reconstruct` read).
    chans = []
    if "force_per_volt" in lockin.options:
        chans.append(Channel("force", "N", "force (lock-in X x force_per_volt)"))
    if "frequency_per_volt" in lockin.options:
        chans.append(Channel("frequency_shift", "Hz",
                             "frequency shift (lock-in X x frequency_per_volt)"))
    chans += [Channel("lockin_x", "V", "lock-in X"), Channel("lockin_y", "V", "lock-in Y")]
    if "temperature" in roles:
        chans.append(Channel("temperature", "K", "stage temperature"))
    if "magnet" in roles:
        chans.append(Channel("field", "T", "magnet field"))
    chans.append(Channel("tip_x", "m", "measured tip x"))
    chans.append(Channel("tip_y", "m", "measured tip y"))
    chans.append(Channel("tip_height", "m", "measured tip height"))
    return chans


@dataclass(frozen=True)
class ScannerCalibration:
    """Tip position (m) <-> piezo axis positions (um): ``piezo = cal * (tip - offset) / um``."""

    axes: tuple[str, str, str] = ("1", "2", "3")
    calibration: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    park: tuple[float, float] = (0.0, 0.0)
    park_step: float = 100e-9
    settle_timeout: float = 2.0
    position_tolerance: float = 5e-9

    @classmethod
    def from_options(cls, options: Mapping[str, object], where: str) -> ScannerCalibration:
        """Read the scanner's rig-file options (see the module docstring)."""
        kw: dict[str, object] = {}
        if "axes" in options:
            axes = options["axes"]
            if not isinstance(axes, list) or len(axes) != 3:
                raise UserError(f"{where}.axes: expected three axis ids [x, y, z], got {axes!r}")
            kw["axes"] = tuple(str(a) for a in axes)
        if "calibration" in options:
            cal = options["calibration"]
            if (not isinstance(cal, list) or len(cal) != 3
                    or not all(isinstance(c, (int, float)) and c != 0 for c in cal)):
                raise UserError(f"{where}.calibration: expected three non-zero numbers, "
                                f"got {cal!r}")
            kw["calibration"] = tuple(float(c) for c in cal)
        for key, n in (("offset", 3), ("park", 2)):
            if key in options:
                v = options[key]
                if not isinstance(v, list) or len(v) != n:
                    raise UserError(f"{where}.{key}: expected {n} lengths, got {v!r}")
                kw[key] = tuple(parse_quantity(x, "length", f"{where}.{key}") for x in v)
        if "park_step" in options:
            kw["park_step"] = parse_quantity(options["park_step"], "length", f"{where}.park_step")
            if kw["park_step"] <= 0:
                raise UserError(f"{where}.park_step: must be > 0")
        if "position_tolerance" in options:
            kw["position_tolerance"] = parse_quantity(
                options["position_tolerance"], "length", f"{where}.position_tolerance")
            if kw["position_tolerance"] <= 0:
                raise UserError(f"{where}.position_tolerance: must be > 0")
        if "settle_timeout" in options:
            kw["settle_timeout"] = parse_quantity(options["settle_timeout"], "time",
                                                  f"{where}.settle_timeout")
        return cls(**kw)  # type: ignore[arg-type]

    def to_axes(self, position: Position) -> dict[str, float]:
        """Tip position (m) -> {axis id: piezo position (um)}."""
        return {ax: c * (p - o) / UM
                for ax, c, p, o in zip(self.axes, self.calibration, position, self.offset,
                                       strict=True)}

    def to_tip(self, axes: Mapping[str, float]) -> Position:
        """{axis id: piezo position (um)} -> tip position (m)."""
        x, y, h = (axes[ax] * UM / c + o
                   for ax, c, o in zip(self.axes, self.calibration, self.offset, strict=True))
        return (x, y, h)
