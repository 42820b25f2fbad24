"""The scan loop: move, settle, read, record, flush each line, and stop safely on anything.

The controller talks to the rig through :class:`RigHandle` (implemented over
the pyvisa drivers by :mod:`mrfm.scan.rig_handle`), so the same loop runs a
real cryostat and the virtual rig. Whatever ends the scan — completion, an
instrument fault, Ctrl-C or SIGTERM — the rig is put in its safe state (RF off,
outputs off, tip retracted and parked slowly) before the file is closed, and
every measured point is kept.

Ctrl-C and SIGTERM do not raise inside an instrument exchange (that would
leave a reply half read and the next command out of step): while the scan
runs they only set a stop flag, which the loop checks between points and
during every wait, so the scan stops within one point (or one short sleep)
(:mod:`mrfm.scan.stop`). The duration estimates are :mod:`mrfm.scan.estimate`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.physics.lockin import settling_time, step_response
from mrfm.scan.estimate import DurationEstimator, unmeasured_positions
from mrfm.scan.plan import Position, ScanPlan
from mrfm.scan.rig_protocol import RigHandle
from mrfm.scan.safety import InterlockError, SafetyLimits
from mrfm.scan.stop import StopFlag, signals_set_flag
from mrfm.scan.store import ScanStore
from mrfm.scan.watch import FrozenReadings, InstrumentStuck

#: longest single sleep while waiting (s): the stop flag is checked at least this often
POLL_INTERVAL = 0.05
#: a tip this close below the safe height (m, sensor noise) counts as at the safe height
HEIGHT_TOLERANCE = 1e-9


class ScanInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the scan (after the safe state was reached)."""


class SafeStateError(InstrumentError):
    """The scan ended but the rig could not be put in its safe state (never a success)."""


@dataclass
class ScanOutcome:
    """What a finished (or stopped) scan did.

    ``overhead_s`` is the wall time of the loop minus the settling waits (stage
    settle plus n x tau): moves, instrument reads, file writes and bookkeeping.
    """

    status: str
    points_measured: int
    points_total: int
    elapsed_s: float
    safe_state_problems: list[str]
    points_this_run: int = 0
    settle_s: float = 0.0
    overhead_s: float = 0.0

    @property
    def overhead_per_point(self) -> float:
        """Controller overhead per point measured in this run, s (NaN if none)."""
        return self.overhead_s / self.points_this_run if self.points_this_run else math.nan


def validate_plan(plan: ScanPlan, grid: object, limits: SafetyLimits) -> None:
    """Refuse a plan with a target outside the rig's ranges or a useless safe height.

    Raises
    ------
    UserError
        Naming the first offending target; nothing has been opened or moved.
    """
    positions = plan.positions(grid)
    limits.check_positions(positions)
    lo, hi = limits.height_range
    if not lo <= plan.safe_height <= hi:
        raise UserError(
            f"plan.safe_height: {plan.safe_height:.4g} m is outside the rig's height "
            f"range [{lo:.4g}, {hi:.4g}] m; nothing was moved"
        )
    if positions.size and plan.safe_height < positions[:, 2].max():
        raise UserError(
            f"plan.safe_height: {plan.safe_height:.4g} m is below the highest scan "
            f"target {positions[:, 2].max():.4g} m; raise it so that retracting moves away "
            "from the sample"
        )


class ScanController:
    """Runs a :class:`ScanPlan` over a grid on a rig, writing into a :class:`ScanStore`.

    Parameters
    ----------
    rig : RigHandle
        The instruments.
    plan : ScanPlan
        Visiting order, settling and safe height.
    grid : ScanGrid
        The experiment's tip-position grid (unused by point-list plans).
    store : ScanStore
        The open scan file; points already marked measured are skipped (resume).
    limits : SafetyLimits
        Interlocks; every target is checked against the ranges before anything moves.
    progress : callable, optional
        ``progress(done, total)`` after every flushed line.
    notify : callable, optional
        ``notify(message)`` for human-readable events (pause, resume, approach).
    clock, sleep : callable
        Time source (s) and sleep function; injectable for tests.
    stop : StopFlag, optional
        Stop flag shared with the caller (a fresh one by default).
    probe_sites : bool, optional
        Time scan steps at positions spread over the plan after the approach, before the
        estimate (:meth:`mrfm.scan.estimate.DurationEstimator.probe_sites`). Default: on a
        virtual rig (``time_scale`` != 1), whose time per point depends on where the tip is;
        a real rig's does not, and its tip is not moved about over the sample before the scan.
    """

    def __init__(
        self,
        rig: RigHandle,
        plan: ScanPlan,
        grid: object,
        store: ScanStore,
        *,
        limits: SafetyLimits,
        progress: Callable[[int, int], None] | None = None,
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stop: StopFlag | None = None,
        probe_sites: bool | None = None,
    ):
        self.rig = rig
        self.plan = plan
        self.grid = grid
        self.store = store
        self.limits = limits
        self.progress = progress
        self.notify = notify or (lambda message: None)
        self.clock = clock
        self.sleep = sleep
        self.stop = stop or StopFlag()
        #: simulated seconds per wall second (virtual rig); waits are divided by it
        self.time_scale = float(rig.time_scale)
        self.probe_sites = self.time_scale != 1.0 if probe_sites is None else bool(probe_sites)
        #: the run's duration estimates and the scan steps timed for them
        self.estimator = DurationEstimator(rig, plan, grid, store, time_scale=self.time_scale,
                                           clock=clock, notify=self.notify)

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check every target (and the safe height) against the rig's ranges; moves nothing."""
        validate_plan(self.plan, self.grid, self.limits)

    def preflight(self) -> None:
        """Interlocks that refuse to start: field ramping, RF power, temperature."""
        if self.rig.field_ramping():
            raise InterlockError("magnet supply is still ramping; wait until it holds the field")
        self.limits.check_field(self.rig.field())
        self.limits.check_rf_power(self.rig.rf_power())
        self.limits.check_temperature(self.rig.temperature())

    def estimate_duration(self, *, approached: bool = False) -> float:
        """Wall seconds :meth:`run` will take for the points not yet measured
        (:meth:`mrfm.scan.estimate.DurationEstimator.duration`)."""
        return self.estimator.duration(approached=approached)

    @property
    def estimate(self) -> float | None:
        """Wall seconds of the whole run, estimated before it (:meth:`estimate_duration`)."""
        return self.estimator.estimate

    @property
    def estimate_after_first_line(self) -> float | None:
        """The estimate once the first line is measured (its time per point extrapolated)."""
        return self.estimator.estimate_after_first_line

    @property
    def site_step(self) -> float | None:
        """Mean wall time of a scan step timed at spread scan positions (None: not probed)."""
        return self.estimator.site_step

    @property
    def steps_timed(self) -> int:
        """How many scan steps :attr:`site_step` was timed over."""
        return self.estimator.steps_timed

    # ------------------------------------------------------------------ waiting
    def _check_stop(self) -> None:
        if self.stop.is_set:
            raise KeyboardInterrupt

    def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` of rig time, checking the stop flag every :data:`POLL_INTERVAL`."""
        end = self.clock() + seconds / self.time_scale
        while True:
            self._check_stop()
            remaining = end - self.clock()
            if remaining <= 0:
                return
            self.sleep(min(remaining, POLL_INTERVAL))

    def _warn_settling(self, settle: float) -> None:
        """Say so when the wait per point (``settle`` rig s: the stage's settling and the
        lock-in's) is shorter than the lock-in's 99 % settling time for its slope
        (:func:`mrfm.physics.lockin.settling_time`): the readings then lag the signal."""
        tau = self.rig.time_constant()
        order = self.rig.filter_order()
        need = settling_time(tau, order, 0.99)
        if settle < need:
            reached = step_response(settle, time_constant=tau, order=order)
            self.notify(
                f"warning: the lock-in ({6 * order} dB/oct) reaches 99 % of a step in "
                f"{need / tau:.1f} time constants; the scan waits {settle / tau:.1f} per "
                f"point ({100 * reached:.0f} % settled): raise plan.lockin_settle")

    def _wait_for_temperature(self) -> None:
        """Pause while the temperature is above the interlock (up to the limit's timeout).

        While paused the rig's ``pause()`` (RF off) is called, and
        ``prepare(limits=...)`` (RF back on, re-checked) when the scan resumes.
        """
        temperature = self.rig.temperature()
        if temperature <= self.limits.max_temperature:
            return
        self.notify(
            f"paused: stage temperature {temperature:.3f} K above the interlock "
            f"{self.limits.max_temperature:.3f} K; waiting up to {self.limits.temperature_wait:g} s"
        )
        self.rig.pause()
        t_start = self.clock()
        while True:
            self._wait(min(1.0, self.limits.temperature_wait / 10))
            temperature = self.rig.temperature()
            if temperature <= self.limits.max_temperature:
                self.notify(f"resumed: stage temperature {temperature:.3f} K")
                self.rig.prepare(limits=self.limits)
                return
            if (self.clock() - t_start) * self.time_scale > self.limits.temperature_wait:
                raise InterlockError(
                    f"temperature {temperature:.3f} K above the interlock "
                    f"{self.limits.max_temperature:.3f} K for longer than "
                    f"{self.limits.temperature_wait:g} s"
                )

    # ------------------------------------------------------------------ the loop
    def run(self) -> ScanOutcome:
        """Scan every point not yet measured; always ends in the safe state.

        Raises
        ------
        ScanInterrupted
            After Ctrl-C or SIGTERM (rig safe, file closed).
        InstrumentError
            On an instrument fault or interlock (rig safe, file closed, data kept).
        """
        t0 = self.clock()
        total = int(self.store.measured.size)
        status = "running"
        problems: list[str] = []
        settle = self.plan.settle_time + self.plan.lockin_settle * self.rig.time_constant()
        self._warn_settling(settle)
        done_here = 0
        loop_time = 0.0
        settle_time = 0.0
        frozen = FrozenReadings(self.plan.stuck_reads)
        with signals_set_flag(self.stop):
            try:
                self.preflight()  # the start interlocks first: nothing moves if they refuse
                approached = False
                todo_all = (unmeasured_positions(self.plan, self.grid, self.store.measured)
                            if self.probe_sites else [])
                if len(todo_all) > 1:
                    # RF on first: a virtual rig's work per point depends on it
                    self.rig.prepare(limits=self.limits)
                    self.estimator.probe_sites(todo_all, approach=self._approach,
                                               wait=self._wait)
                    approached = True
                    self.estimator.announce(t0, approached=True)
                else:
                    self.estimator.announce(t0)
                    self.rig.prepare(limits=self.limits)
                for line in self.plan.lines(self.grid):
                    todo = [(idx, pos) for idx, pos in line if not self.store.measured[idx]]
                    if not todo:
                        continue
                    self._check_stop()
                    t_check = self.clock()
                    self.rig.check_instruments()
                    self._wait_for_temperature()
                    t_check = self.clock() - t_check
                    first = done_here == 0
                    if not approached:
                        self._approach(todo[0][1])
                        approached = True
                    t_line = self.clock()
                    line_settle = 0.0
                    for idx, pos in todo:
                        self._check_stop()
                        self.rig.move_to(pos)
                        if settle > 0:
                            t_s = self.clock()
                            self._wait(settle)
                            line_settle += self.clock() - t_s
                        values = self.rig.read()
                        self.store.write_point(idx, values, self.store.elapsed())
                        frozen.check(idx, values)
                    self.store.flush()
                    done_here += len(todo)
                    loop_time += self.clock() - t_line
                    settle_time += line_settle
                    if self.progress:
                        self.progress(int(self.store.measured.sum()), total)
                    if first:
                        self.estimator.after_first_line(
                            self.clock() - t0, self.clock() - t_line + t_check, len(todo))
                status = "complete" if self.store.complete else "incomplete"
            except KeyboardInterrupt:
                status = "interrupted"
                problems = self._finish(status)
                raise ScanInterrupted(
                    f"scan interrupted ({self.stop.signal_name or 'SIGINT'}); rig in safe state, "
                    f"{int(self.store.measured.sum())} of {total} points kept"
                ) from None
            except InstrumentError as exc:
                if isinstance(exc, InstrumentStuck):
                    self.store.discard(exc.indices)
                status = f"fault: {exc}"
                problems = self._finish(status)
                raise
            except BaseException as exc:
                status = f"error: {exc.__class__.__name__}: {exc}"
                problems = self._finish(status)
                raise
            problems = self._finish(status, fault_if_unsafe=True)
        return ScanOutcome(
            status, int(self.store.measured.sum()), total, self.clock() - t0, problems,
            points_this_run=done_here, settle_s=settle_time, overhead_s=loop_time - settle_time,
        )

    def _approach(self, first: Position) -> None:
        """Come down to the first point from the safe height, never crossing the sample.

        A tip below the safe height (``position()``) first goes straight up there to
        the safe height; then across at the safe height, and down in steps of at most
        ``plan.approach_step``.
        """
        x, y, h = first
        safe = max(h, self.plan.safe_height)
        x0, y0, h0 = self.rig.position()
        if h0 < safe - HEIGHT_TOLERANCE:
            self.notify(f"retract: up to the safe height {safe:.4g} m before moving across")
            self._vertical(x0, y0, h0, safe)
        self.notify(f"approach: to ({x:.4g}, {y:.4g}) m at {safe:.4g} m, then down to {h:.4g} m")
        self.rig.move_to((x, y, safe))
        self._vertical(x, y, safe, h)

    def _vertical(self, x: float, y: float, start: float, stop: float) -> None:
        """Move the height from ``start`` to ``stop`` in steps of at most ``approach_step``."""
        n = max(1, math.ceil(abs(stop - start) / self.plan.approach_step - 1e-9))
        for k in range(1, n + 1):
            self._check_stop()
            self.rig.move_to((x, y, stop if k == n else start + (stop - start) * k / n))

    def _finish(self, status: str, *, fault_if_unsafe: bool = False) -> list[str]:
        """Safe state first, then the file: status, flush, close.

        With ``fault_if_unsafe`` (a scan that ended by itself) a safe state that failed
        is a fault: the file says ``fault: safe state incomplete ...`` and
        :class:`SafeStateError` is raised (never a success with the rig left unsafe).
        """
        problems: list[str] = []
        try:
            problems = list(self.rig.safe_state(safe_height=self.plan.safe_height))
        except Exception as exc:  # noqa: BLE001 - keep going: the data must be saved
            problems = [f"safe state incomplete: {exc}"]
        for problem in problems:
            self.notify(f"warning: safe state: {problem}")
        unsafe = None
        if problems and fault_if_unsafe:
            unsafe = SafeStateError("safe state incomplete after the scan: " + "; ".join(problems))
            status = f"fault: {unsafe}"
        elif problems:
            status = f"{status}; " + "; ".join(problems)
        try:
            self.store.set_status(status)
            self.store.flush()
        finally:
            self.store.close()
        if unsafe is not None:
            raise unsafe
        return problems
