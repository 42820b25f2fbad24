"""The rig's own time per step of a scan, measured on a few probe points: :func:`probe_timing`
and :func:`probe_sites`.

The plan says how long a scan waits (settling, n x tau); how long the instruments take
to move, report on target and answer is the rig's own, and on the virtual rig it also
includes the simulation's work per reading. :func:`probe_timing` measures it after the
start interlocks, with moves far below any scan step, for
:meth:`mrfm.scan.estimate.DurationEstimator.duration`.

On a virtual rig the work per point depends on where the tip is: while the stage moves
and the lock-in integrates, the rig evaluates the signal along the tip's path (a map
look-up on the grid's nodes, the one-point solver between them wherever a spin may be
in resonance), so a point above the sample costs many times one beside it.
:func:`probe_sites` therefore times whole scan steps (the move from the previous point
of the plan, the settling wait, the reading) at scan positions spread over the plan, in
the order of :func:`spread_order`, after the approach.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from statistics import fmean, median
from typing import TYPE_CHECKING

from mrfm.scan.plan import Position
from mrfm.scan.rig_protocol import RigHandle, RigTiming

if TYPE_CHECKING:
    from mrfm.scan.rig_handle import DriverRig

#: moves and readings timed (the median is kept)
TIMING_PROBES = 3
#: longest wall wait between a probe's move and its reading, s (a slow plan's full settling
#: wait, 8 x 10 s, would make the probe last minutes)
PROBE_WAIT = 0.02
#: height step of the probe moves, m: each a new set-point (a stage or a virtual rig may cost
#: more for a new position than for the present one) yet below the sensors' noise
PROBE_STEP = 0.2e-9
#: instrument exchanges once per scan: start interlocks (~5), RF on and its read-back (~12),
#: the safe state's switching off and the read-back of what it changed (~43)
FIXED_EXCHANGES = 60
#: wall seconds of one line's SWMR flush (HDF5 data, mask, metadata; ~1 ms measured)
LINE_FLUSH = 1e-3


def probe_timing(rig: DriverRig, settle: float = 0.0) -> RigTiming:
    """Measure ``rig``'s own wall time per point, move, line and scan.

    Points of the scan's own kind: a move of :data:`PROBE_STEP` up from the tip's present
    position, the settling wait of ``settle`` rig seconds (at most :data:`PROBE_WAIT` of
    wall time, not counted: a virtual rig's work per reading grows with the simulated
    time between readings), a reading; then the move back, a round of the line checks,
    and lock-in queries for the time of one exchange.
    """
    clock = time.perf_counter
    here = rig.position()
    rig.read()  # the first reading also reads the slow channels: not a point's cost
    moves, points = [], []
    for k in range(1, TIMING_PROBES + 1):
        t0 = clock()
        rig.move_to((here[0], here[1], here[2] + k * PROBE_STEP))
        t1 = clock()
        time.sleep(min(settle / rig.time_scale, PROBE_WAIT))
        t2 = clock()
        rig.read()
        moves.append(t1 - t0)
        points.append(clock() - t2 + t1 - t0)
    rig.move_to(here)
    t0 = clock()
    rig.check_instruments()
    rig.temperature()
    line = clock() - t0 + LINE_FLUSH
    t0 = clock()
    for _ in range(TIMING_PROBES):
        rig.drivers.lockin.time_constant  # noqa: B018 - one exchange, timed
    exchange = (clock() - t0) / TIMING_PROBES
    return RigTiming(point=median(points), move=median(moves), line=line,
                     fixed=FIXED_EXCHANGES * exchange, park=rig.cal.park,
                     park_step=rig.cal.park_step)


#: the golden ratio's fractional part, the step of :func:`spread_order`
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
#: consecutive scan steps timed at each site of :func:`probe_sites` (after one step that
#: brings the tip there): a virtual rig's step varies from one to the next, not only from
#: place to place, so a site's few steps average that out for the price of one move there
SITE_STEPS = 4
#: untimed scan steps that bring the tip to a site: the first follows the long move from
#: the last site, after which a closed-loop stage settles (and creeps) for a while, and a
#: virtual rig evaluates its signal all along that; the timed steps start as the scan's do
LEAD_STEPS = 1
#: steps timed by :func:`probe_sites`: at least this many (where the scan has 8 x as many
#: points) ...
STEPS_MIN = 40
#: ... and at most this many, while the probes' time stays below :data:`STEPS_BUDGET`
STEPS_MAX = 120
#: fraction of the projected scan time the probes may take beyond :data:`STEPS_MIN`
STEPS_BUDGET = 0.05


def spread_order(n: int) -> Iterator[int]:
    """Indices 1 .. n-1, each once, every prefix spread evenly over the range:
    ``1 + floor(frac(k phi) (n - 1))`` for k = 0, 1, 2, ... (phi the golden ratio;
    repeats skipped).

    An additive recurrence with an irrational step (a Kronecker sequence) never locks to
    the plan's line length, so the sites fall at different columns as well as on different
    lines (dyadic fractions of a 2**k-point raster all land at its line starts). Index 0 is
    left out: a timed step needs a previous point.
    """
    m = n - 1
    seen: set[int] = set()
    k = 0
    while len(seen) < m:
        i = 1 + min(m - 1, int(math.modf(k * GOLDEN)[0] * m))
        k += 1
        if i not in seen:
            seen.add(i)
            yield i
        if k > 8 * m + 16:  # the three-gap theorem fills every index long before this
            yield from (j for j in range(1, n) if j not in seen)
            return


def probe_sites(
    rig: RigHandle,
    todo: Sequence[Position],
    *,
    wait: Callable[[], None],
    wait_wall: float,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, int]:
    """Mean wall time of one scan step at positions spread over ``todo``, s.

    At each site ``i`` (:func:`spread_order` over the points that have :data:`LEAD_STEPS`
    points before them and :data:`SITE_STEPS` - 1 after them): the moves to the
    :data:`LEAD_STEPS` points before ``todo[i]``, each with ``wait()`` and a reading (not
    timed: they put the tip, its settling, and a virtual lock-in's integration, where the
    scan has them); then :data:`SITE_STEPS` timed steps as the scan makes them: the move to the next
    point, ``wait()`` and the reading, less the nominal wait ``wait_wall`` (so a step
    includes the wait's overrun, which grows with the machine's load). At least
    :data:`STEPS_MIN` steps (at most an eighth of the scan's points), then more while the
    probes' whole time stays below :data:`STEPS_BUDGET` of the projected scan (points x
    (``wait_wall`` + mean step)), at most :data:`STEPS_MAX`. The tip is left at ``todo[0]``.

    Returns
    -------
    (float, int)
        Mean step time beyond the nominal wait (move, reading, the wait's overrun), s;
        the number of steps timed.
    """
    n = len(todo)
    run = max(1, min(SITE_STEPS, n - 1))
    lead = min(LEAD_STEPS, n - run)
    least = min(STEPS_MIN, max(run, n // 8))
    steps: list[float] = []
    t_start = clock()
    for i in spread_order(n - run - lead + 2):
        if len(steps) >= least:
            projected = n * (wait_wall + fmean(steps))
            if len(steps) >= STEPS_MAX or clock() - t_start >= STEPS_BUDGET * projected:
                break
        i += lead - 1  # the first timed point; the lead-in steps before it
        for j in range(i - lead, i):
            rig.move_to(todo[j])
            wait()
            rig.read()
        for j in range(i, i + run):
            t0 = clock()
            rig.move_to(todo[j])
            wait()
            rig.read()
            steps.append(clock() - t0 - wait_wall)
    if todo:
        rig.move_to(todo[0])
    return (fmean(steps) if steps else 0.0), len(steps)
