"""The rig's own time per step of a scan, measured on a few probe points: :func:`probe_timing`.

The plan says how long a scan waits (settling, n x tau); how long the instruments take
to move, report on target and answer is the rig's own, and on the virtual rig it also
includes the simulation's work per reading. :func:`probe_timing` measures it after the
start interlocks, with moves far below any scan step, for
:meth:`mrfm.scan.controller.ScanController.estimate_duration`.
"""

from __future__ import annotations

import time
from statistics import median
from typing import TYPE_CHECKING

from mrfm.scan.rig_protocol import RigTiming

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
