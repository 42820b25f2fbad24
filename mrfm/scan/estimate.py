"""How long a scan will take: :class:`DurationEstimator`, the estimates of a
:class:`~mrfm.scan.controller.ScanController` run.

Two estimates of the run's wall time. Before the first point (:meth:`DurationEstimator.duration`,
announced by :meth:`~DurationEstimator.announce`): the plan's settling waits (divided by the
rig's time scale) and the rig's own time, measured by :func:`mrfm.scan.probe.probe_timing`
(:meth:`RigHandle.timing`) or, on a virtual rig whose time per point depends on where the tip
is, by scan steps timed at positions spread over the plan
(:meth:`~DurationEstimator.probe_sites`, over :func:`mrfm.scan.probe.probe_sites`), plus the
moves of the approach and of the safe state. Once the first line is measured
(:meth:`~DurationEstimator.after_first_line`): the time so far and the remaining points at
that line's time per point (pooled with the timed steps where there are any).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from mrfm.scan.plan import Position, ScanPlan
from mrfm.scan.probe import probe_sites
from mrfm.scan.rig_protocol import RigHandle
from mrfm.scan.run import hms
from mrfm.scan.store import ScanStore

#: wall seconds a settling wait overruns its nominal length (the clock reads and the sleep's
#: wake-up; ~0.1 ms on Linux), counted per point in the estimate
WAIT_OVERRUN = 1e-4


def unmeasured_positions(plan: ScanPlan, grid: object, measured: np.ndarray) -> list[Position]:
    """The positions whose ``measured`` flag (shape ``(points,)``, bool) is not set, in the
    plan's order."""
    return [pos for line in plan.lines(grid) for idx, pos in line if not measured[idx]]


class DurationEstimator:
    """The wall-time estimates of one scan run, and the scan steps timed for them.

    Parameters
    ----------
    rig : RigHandle
        The instruments (their time constant, timing, position).
    plan : ScanPlan
        Visiting order, settling, safe height and approach step.
    grid : ScanGrid
        The experiment's tip-position grid.
    store : ScanStore
        The scan file; its measured mask says which points are left.
    time_scale : float
        Simulated seconds per wall second (virtual rig); waits are divided by it.
    clock : callable
        Time source, s.
    notify : callable
        ``notify(message)`` for the announced estimates.
    """

    def __init__(
        self,
        rig: RigHandle,
        plan: ScanPlan,
        grid: object,
        store: ScanStore,
        *,
        time_scale: float,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] = lambda message: None,
    ):
        self.rig = rig
        self.plan = plan
        self.grid = grid
        self.store = store
        self.time_scale = time_scale
        self.clock = clock
        self.notify = notify
        #: wall seconds of the whole run, estimated before it (:meth:`duration`) and
        #: again once its first line is measured (that line's time per point extrapolated)
        self.estimate: float | None = None
        self.estimate_after_first_line: float | None = None
        #: mean wall time of a scan step (move and reading) timed at spread scan positions,
        #: and how many were timed (:meth:`probe_sites`; None: not probed)
        self.site_step: float | None = None
        self.steps_timed = 0
        self._site_wait = 0.0  # their nominal settling wait, wall s
        self._tail = 0.0  # estimated wall time of the safe state after the last point

    def duration(self, *, approached: bool = False) -> float:
        """Wall seconds the run will take for the points not yet measured.

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
        todo = unmeasured_positions(self.plan, self.grid, measured)
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

    def probe_sites(
        self,
        todo: Sequence[Position],
        *,
        approach: Callable[[Position], None],
        wait: Callable[[float], None],
    ) -> None:
        """``approach(todo[0])``, then time scan steps spread over ``todo``
        (:func:`mrfm.scan.probe.probe_sites`, each settling with ``wait(rig seconds)``) into
        :attr:`site_step` and :attr:`steps_timed`; the tip ends at the first point."""
        settle = self.plan.settle_time + self.plan.lockin_settle * self.rig.time_constant()
        self._site_wait = settle / self.time_scale
        approach(todo[0])
        self.site_step, self.steps_timed = probe_sites(
            self.rig, todo, wait=lambda: wait(settle), wait_wall=self._site_wait,
            clock=self.clock)

    def announce(self, t0: float, *, approached: bool = False) -> None:
        """:meth:`duration` (the time spent since ``t0``, probes included, added) into
        :attr:`estimate`, and notify it."""
        estimate = self.duration(approached=approached) + (self.clock() - t0)
        self.estimate = estimate
        todo = int(self.store.measured.size - self.store.measured.sum())
        scale = (f" (virtual rig, time scale {self.time_scale:g})"
                 if self.time_scale != 1 else "")
        sites = (f"; {self.steps_timed} scan steps timed, {self.site_step * 1e3:.3g} ms each"
                 if self.site_step is not None else "")
        self.notify(f"{todo} of {self.store.measured.size} points to measure "
                    f"({self.plan.pattern}); estimated duration {hms(estimate)} (settling "
                    f"waits and the instruments' own time{sites}){scale}")

    def after_first_line(self, elapsed: float, line_time: float, line_points: int) -> None:
        """After the first line: the time so far plus the remaining points at that line's
        wall time per point, plus the safe state, into :attr:`estimate_after_first_line`;
        notified. Where scan steps were timed over the whole plan (:attr:`site_step`) they
        count as points too: the first line alone is one edge of the scan, and a virtual
        rig's cost varies across it."""
        remaining = int(self.store.measured.size - self.store.measured.sum())
        if not remaining or not line_points:
            return
        per_point = line_time / line_points
        if self.site_step is not None:
            sites = self.steps_timed * (self.site_step + self._site_wait)
            per_point = (line_time + sites) / (line_points + self.steps_timed)
        self.estimate_after_first_line = elapsed + remaining * per_point + self._tail
        self.notify(f"first line: {line_time / line_points * 1e3:.3g} ms per point; estimated "
                    f"duration {hms(self.estimate_after_first_line)} in all")
