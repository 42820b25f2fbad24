"""Scan duration estimates made before the first point (issue 17.6: within 30 % on the
virtual rig).

A virtual rig's time per point depends on where the tip is (it evaluates the signal along
the tip's path: map look-ups on the grid's nodes, the one-point solver between them near
the sample), so the estimate times scan steps at positions spread over the plan
(:func:`mrfm.scan.probe.probe_sites`). Truths: a scripted rig on a fake clock whose step
cost is known per position (the estimate must match the run's own clock), and five scans
on the virtual rig whose wall time is measured.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from mrfm.config import ScanGrid, load
from mrfm.scan import run_scan
from mrfm.scan.controller import ScanController
from mrfm.scan.plan import ScanPlan
from mrfm.scan.probe import SITE_STEPS, STEPS_MAX, probe_sites, spread_order
from mrfm.scan.rig_protocol import RigTiming
from mrfm.scan.store import ScanStore

from .scanfiles import write_experiment, write_rig
from .test_controller import CHANNELS, LIMITS, ScriptedRig

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRID = ScanGrid(x=np.linspace(-100e-9, 100e-9, 20), y=np.linspace(-100e-9, 100e-9, 20),
                height=np.array([30e-9]))
PLAN = ScanPlan(settle_time=1e-3, lockin_settle=2.0, safe_height=1e-6, approach_step=200e-9)


def move_cost(x: float, y: float) -> float:
    """Wall time of a move to (x, y), s: 1 ms plus 20 ms near the axis (a Gaussian of 40 nm
    r.m.s.), where a virtual rig runs its solver along the tip's path."""
    return 1e-3 + 20e-3 * math.exp(-(x * x + y * y) / (2 * (40e-9) ** 2))


class CostlyRig(ScriptedRig):
    """A virtual-like rig on a fake clock: moves cost :func:`move_cost`, a reading 0.5 ms.
    Its ``timing()`` is what probes at the park position see (the cheap 1.5 ms)."""

    time_scale = 100.0

    def __init__(self, clock: list[float]):
        super().__init__()
        self.now = clock

    def move_to(self, position):
        super().move_to(position)
        self.now[0] += move_cost(position[0], position[1])

    def read(self):
        self.now[0] += 0.5e-3
        return super().read()

    def timing(self, settle=0.0):
        return RigTiming(point=1.5e-3, move=1e-3, line=0.0, fixed=0.0, park=(0.0, 0.0),
                         park_step=0.0)


def _run(tmp_path, name, **kwargs):
    now = [0.0]
    rig = CostlyRig(now)
    store = ScanStore.create(tmp_path / name, axes=PLAN.axes(GRID), channels=CHANNELS,
                             config_text="a = 1")
    ctl = ScanController(rig, PLAN, GRID, store, limits=LIMITS, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s), **kwargs)
    outcome = ctl.run()
    return ctl, outcome, rig


def test_steps_timed_over_the_plan_give_the_duration_where_cost_depends_on_position(tmp_path):
    # the points: 400 x (30 us wait + 0.5 ms reading) and their moves
    truth = (400 * (PLAN.settle_wait(1e-3) / 100.0 + 0.5e-3)
             + sum(move_cost(x, y) for x in GRID.x for y in GRID.y))
    ctl, outcome, rig = _run(tmp_path, "probed.h5")
    assert outcome.status == "complete" and ctl.steps_timed >= 40
    # the run's own clock: the points, and before them the approach and the probes
    assert outcome.elapsed_s > truth
    # 10 sites of 4 steps sample the centre's cost to about 15 % here (1.14 measured)
    assert abs(ctl.estimate / outcome.elapsed_s - 1) <= 0.25, (ctl.estimate, outcome.elapsed_s)
    # probes at the park position alone (the rig's timing()) miss the costly centre
    ctl0, outcome0, _ = _run(tmp_path, "parked.h5", probe_sites=False)
    assert ctl0.site_step is None
    assert ctl0.estimate / outcome0.elapsed_s < 0.5, (ctl0.estimate, outcome0.elapsed_s)
    # the probes visit scan positions only, and leave the tip at the first point
    targets = {tuple(p) for p in PLAN.positions(GRID)}
    moves = [c[1] for c in rig.calls if c[0] == "move"]
    descent_end = moves.index(tuple(PLAN.positions(GRID)[0]))  # approached: then only targets
    assert all(m in targets for m in moves[descent_end:])
    assert len(moves) - descent_end > 400 + ctl.steps_timed


def test_a_resumed_scan_is_estimated_from_the_points_left(tmp_path):
    now = [0.0]
    rig = CostlyRig(now)
    path = tmp_path / "resume.h5"
    store = ScanStore.create(path, axes=PLAN.axes(GRID), channels=CHANNELS, config_text="a = 1")
    stop = {"at": 200}

    def progress(done, total):
        if done >= stop["at"]:
            raise KeyboardInterrupt

    ctl = ScanController(rig, PLAN, GRID, store, limits=LIMITS, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s), progress=progress)
    with pytest.raises(Exception, match="interrupted"):
        ctl.run()
    store = ScanStore.resume(path, config_text="a = 1", channels=CHANNELS, axes=PLAN.axes(GRID))
    left = int(store.measured.size - store.measured.sum())
    ctl = ScanController(CostlyRig(now), PLAN, GRID, store, limits=LIMITS, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    outcome = ctl.run()
    assert outcome.points_this_run == left == 200
    assert abs(ctl.estimate / outcome.elapsed_s - 1) <= 0.15, (ctl.estimate, outcome.elapsed_s)


def test_sites_spread_over_the_plan_and_stop_within_budget():
    # every index once, and an early prefix already covers the range evenly, lines and
    # columns alike (a 16 x 16 raster: dyadic fractions would all fall at line starts)
    for n in (2, 3, 17, 256, 1000):
        assert sorted(spread_order(n)) == list(range(1, n))
    first = list(spread_order(256))[:16]
    assert len({i // 16 for i in first}) >= 12 and len({i % 16 for i in first}) >= 10
    clock = [0.0]

    class Instant:
        def move_to(self, p):
            clock[0] += 1e-3

        def read(self):
            clock[0] += 1e-3

    todo = [(float(i), 0.0, 1.0) for i in range(100000)]
    step, timed = probe_sites(Instant(), todo, wait=lambda: None, wait_wall=0.0,
                              clock=lambda: clock[0])
    assert step == pytest.approx(2e-3) and timed == STEPS_MAX
    assert timed % SITE_STEPS == 0


def _ratio(exp, rig, out):
    result = run_scan(exp, rig, out, overwrite=True)
    assert result.complete, result.status
    return result.estimated_start_s / result.elapsed_s


CASES = {
    # what `mrfm demo` scans: 32 x 32 on the map's nodes, between them interpolated
    "demo": lambda tmp: (load(os.path.join(ROOT, "configs", "demo.toml")), "virtual"),
    # waits about as long as the rig's own time (time scale 20000, 8 tau of 10 s)
    "waits": lambda tmp: (write_experiment(tmp, nx=8, ny=6),
                          write_rig(tmp, write_experiment(tmp, nx=8, ny=6))),
    # four point spins: between nodes the one-point solver wherever a spin may resonate
    "point spins": lambda tmp: (load(os.path.join(ROOT, "configs", "electron-spins.toml"),
                                     overrides={"scan.x": ["-150 nm", "150 nm", 16],
                                                "scan.y": ["-150 nm", "150 nm", 16]}),
                                "virtual"),
    # the demo on a grid coarser than its voxels, one-way (fly-back moves): the solver
    # between nodes, costly above the rod only
    "coarse one-way": lambda tmp: (load(os.path.join(ROOT, "configs", "demo.toml"),
                                        overrides={"plan.pattern": "one-way",
                                                   "scan.x": ["-62 nm", "62 nm", 16],
                                                   "scan.y": ["-62 nm", "62 nm", 16]}),
                                   "virtual"),
    # a continuous film of many voxels: every step runs the solver (~0.1 s)
    "film": lambda tmp: (load(os.path.join(ROOT, "configs", "mamin2007.toml"),
                              overrides={"scan.x": ["-300 nm", "300 nm", 6],
                                         "scan.y": ["-300 nm", "300 nm", 6]}), "virtual"),
}


@pytest.mark.wallclock
@pytest.mark.parametrize("case", list(CASES))
def test_the_estimate_before_the_start_is_within_30_percent_on_the_virtual_rig(case, tmp_path):
    """Up to five scans: the machine running the tests may be shared, and a load that
    changes between the probes and the scan is beyond any estimate; one of them must be
    within 30 %. (On the suite's three workers over two cores, three scans in a row were
    once all off, at 1.84, 0.63 and 0.58, while the other workers compiled kernels.)"""
    exp, rig = CASES[case](tmp_path)
    ratios = []
    for attempt in range(5):
        ratios.append(_ratio(exp, rig, tmp_path / f"scan{attempt}.h5"))
        if abs(ratios[-1] - 1) <= 0.30:
            break
    assert abs(ratios[-1] - 1) <= 0.30, (case, ratios, os.getloadavg())
