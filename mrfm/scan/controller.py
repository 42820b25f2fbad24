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
during every wait, so the scan stops within one point (or one short sleep).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.scan.plan import Position, ScanPlan
from mrfm.scan.rig_protocol import RigHandle
from mrfm.scan.safety import InterlockError, SafetyLimits
from mrfm.scan.store import ScanStore
from mrfm.scan.watch import FrozenReadings, InstrumentStuck

#: longest single sleep while waiting (s): the stop flag is checked at least this often
POLL_INTERVAL = 0.05
#: a tip this close below the safe height (m, sensor noise) counts as at the safe height
HEIGHT_TOLERANCE = 1e-9
#: wall seconds a settling wait overruns its nominal length (the clock reads and the sleep's
#: wake-up; ~0.1 ms on Linux), counted per point in the estimate
WAIT_OVERRUN = 1e-4


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


class StopFlag:
    """Set by SIGINT/SIGTERM (or by :meth:`request`); checked by the loop between points."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    def request(self, reason: str = "stop requested") -> None:
        """Ask the scan to stop at the next check."""
        if self.signal_name is None:
            self.signal_name = reason
        self._event.set()

    @property
    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()


@contextmanager
def _signals_set_flag(flag: StopFlag) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``flag`` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        flag.request(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


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
        estimate (:func:`mrfm.scan.probe.probe_sites`). Default: on a virtual rig
        (``time_scale`` != 1), whose time per point depends on where the tip is; a real
        rig's does not, and its tip is not moved about over the sample before the scan.
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
        #: wall seconds of the whole run, estimated before it (:meth:`estimate_duration`) and
        #: again once its first line is measured (that line's time per point extrapolated)
        self.estimate: float | None = None
        self.estimate_after_first_line: float | None = None
        self._tail = 0.0  # estimated wall time of the safe state after the last point
        #: simulated seconds per wall second (virtual rig); waits are divided by it
        self.time_scale = float(rig.time_scale)
        self.probe_sites = self.time_scale != 1.0 if probe_sites is None else bool(probe_sites)
        #: mean wall time of a scan step (move and reading) timed at spread scan positions,
        #: and how many were timed (:func:`mrfm.scan.probe.probe_sites`; None: not probed)
        self.site_step: float | None = None
        self.steps_timed = 0
        self._site_wait = 0.0  # their nominal settling wait, wall s

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
        """Wall seconds :meth:`run` will take for the points not yet measured.

        The settling waits of the plan (divided by the rig's time scale), plus the rig's own
        time (:meth:`RigHandle.timing`: per point, per line, once; per point the scan steps
        timed at spread scan positions instead, where :attr:`site_step` holds them) and the
        moves of the approach (across at the safe height, down in ``approach_step``; none
        when ``approached``: the tip is at the first point) and of the safe state (up to
        the safe height and across to the park position in ``park_step``).
        """
        tau = self.rig.time_constant()
        timing = self.rig.timing(self.plan.settle_wait(tau))
        overrun = WAIT_OVERRUN if self.plan.settle_wait(tau) > 0 else 0.0
        step = timing.point
        if self.site_step is not None:  # the timed steps include the waits' overrun
            step, overrun = self.site_step, 0.0
        measured = self.store.measured
        total = self.plan.estimate_duration(
            self.grid, time_constant=tau, move_time=step + overrun,
            time_scale=self.time_scale, line_time=timing.line, measured=measured)
        todo = self._todo()
        if not todo:
            self._tail = timing.fixed
            self.estimate = total + timing.fixed
            return self.estimate
        safe, step_down = self.plan.safe_height, self.plan.approach_step
        first, last = todo[0], todo[-1]
        moves = 0
        if not approached:
            here = self.rig.position()
            moves = (math.ceil(max(0.0, safe - here[2]) / step_down) + 1
                     + math.ceil(max(0.0, safe - first[2]) / step_down - 1e-9))
        park = timing.park_step or math.inf
        retract = math.ceil(max(0.0, safe - last[2]) / park - 1e-9) + max(1, math.ceil(
            math.hypot(timing.park[0] - last[0], timing.park[1] - last[1]) / park - 1e-9))
        self._tail = retract * timing.move + timing.fixed / 2
        self.estimate = total + (moves + retract) * timing.move + timing.fixed
        return self.estimate

    def _todo(self) -> list[Position]:
        """The positions not yet measured, in the plan's order."""
        measured = self.store.measured
        return [pos for line in self.plan.lines(self.grid) for idx, pos in line
                if not measured[idx]]

    def _probe_sites(self, todo: list[Position]) -> None:
        """Approach the first point, then time scan steps spread over ``todo``
        (:func:`mrfm.scan.probe.probe_sites`); the tip ends at the first point."""
        from mrfm.scan.probe import probe_sites

        settle = self.plan.settle_time + self.plan.lockin_settle * self.rig.time_constant()
        self._site_wait = settle / self.time_scale
        self._approach(todo[0])
        self.site_step, self.steps_timed = probe_sites(
            self.rig, todo, wait=lambda: self._wait(settle), wait_wall=self._site_wait,
            clock=self.clock)

    def _announce_estimate(self, t0: float, *, approached: bool = False) -> None:
        """:meth:`estimate_duration` (the time spent since ``t0``, probes included, added)
        and notify it."""
        from mrfm.scan.run import hms

        estimate = self.estimate_duration(approached=approached) + (self.clock() - t0)
        self.estimate = estimate
        todo = int(self.store.measured.size - self.store.measured.sum())
        scale = (f" (virtual rig, time scale {self.time_scale:g})"
                 if self.time_scale != 1 else "")
        sites = (f"; {self.steps_timed} scan steps timed, {self.site_step * 1e3:.3g} ms each"
                 if self.site_step is not None else "")
        self.notify(f"{todo} of {self.store.measured.size} points to measure "
                    f"({self.plan.pattern}); estimated duration {hms(estimate)} (settling "
                    f"waits and the instruments' own time{sites}){scale}")

    def _refine_estimate(self, elapsed: float, line_time: float, line_points: int) -> None:
        """After the first line: the time so far plus the remaining points at that line's
        wall time per point, plus the safe state; notified. Where scan steps were timed
        over the whole plan (:attr:`site_step`) they count as points too: the first line
        alone is one edge of the scan, and a virtual rig's cost varies across it."""
        remaining = int(self.store.measured.size - self.store.measured.sum())
        if not remaining or not line_points:
            return
        per_point = line_time / line_points
        if self.site_step is not None:
            sites = self.steps_timed * (self.site_step + self._site_wait)
            per_point = (line_time + sites) / (line_points + self.steps_timed)
        self.estimate_after_first_line = elapsed + remaining * per_point + self._tail
        from mrfm.scan.run import hms

        self.notify(f"first line: {line_time / line_points * 1e3:.3g} ms per point; estimated "
                    f"duration {hms(self.estimate_after_first_line)} in all")

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
        done_here = 0
        loop_time = 0.0
        settle_time = 0.0
        frozen = FrozenReadings(self.plan.stuck_reads)
        with _signals_set_flag(self.stop):
            try:
                self.preflight()  # the start interlocks first: nothing moves if they refuse
                approached = False
                todo_all = self._todo() if self.probe_sites else []
                if len(todo_all) > 1:
                    # RF on first: a virtual rig's work per point depends on it
                    self.rig.prepare(limits=self.limits)
                    self._probe_sites(todo_all)
                    approached = True
                    self._announce_estimate(t0, approached=True)
                else:
                    self._announce_estimate(t0)
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
                        self._refine_estimate(self.clock() - t0,
                                              self.clock() - t_line + t_check, len(todo))
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
