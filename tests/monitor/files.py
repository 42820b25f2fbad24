"""Scan files for the monitor tests, written with the scan's own ScanStore (no rig needed).

``make_scan`` writes a 2-D grid scan whose ``force`` channel is a known function of the
point index, with timestamps ``t0 + dt * n`` for the n-th measured point (serpentine
order), then closes it with the given status. ``slow_demo_config`` is the demo
experiment on a small grid with a long settling time, so a virtual-rig scan of it runs
for several seconds (the rig's time scale divides the settling).
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from mrfm.scan.store import Channel, ScanStore

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = (Channel("force", "N", "force (lock-in X x force_per_volt)"),
            Channel("lockin_y", "V", "lock-in Y"), Channel("temperature", "K",
                                                            "stage temperature"))


def force_at(i: int, j: int) -> float:
    """The force (N) written at grid point (i, j)."""
    return (i - 2 * j) * 1e-18


def make_scan(path: Path, *, nx: int = 6, ny: int = 4, done: int | None = None,
              status: str = "complete", dt: float = 0.02,
              settings: dict[str, tuple[object, str]] | None = None) -> Path:
    """Write a scan file with ``done`` points measured (all by default) and ``status``."""
    axes = {"x": np.linspace(-50e-9, 50e-9, nx), "y": np.linspace(-30e-9, 30e-9, ny),
            "height": np.array([20e-9])}
    done = nx * ny if done is None else done
    with ScanStore.create(path, axes=axes, channels=CHANNELS, config_text="# test",
                          attrs={"mrfm_title": "monitor test scan"}) as store:
        n = 0
        for j in range(ny):
            for i in (range(nx) if j % 2 == 0 else range(nx - 1, -1, -1)):
                if n == done:
                    break
                store.write_point((i, j, 0), {"force": force_at(i, j), "lockin_y": 1e-4,
                                              "temperature": 0.3}, t=1.0 + dt * n)
                n += 1
            store.flush()
        store.set_status(status)
    if settings:
        with h5py.File(path, "r+", libver="latest") as fh:
            for key, (value, unit) in settings.items():
                ds = fh["entry/instrument"].create_dataset(key, data=value)
                ds.attrs["units"] = unit
    return path


def slow_demo_config(folder: Path, nx: int, ny: int, settle: str) -> Path:
    """configs/demo.toml on an nx x ny grid with ``settle`` of stage settling per point."""
    text = (ROOT / "configs" / "demo.toml").read_text()
    text = re.sub(r"(?m)^x = .*$", f'x = ["-62 nm", "62 nm", {nx}]', text)
    text = re.sub(r"(?m)^y = .*$", f'y = ["-62 nm", "62 nm", {ny}]', text)
    text += f'\n[plan]\nsettle_time = "{settle}"\n'
    out = folder / "slow.toml"
    out.write_text(text)
    return out
