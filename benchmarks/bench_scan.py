"""Controller overhead per scan point, settling excluded (goal: <= 2 ms/point).

Two figures, printed as one JSON object on stdout:

* ``virtual_rig_ms_per_point``: the full loop on the virtual rig (instruments/virtual.toml
  served on 127.0.0.1, opened through the pyvisa drivers): closed-loop move of the
  E-727 and its on-target wait, lock-in read, tip-position read-back, the slow
  channels, the SWMR write and the per-line flush. The plan's settling (stage
  settle, n x tau) is set to zero, so what remains is the controller's own cost.
* ``controller_only_ms_per_point``: the same loop against an in-memory rig that
  answers at once: bookkeeping plus the HDF5 file alone.

Usage: ``python benchmarks/bench_scan.py [--quick]`` (``--quick``: a few seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mrfm.config import ScanGrid
from mrfm.scan.controller import ScanController
from mrfm.scan.plan import ScanPlan
from mrfm.scan.rig_protocol import RigTiming
from mrfm.scan.safety import SafetyLimits
from mrfm.scan.store import Channel, ScanStore


class _InstantRig:
    """Answers every request at once (for the controller-only figure)."""

    time_scale = 1.0
    _channels = [Channel(n, "V", n) for n in
                 ("lockin_x", "lockin_y", "temperature", "field", "tip_x", "tip_y", "tip_height")]

    def __init__(self):
        self.here = (0.0, 0.0, 1e-6)
        self.reads = 0

    def channels(self):
        return list(self._channels)

    def time_constant(self):
        return 0.0

    def move_to(self, position):
        self.here = position

    def position(self):
        return self.here

    def read(self):
        self.reads += 1  # readings that change, as a noisy lock-in's do
        return {c.name: 1.0 + 1e-9 * self.reads for c in self._channels}

    def temperature(self):
        return 4.2

    def field_ramping(self):
        return False

    def rf_power(self):
        return -math.inf

    def safe_state(self, *, safe_height):
        return []

    def identities(self):
        return {}

    def field(self):
        return math.nan

    def prepare(self, *, limits):
        pass

    def pause(self):
        pass

    def check_instruments(self):
        pass

    def timing(self, settle=0.0):
        return RigTiming()


def _grid(nx: int, ny: int) -> ScanGrid:
    return ScanGrid(x=np.linspace(-200e-9, 200e-9, nx), y=np.linspace(-200e-9, 200e-9, ny),
                    height=np.array([50e-9]))


def _run(rig, grid, folder: Path, name: str) -> float:
    plan = ScanPlan(settle_time=0.0, lockin_settle=0.0)
    store = ScanStore.create(folder / name, axes=plan.axes(grid), channels=rig.channels(),
                             config_text=name)
    outcome = ScanController(rig, plan, grid, store, limits=SafetyLimits()).run()
    return outcome.overhead_per_point


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grid, a few seconds")
    args = ap.parse_args(argv)
    nx, ny = (20, 5) if args.quick else (40, 25)
    grid = _grid(nx, ny)
    result: dict[str, object] = {"benchmark": "scan controller overhead", "points": nx * ny,
                                 "quick": args.quick, "goal_ms_per_point": 2.0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["controller_only_ms_per_point"] = 1e3 * _run(_InstantRig(), grid, folder, "a.h5")
        from mrfm.resources import data_dir
        from mrfm.rig import VirtualRig, load
        from mrfm.scan.rig_handle import DriverRig

        rig_file = load(data_dir("instruments") / "virtual.toml")
        # the shipped rig's experiment: its signal map is computed when the rig starts, so
        # a reading is a map lookup and the solver's cost is not the controller's
        rig_file = dataclasses.replace(rig_file, time_scale=50.0)
        with VirtualRig(rig_file) as virtual:
            specs = tuple(dataclasses.replace(s, resource=virtual.resources[s.name])
                          for s in rig_file.instruments)
            served = dataclasses.replace(rig_file, instruments=specs)
            with DriverRig.open(served) as rig:
                t0 = time.perf_counter()
                per_point = _run(rig, grid, folder, "b.h5")
                result["virtual_rig_wall_s"] = time.perf_counter() - t0
        result["virtual_rig_ms_per_point"] = 1e3 * per_point
    result["meets_goal"] = bool(result["virtual_rig_ms_per_point"] <= 2.0)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
