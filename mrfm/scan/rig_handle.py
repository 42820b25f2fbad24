"""The scan's view of a rig, implemented over the mrfm pyvisa drivers: :class:`DriverRig`.

Each instrument of the rig file is opened with its driver and given a *role*
by its model:

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
=================  =========================  ========================================

A lock-in and a fine scanner are required; every other role is optional (its
interlock or safe-state step is then skipped). The IDS3010 interferometer is
not used by the scan.

Options read from the rig file (all optional; quantities accept unit strings):

* ``[instruments.<lock-in>]``: ``time_constant`` (set at start, e.g. ``"30 ms"``),
  ``phase`` (degrees), ``force_per_volt`` (``"2e-12 N/V"``: adds a ``force``
  channel, N) or ``frequency_per_volt`` (``"1000 Hz/V"``: adds ``frequency_shift``, Hz).
* ``[instruments.<scanner>]``: ``axes`` (GCS axis ids for x, y, z, default
  ``["1", "2", "3"]``), ``calibration`` (piezo displacement per tip displacement,
  3 numbers, default 1; a sign flips an axis), ``offset`` (tip position when all
  axes read 0, three lengths, default 0), ``park`` (x, y where the tip is parked,
  default ``["0 um", "0 um"]``), ``park_step`` (largest step while retracting and
  parking, default ``"100 nm"``), ``settle_timeout`` (default ``"2 s"``).
* ``[instruments.<rf>]``: ``power`` (dBm, output switched on at start at this
  level after the RF power interlock; without it the RF is left as found).
* ``[instruments.<temperature>]``: ``input`` (sensor, default ``"A"``).
* ``[instruments.<coarse>]``: ``axes`` to ground (default ``[1, 2, 3]``).

Piezo target (um) = ``calibration * (tip - offset) / 1 um`` per axis.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mrfm.drivers.errors import (
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    LimitError,
)
from mrfm.errors import UserError
from mrfm.scan.plan import Position
from mrfm.scan.store import Channel
from mrfm.units import parse_quantity

#: driver name (rig file) -> role
ROLES = {
    "srs.sr830": "lockin",
    "srs.sr865": "lockin",
    "pi.e727": "scanner",
    "srs.sg384": "rf",
    "keysight.33500b": "awg",
    "lakeshore.336": "temperature",
    "ami.430": "magnet",
    "attocube.anc300": "coarse",
    "attocube.ids3010": "interferometer",
}
REQUIRED_ROLES = ("lockin", "scanner")
#: AMI 430 ``STATE?`` codes while the field changes: ramping, manual up, manual down, zeroing
FIELD_CHANGING_STATES = (1, 4, 5, 6)
UM = 1e-6


def _ratio(value: Any, unit: str, where: str) -> float:
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


def _roles(rig: Any) -> dict[str, Any]:
    """Instrument spec per role; UserError for a missing or doubled role."""
    found: dict[str, Any] = {}
    for spec in rig.instruments:
        role = ROLES.get(spec.driver)
        if role is None:
            raise UserError(f"instruments.{spec.name}: driver {spec.driver!r} has no role in a "
                            f"scan (known: {', '.join(ROLES)})")
        if role in found:
            raise UserError(f"instruments.{spec.name}: a second {role} "
                            f"(besides {found[role].name!r}); a scan uses one of each")
        found[role] = spec
    for role in REQUIRED_ROLES:
        if role not in found:
            models = ", ".join(d for d, r in ROLES.items() if r == role)
            raise UserError(f"rig {rig.name!r}: no {role} instrument ({models}); a scan needs one")
    return found


def channels_for(rig: Any) -> list[Channel]:
    """The channels a scan on ``rig`` records (known before any instrument is opened)."""
    roles = _roles(rig)
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

    @classmethod
    def from_options(cls, options: Mapping[str, Any], where: str) -> ScannerCalibration:
        """Read the scanner's rig-file options (see the module docstring)."""
        kw: dict[str, Any] = {}
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
        if "settle_timeout" in options:
            kw["settle_timeout"] = parse_quantity(options["settle_timeout"], "time",
                                                  f"{where}.settle_timeout")
        return cls(**kw)

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


class DriverRig:
    """A :class:`~mrfm.scan.controller.RigHandle` over the pyvisa drivers.

    Open with :meth:`open` (a context manager that closes every instrument);
    ``time_scale`` is the rig file's (simulated seconds per wall second for a
    virtual rig, 1 for real hardware).
    """

    def __init__(self, rig: Any, drivers: Mapping[str, Any], roles: Mapping[str, Any],
                 *, experiment: Any = None):
        self.rig = rig
        self.drivers = dict(drivers)
        self.roles = dict(roles)
        self.experiment = experiment
        self.time_scale = float(getattr(rig, "time_scale", 1.0) or 1.0)
        scanner_spec = roles["scanner"]
        self.cal = ScannerCalibration.from_options(
            scanner_spec.options, f"instruments.{scanner_spec.name}")
        lockin_opts = roles["lockin"].options
        where = f"instruments.{roles['lockin'].name}"
        self.force_per_volt = (_ratio(lockin_opts["force_per_volt"], "N/V",
                                      f"{where}.force_per_volt")
                               if "force_per_volt" in lockin_opts else None)
        self.frequency_per_volt = (_ratio(lockin_opts["frequency_per_volt"], "Hz/V",
                                          f"{where}.frequency_per_volt")
                                   if "frequency_per_volt" in lockin_opts else None)
        self._channels = channels_for(rig)
        self._tau: float | None = None
        self._idn: dict[str, str] = {}
        #: things the operator should know (printed by ``mrfm scan``)
        self.notes: list[str] = []
        #: wall seconds between readings of the slow channels (temperature, field)
        self.slow_interval = 0.5
        self._slow: dict[str, float] | None = None
        self._slow_at = 0.0

    # ------------------------------------------------------------------ opening
    @classmethod
    @contextlib.contextmanager
    def open(cls, rig: Any, *, experiment: Any = None) -> Iterator[DriverRig]:
        """Open every instrument of ``rig`` (a parsed rig file with resource strings).

        Raises
        ------
        UserError
            A missing role, an instrument without a resource string, or a
            resource that cannot be reached (nothing has moved).
        """
        roles = _roles(rig)
        scanner = roles["scanner"]
        cal = ScannerCalibration.from_options(scanner.options, f"instruments.{scanner.name}")
        opened: dict[str, Any] = {}
        try:
            for role, spec in roles.items():
                if role == "interferometer":
                    continue
                if not spec.resource:
                    raise UserError(f"instruments.{spec.name}.resource: no VISA resource string")
                opened[role] = _open_driver(
                    spec, role, limits=rig.limits, cal=cal,
                    stage_temperature=(float(experiment.stage.temperature)
                                       if experiment is not None else None))
            handle = cls(rig, opened, roles, experiment=experiment)
            handle._identify()
            handle._configure()
            yield handle
        finally:
            for drv in opened.values():
                with contextlib.suppress(Exception):
                    drv.close()

    def _identify(self) -> None:
        for role, drv in self.drivers.items():
            name = self.roles[role].name
            try:
                self._idn[name] = str(drv.identify())
            except InstrumentError as exc:
                raise UserError(f"instruments.{name}: cannot reach {self.roles[role].resource}: "
                                f"no answer to its identification query ({exc})") from None

    def _configure(self) -> None:
        """Apply the rig file's settings (time constant, phase, RF level) before the scan."""
        lockin = self.drivers["lockin"]
        opts = self.roles["lockin"].options
        where = f"instruments.{self.roles['lockin'].name}"
        try:
            if "time_constant" in opts:
                lockin.time_constant = parse_quantity(opts["time_constant"], "time",
                                                      f"{where}.time_constant")
            if "phase" in opts:
                lockin.phase = float(opts["phase"])
        except LimitError as exc:
            raise UserError(f"{where}: {exc}") from None
        self._tau = float(lockin.time_constant)
        self._configure_rf()
        scanner = self.drivers["scanner"]
        for ax in self.cal.axes:
            scanner.set_servo(ax, True)

    def check_targets(self, positions: Any, *, safe_height: float) -> None:
        """Refuse targets the fine scanner cannot reach (its travel at this temperature).

        Parameters
        ----------
        positions : array (n, 3)
            Tip positions (x, y, height), m; the safe height and park position are
            checked too.

        Raises
        ------
        UserError
            Naming the first unreachable target; nothing has moved.
        """
        import numpy as np

        pts = np.asarray(positions, dtype=float).reshape(-1, 3)
        extra = np.array([[*self.cal.park, safe_height]])
        pts = np.vstack([pts, extra])
        scanner = self.drivers["scanner"]
        for k, (ax, name) in enumerate(zip(self.cal.axes, ("x", "y", "height"), strict=True)):
            lo, hi = scanner.travel_range(ax)
            um = self.cal.calibration[k] * (pts[:, k] - self.cal.offset[k]) / UM
            bad = (um < lo - 1e-9) | (um > hi + 1e-9)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise UserError(
                    f"scan.{name}: target {pts[i, k]:.4g} m needs piezo axis {ax} at "
                    f"{um[i]:.4g} um, outside its travel [{lo:.4g}, {hi:.4g}] um at this "
                    "temperature; nothing was moved"
                )

    def _configure_rf(self) -> None:
        """Tune the synthesizer to the experiment's RF frequency (output still off).

        With the rig file's ``frequency_multiplier`` (an external multiplier after
        the SG384, e.g. 4 for X band) the source is set to f_rf / multiplier and a
        frequency it cannot make is bad input. Without it, a frequency outside the
        source's range is left alone and noted (the virtual rig, for instance,
        models the multiplied carrier directly).
        """
        if "rf" not in self.drivers or self.experiment is None:
            return
        spec = self.roles["rf"]
        where = f"instruments.{spec.name}"
        explicit = "frequency_multiplier" in spec.options
        mult = _ratio(spec.options.get("frequency_multiplier", 1.0), "",
                      f"{where}.frequency_multiplier")
        if mult <= 0:
            raise UserError(f"{where}.frequency_multiplier: must be > 0, got {mult:g}")
        f = float(self.experiment.rf.frequency) / mult
        try:
            self.drivers["rf"].frequency = f
        except LimitError as exc:
            if explicit:
                raise UserError(f"{where}: {exc}") from None
            self.notes.append(
                f"RF frequency not set: the experiment's {f:.6g} Hz is outside the "
                f"{spec.driver} range (give {where}.frequency_multiplier for an external "
                "multiplier); the source keeps its present frequency")

    # ------------------------------------------------------------------ RigHandle
    def channels(self) -> list[Channel]:
        """The channels recorded per point (see :func:`channels_for`)."""
        return list(self._channels)

    def identities(self) -> dict[str, str]:
        """``*IDN?`` (or the model's equivalent) per instrument name."""
        return dict(self._idn)

    def time_constant(self) -> float:
        """Lock-in time constant, s."""
        if self._tau is None:
            self._tau = float(self.drivers["lockin"].time_constant)
        return self._tau

    def prepare(self, *, limits: Any) -> None:
        """Switch the RF on for the measurement, after the start interlocks passed.

        The level is the rig file's ``power`` (else the synthesizer's present
        set-point) and must not exceed the rig's RF power limit; the frequency is
        the experiment's ``rf.frequency``.
        """
        if "rf" not in self.drivers:
            return
        from mrfm.scan.safety import InterlockError

        spec = self.roles["rf"]
        rf = self.drivers["rf"]
        if "power" in spec.options:
            power = parse_quantity(spec.options["power"], "power_dbm",
                                   f"instruments.{spec.name}.power")
        else:
            power = float(rf.power)
        if power > limits.max_rf_power_dbm:
            raise InterlockError(f"instruments.{spec.name}.power: {power:g} dBm above the rig "
                                 f"limit {limits.max_rf_power_dbm:g} dBm; RF left off")
        rf.power = power
        rf.output = True

    def pause(self) -> None:
        """RF output off while the scan waits (temperature interlock)."""
        if "rf" in self.drivers:
            self.drivers["rf"].output = False

    def position(self) -> Position:
        """Tip position from the scanner's sensors, (x, y, height) m."""
        return self.cal.to_tip(self.drivers["scanner"].position())

    def move_to(self, position: Position) -> None:
        """Closed-loop move of the fine scanner; returns once every axis is on target."""
        scanner = self.drivers["scanner"]
        scanner.move(self.cal.to_axes(position))
        deadline = time.monotonic() + self.cal.settle_timeout / min(self.time_scale, 1.0)
        while not scanner.on_target():
            if time.monotonic() > deadline:
                raise InstrumentTimeout(
                    f"instruments.{self.roles['scanner'].name}: not on target within "
                    f"{self.cal.settle_timeout:g} s after moving to {position}"
                )
            time.sleep(2e-4)

    def read(self) -> dict[str, float]:
        """Read every channel at the current point (SI)."""
        x, y = self.drivers["lockin"].xy()
        out = {"lockin_x": float(x), "lockin_y": float(y)}
        if self.force_per_volt is not None:
            out["force"] = out["lockin_x"] * self.force_per_volt
        if self.frequency_per_volt is not None:
            out["frequency_shift"] = out["lockin_x"] * self.frequency_per_volt
        out.update(self._slow_channels())
        tx, ty, th = self.cal.to_tip(self.drivers["scanner"].position())
        out.update(tip_x=tx, tip_y=ty, tip_height=th)
        return out

    def _slow_channels(self) -> dict[str, float]:
        """Temperature and field, read at most every :attr:`slow_interval` s (wall).

        Both change on time scales of seconds (the cryostat's thermal time constant, a
        magnet that the start interlock requires to hold its field), so reading them at
        every point would only double the time per point.
        """
        now = time.monotonic()
        if self._slow is None or now - self._slow_at >= self.slow_interval:
            slow = {}
            if "temperature" in self.drivers:
                slow["temperature"] = self.temperature()
            if "magnet" in self.drivers:
                slow["field"] = float(self.drivers["magnet"].field)
            self._slow, self._slow_at = slow, now
        return dict(self._slow)

    def temperature(self) -> float:
        """Stage temperature, K (-inf without a temperature controller: no interlock)."""
        if "temperature" not in self.drivers:
            return -math.inf
        sensor = str(self.roles["temperature"].options.get("input", "A"))
        return float(self.drivers["temperature"].temperature(sensor))

    def field_ramping(self) -> bool:
        """True while the AMI 430 changes the field (ramping, manual up/down, zeroing)."""
        if "magnet" not in self.drivers:
            return False
        return int(self.drivers["magnet"].state) in FIELD_CHANGING_STATES

    def field(self) -> float:
        """Magnet field, T (NaN without a magnet supply)."""
        if "magnet" not in self.drivers:
            return math.nan
        return float(self.drivers["magnet"].field)

    def rf_power(self) -> float:
        """RF set-point in dBm while the output is on; -inf when off or absent."""
        if "rf" not in self.drivers:
            return -math.inf
        rf = self.drivers["rf"]
        return float(rf.power) if rf.output else -math.inf

    # ------------------------------------------------------------------ safe state
    def safe_state(self, *, safe_height: float) -> list[str]:
        """RF off, AWG outputs off, tip retracted and parked slowly, steppers grounded.

        Every step is tried even if an earlier one fails; the failures are
        returned as readable lines (an empty list means the rig is safe).
        """
        problems: list[str] = []

        def step(what: str, fn) -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - try every step, report each failure
                problems.append(f"{what} failed ({exc.__class__.__name__}: {exc})")

        if "rf" in self.drivers:
            step("RF output off", lambda: setattr(self.drivers["rf"], "output", False))
        if "awg" in self.drivers:
            step("function generator outputs off", self.drivers["awg"].outputs_off)
        step(f"retract to {safe_height:.3g} m and park",
             lambda: self._retract_and_park(safe_height))
        if "coarse" in self.drivers:
            axes = self.roles["coarse"].options.get("axes", [1, 2, 3])
            step("ground the coarse steppers", lambda: self._ground(axes))
        return problems

    def _ground(self, axes: Any) -> None:
        """Stop any stepping, then ground every listed ANC300 axis."""
        coarse = self.drivers["coarse"]
        for a in axes:
            coarse.stop(int(a))
            coarse.ground(int(a))

    def _retract_and_park(self, safe_height: float) -> None:
        """Up to ``safe_height`` first, then across to the park position, in small steps."""
        scanner = self.drivers["scanner"]
        x, y, h = self.cal.to_tip(scanner.position())
        step = self.cal.park_step
        for z in _ramp(h, max(h, safe_height), step):
            self.move_to((x, y, z))
        z = max(h, safe_height)
        px, py = self.cal.park
        n = max(1, math.ceil(math.hypot(px - x, py - y) / step))
        for k in range(1, n + 1):
            self.move_to((x + (px - x) * k / n, y + (py - y) * k / n, z))
        if z > safe_height:  # came from above the safe height: settle back down to it
            for zz in _ramp(z, safe_height, step):
                self.move_to((px, py, zz))


def _ramp(start: float, stop: float, step: float) -> list[float]:
    """Points from ``start`` (excluded) to ``stop`` (included) in steps of at most ``step``."""
    n = max(1, math.ceil(abs(stop - start) / step))
    return [stop if k == n else start + (stop - start) * k / n for k in range(1, n + 1)]


#: driver name (rig file) -> "module:Class" of its mrfm driver
DRIVER_CLASSES = {
    "srs.sr830": "mrfm.drivers.srs.sr830:SR830",
    "srs.sr865": "mrfm.drivers.srs.sr865:SR865",
    "pi.e727": "mrfm.drivers.pi.e727:E727",
    "srs.sg384": "mrfm.drivers.srs.sg384:SG384",
    "keysight.33500b": "mrfm.drivers.keysight.ks33500b:KS33500B",
    "lakeshore.336": "mrfm.drivers.lakeshore.ls336:LS336",
    "ami.430": "mrfm.drivers.ami.ami430:AMI430",
    "attocube.anc300": "mrfm.drivers.attocube.anc300:ANC300",
}


def _driver_kwargs(spec: Any, role: str, *, limits: Any, cal: ScannerCalibration | None,
                   stage_temperature: float | None = None) -> dict[str, Any]:
    """Constructor arguments of one driver from its rig-file entry (and the rig's limits)."""
    kw: dict[str, Any] = {}
    if spec.read_termination is not None:
        kw["read_termination"] = spec.read_termination
    if spec.write_termination is not None:
        kw["write_termination"] = spec.write_termination
    opts = spec.options
    if role == "scanner" and cal is not None:
        kw["axes"] = cal.axes
    elif role == "rf" and limits is not None:
        kw["limits"] = {"power": limits.max_rf_power_dbm}  # the driver refuses more, too
    elif role == "magnet" and limits is not None:
        # every field and ramp-rate set-point is checked by the driver before it is sent
        kw["limits"] = {"max_field": limits.max_field, "max_ramp_rate": limits.max_field_rate}
    elif role == "awg" and "model" in opts:
        kw["model_name"] = str(opts["model"])
    elif role == "coarse":
        if "password" in opts:
            kw["password"] = str(opts["password"])
        if stage_temperature is not None and hasattr(limits, "piezo_voltage_limit"):
            # stepper amplitude and offset never above the piezo limit at this temperature
            volts = limits.piezo_voltage_limit(stage_temperature)
            kw["limits"] = {"voltage": volts, "offset": volts}
    return kw


def _open_driver(spec: Any, role: str, *, limits: Any = None,
                 cal: ScannerCalibration | None = None,
                 stage_temperature: float | None = None) -> Any:
    """Open one instrument with its driver; UserError if it cannot be reached."""
    import importlib

    module_name, _, class_name = DRIVER_CLASSES[spec.driver].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise UserError(f"instruments.{spec.name}: this mrfm has no driver for "
                        f"{spec.driver!r} ({module_name}.{class_name})") from None
    try:
        drv = cls(spec.resource, **_driver_kwargs(spec, role, limits=limits, cal=cal,
                                                  stage_temperature=stage_temperature))
    except (InstrumentError, OSError, ValueError) as exc:
        raise UserError(f"instruments.{spec.name}: cannot reach {spec.resource} "
                        f"({exc.__class__.__name__}: {exc}); check the address and that the "
                        "instrument is on") from None
    _socket_workarounds(drv)
    return drv


def _socket_workarounds(drv: Any) -> None:
    """Two fixes for raw TCP socket sessions of pyvisa-py (no effect on other sessions).

    * Nagle's algorithm off: a set command followed by its error query (``MOV``
      then ``ERR?``) otherwise waits for the peer's delayed ACK, ~40 ms per move.
    * A bounded ``discard_input``: pyvisa-py's ``clear()`` loops for ever on a
      socket the instrument has closed (``select`` keeps reporting it readable and
      ``recv`` returns nothing), so a driver retrying a query after a dropped
      connection would hang instead of raising :class:`InstrumentDisconnected`.
    """
    import select
    import socket

    try:
        res = drv._session
        session = res.visalib.sessions[res.session]
        sock = session.interface
        if not isinstance(sock, socket.socket):
            return
    except Exception:  # noqa: BLE001 - not a pyvisa-py socket session: nothing to fix
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def discard_input() -> None:
        pending = getattr(session, "_pending_buffer", None)
        if pending is not None:
            pending.clear()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                ready, _, _ = select.select([sock], [], [], 0.05)
                if not ready:
                    return
                data = sock.recv(4096)
            except OSError as exc:
                raise InstrumentDisconnected(f"{drv.model} {drv.resource_name}: {exc}") from None
            if not data:
                raise InstrumentDisconnected(
                    f"{drv.model} {drv.resource_name}: connection closed by the instrument")

    drv.discard_input = discard_input
