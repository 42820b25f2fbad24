"""The scan's view of a rig, implemented over the mrfm pyvisa drivers: :class:`DriverRig`.

Each instrument of the rig file is opened with its driver (:mod:`mrfm.scan.instruments`)
and given its registry role (:mod:`mrfm.scan.roles`, which also lists the rig-file
options the scan reads). After opening, the rig file's settings are applied (lock-in
time constant and phase, RF frequency, scanner servos) and every instrument's
settings can be read back for the scan file's logbook (:meth:`DriverRig.logbook`,
:mod:`mrfm.scan.logbook`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from mrfm.drivers.base import Logged
from mrfm.drivers.errors import InstrumentError, InstrumentTimeout, LimitError
from mrfm.errors import UserError
from mrfm.physics.lockin import filter_order
from mrfm.rigdef.rigfile import InstrumentSpec, RigFile
from mrfm.scan.instruments import RigDrivers, open_drivers, temperature_input
from mrfm.scan.plan import Position
from mrfm.scan.rig_protocol import RigTiming
from mrfm.scan.roles import (
    REQUIRED_ROLES,
    UM,
    ScannerCalibration,
    assign_roles,
    channels_for,
    ratio,
)
from mrfm.scan.store import Channel
from mrfm.scan.watch import ScannerNotFollowing
from mrfm.units import parse_quantity

if TYPE_CHECKING:
    import numpy.typing as npt

    from mrfm.config import Experiment
    from mrfm.scan.safety import SafetyLimits

__all__ = ["FIELD_CHANGING_STATES", "REQUIRED_ROLES", "DriverRig", "ScannerCalibration",
           "channels_for"]

#: AMI 430 ``STATE?`` codes while the field changes: ramping, manual up, manual down, zeroing
FIELD_CHANGING_STATES = (1, 4, 5, 6)

class DriverRig:
    """A :class:`~mrfm.scan.controller.RigHandle` over the pyvisa drivers.

    Open with :meth:`open` (a context manager that closes every instrument);
    ``time_scale`` is the rig file's (simulated seconds per wall second for a
    virtual rig, 1 for real hardware).
    """

    def __init__(self, rig: RigFile, drivers: RigDrivers,
                 roles: Mapping[str, InstrumentSpec], *, experiment: Experiment | None = None):
        self.rig = rig
        self.drivers = drivers
        self.roles = dict(roles)
        self.experiment = experiment
        self.time_scale = float(rig.time_scale)
        scanner_spec = roles["scanner"]
        self.cal = ScannerCalibration.from_options(
            scanner_spec.options, f"instruments.{scanner_spec.name}")
        lockin_opts = roles["lockin"].options
        where = f"instruments.{roles['lockin'].name}"
        self.force_per_volt = (ratio(lockin_opts["force_per_volt"], "N/V",
                                      f"{where}.force_per_volt")
                               if "force_per_volt" in lockin_opts else None)
        self.frequency_per_volt = (ratio(lockin_opts["frequency_per_volt"], "Hz/V",
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
        #: last set-point of the scanner (tip position, m) and of the RF output (None: unset)
        self._target: Position | None = None
        self.rf_set_on: bool | None = None
        self._timing: RigTiming | None = None
        #: called with (instrument name, its settings read back) after the scan changed
        #: that instrument (the scan file's logbook; see :mod:`mrfm.scan.logbook`)
        self.on_change: Callable[[str, Mapping[str, Logged]], None] | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    @contextlib.contextmanager
    def open(cls, rig: RigFile, *, experiment: Experiment | None = None
             ) -> Iterator[DriverRig]:
        """Open every instrument of ``rig`` (a parsed rig file with resource strings).

        Raises
        ------
        UserError
            A missing role, an instrument without a resource string, or a
            resource that cannot be reached (nothing has moved).
        """
        roles = assign_roles(rig)
        scanner = roles["scanner"]
        ScannerCalibration.from_options(scanner.options, f"instruments.{scanner.name}")
        stage_temperature = (float(experiment.stage.temperature)
                             if experiment is not None else None)
        with open_drivers(roles, limits=rig.limits,
                          stage_temperature=stage_temperature) as drivers:
            handle = cls(rig, drivers, roles, experiment=experiment)
            handle._identify()
            handle._configure()
            yield handle

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
        lockin = self.drivers.lockin
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
        scanner = self.drivers.scanner
        for ax in self.cal.axes:
            scanner.set_servo(ax, True)

    def check_targets(self, positions: npt.ArrayLike, *, safe_height: float) -> None:
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
        scanner = self.drivers.scanner
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
        if self.drivers.rf is None or self.experiment is None:
            return
        spec = self.roles["rf"]
        where = f"instruments.{spec.name}"
        explicit = "frequency_multiplier" in spec.options
        mult = ratio(spec.options.get("frequency_multiplier", 1.0), "",
                      f"{where}.frequency_multiplier")
        if mult <= 0:
            raise UserError(f"{where}.frequency_multiplier: must be > 0, got {mult:g}")
        f = float(self.experiment.rf.frequency) / mult
        try:
            self.drivers.rf.frequency = f
        except LimitError as exc:
            if explicit:
                raise UserError(f"{where}: {exc}") from None
            self.notes.append(
                f"RF frequency not set: the experiment's {f:.6g} Hz is outside the "
                f"{spec.driver} range (give {where}.frequency_multiplier for an external "
                "multiplier); the source keeps its present frequency")

    # ------------------------------------------------------------------ logbook
    def coarse_axes(self) -> tuple[int, ...]:
        """The ANC300 axes the rig uses (its rig-file ``axes``, default 1, 2, 3)."""
        axes = self.roles["coarse"].options.get("axes", [1, 2, 3])
        if not isinstance(axes, list) or not all(
                isinstance(a, (int, str)) and str(a).isdigit() for a in axes):
            raise UserError(f"instruments.{self.roles['coarse'].name}.axes: expected a list of "
                            f"axis numbers 1-7, got {axes!r}")
        return tuple(int(a) for a in axes)

    def read_settings(self, role: str) -> dict[str, Logged]:
        """One instrument's settings read back through its driver, plus its ``idn``."""
        coarse = self.drivers.coarse
        values = dict(coarse.logbook(self.coarse_axes()) if role == "coarse" and coarse
                      else self.drivers[role].logbook())
        values["idn"] = Logged(self._idn.get(self.roles[role].name, ""), "")
        return values

    def logbook(self) -> dict[str, dict[str, Logged]]:
        """Every instrument's settings read back: instrument name -> setting -> value, unit."""
        return {self.roles[role].name: self.read_settings(role)
                for role, _ in self.drivers.items()}

    def changed(self, role: str) -> None:
        """Read ``role``'s instrument back after the scan changed it; report it to
        :attr:`on_change`. A failed read-back (a faulty instrument) is skipped: the
        logbook keeps the last values it read."""
        if self.on_change is None:
            return
        try:
            values = self.read_settings(role)
        except InstrumentError:
            return
        self.on_change(self.roles[role].name, values)

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
            self._tau = float(self.drivers.lockin.time_constant)
        return self._tau

    def filter_order(self) -> int:
        """Poles of the lock-in's output filter, from its slope (6 dB/oct each)."""
        return filter_order(int(round(float(self.drivers.lockin.filter_slope))))

    def prepare(self, *, limits: SafetyLimits) -> None:
        """Switch the RF on for the measurement, after the start interlocks passed.

        The level is the rig file's ``power`` (else the synthesizer's present
        set-point) and must not exceed the rig's RF power limit; the frequency is
        the experiment's ``rf.frequency``.
        """
        if self.drivers.rf is None:
            return
        from mrfm.scan.safety import InterlockError

        spec = self.roles["rf"]
        rf = self.drivers.rf
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
        self.rf_set_on = True
        self.changed("rf")

    def pause(self) -> None:
        """RF output off while the scan waits (temperature interlock)."""
        if self.drivers.rf is not None:
            self.drivers.rf.output = False
            self.rf_set_on = False
            self.changed("rf")

    def timing(self, settle: float = 0.0) -> RigTiming:
        """The rig's own wall time per step, measured once on probe points (cached; see
        :func:`mrfm.scan.probe.probe_timing`)."""
        if self._timing is None:
            from mrfm.scan.probe import probe_timing

            self._timing = probe_timing(self, settle)
        return self._timing

    def check_instruments(self) -> None:
        """Once per line, the instruments no point reads: each must answer, the RF output
        must be as the scan set it and the magnet must hold its field.

        Raises
        ------
        InstrumentError
            A timeout, lost connection or garbage reply, or an RF output found in
            another state than the scan set.
        InterlockError
            The magnet supply started changing the field during the scan.
        """
        from mrfm.scan.safety import InterlockError

        d = self.drivers
        if d.rf is not None and self.rf_set_on is not None and bool(d.rf.output) != self.rf_set_on:
            raise InstrumentError(
                f"instruments.{self.roles['rf'].name}: RF output reads "
                f"{'off' if self.rf_set_on else 'on'} though the scan switched it "
                f"{'on' if self.rf_set_on else 'off'}")
        if d.magnet is not None and self.field_ramping():
            raise InterlockError(f"instruments.{self.roles['magnet'].name}: the magnet supply "
                                 "started changing the field during the scan")
        if d.awg is not None:
            d.awg.output  # noqa: B018 - answers (a timeout, lost link or garbage raises)
        if d.coarse is not None:
            d.coarse.mode(self.coarse_axes()[0])
        if d.interferometer is not None:
            d.interferometer.mode  # noqa: B018 - answers

    def position(self) -> Position:
        """Tip position from the scanner's sensors, (x, y, height) m."""
        return self.cal.to_tip(self.drivers.scanner.position())

    def move_to(self, position: Position) -> None:
        """Closed-loop move of the fine scanner; returns once every axis is on target."""
        scanner = self.drivers.scanner
        scanner.move(self.cal.to_axes(position))
        self._target = position
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
        x, y = self.drivers.lockin.xy()
        out = {"lockin_x": float(x), "lockin_y": float(y)}
        if self.force_per_volt is not None:
            out["force"] = out["lockin_x"] * self.force_per_volt
        if self.frequency_per_volt is not None:
            out["frequency_shift"] = out["lockin_x"] * self.frequency_per_volt
        out.update(self._slow_channels())
        tip = self.cal.to_tip(self.drivers.scanner.position())
        self.check_follows(tip)
        out.update(tip_x=tip[0], tip_y=tip[1], tip_height=tip[2])
        return out

    def check_follows(self, tip: Position) -> None:
        """Raise :class:`ScannerNotFollowing` if ``tip`` (read back after the stage reported
        on target) is farther than ``position_tolerance`` from the last set-point."""
        if self._target is None:
            return
        tol = self.cal.position_tolerance
        for name, read, want in zip(("x", "y", "height"), tip, self._target, strict=True):
            if not abs(read - want) <= tol:
                raise ScannerNotFollowing(
                    f"instruments.{self.roles['scanner'].name}: tip {name} reads {read:.6g} m "
                    f"after settling, set-point {want:.6g} m (tolerance {tol:.3g} m): the "
                    "scanner does not follow its set-point")

    def _slow_channels(self) -> dict[str, float]:
        """Temperature and field, read at most every :attr:`slow_interval` s (wall).

        Both change on time scales of seconds (the cryostat's thermal time constant, a
        magnet that the start interlock requires to hold its field), so reading them at
        every point would only double the time per point.
        """
        now = time.monotonic()
        if self._slow is None or now - self._slow_at >= self.slow_interval:
            slow = {}
            if self.drivers.temperature is not None:
                slow["temperature"] = self.temperature()
            if self.drivers.magnet is not None:
                slow["field"] = float(self.drivers.magnet.field)
            self._slow, self._slow_at = slow, now
        return dict(self._slow)

    def temperature(self) -> float:
        """Stage temperature, K (-inf without a temperature controller: no interlock)."""
        if self.drivers.temperature is None:
            return -math.inf
        sensor = temperature_input(self.roles["temperature"])
        return float(self.drivers.temperature.temperature(sensor))

    def field_ramping(self) -> bool:
        """True while the AMI 430 changes the field (ramping, manual up/down, zeroing)."""
        if self.drivers.magnet is None:
            return False
        return int(self.drivers.magnet.state) in FIELD_CHANGING_STATES

    def field(self) -> float:
        """Magnet field, T (NaN without a magnet supply)."""
        if self.drivers.magnet is None:
            return math.nan
        return float(self.drivers.magnet.field)

    def rf_power(self) -> float:
        """RF set-point in dBm while the output is on; -inf when off or absent."""
        if self.drivers.rf is None:
            return -math.inf
        rf = self.drivers.rf
        return float(rf.power) if rf.output else -math.inf

    # ------------------------------------------------------------------ safe state
    def safe_state(self, *, safe_height: float) -> list[str]:
        """RF off, AWG outputs off, tip retracted and parked slowly, steppers grounded
        (:func:`mrfm.scan.safe_state.make_safe`); returns the steps that failed."""
        from mrfm.scan.safe_state import make_safe

        return make_safe(self, safe_height)
