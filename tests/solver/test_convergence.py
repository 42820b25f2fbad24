"""Thin resonance slices: at each grid preset's default voxel, halving the voxel changes the
peak signal by < 1 % (the solver integrates the slice inside each voxel, so the map does not
depend on where the slice falls in the grid).

Presets (configs/): degen2009 (Degen et al., PNAS 106, 1313 (2009); 1H in TMV, CAI
statistical, 1 nm voxels, peak near x = -32.5 nm at y = 0), mamin2007 (Mamin et al., Nature
Nanotech. 2, 301 (2007); 19F in CaF2, CAI statistical, 5 nm voxels, peak at the centre) and
cermit (Moore et al., PNAS 106, 22251 (2009); saturation CERMIT, 20 x 20 x 10 nm voxels,
extremum at x = 0). rugar2004 and the demo presets are point spins (no voxels). The scan
windows are a few tip positions around each peak (steps commensurate with both voxels).
Measured changes when written: degen2009 6e-4, mamin2007 8e-4, cermit 2e-5.
"""

from __future__ import annotations

import pytest

from mrfm.config import load
from mrfm.resources import data_dir
from mrfm.solver import simulate

CASES = {
    "degen2009": ({"scan.y": "0 nm", "scan.x": ["-34 nm", "-31 nm", 4]},
                  "1 nm", "0.5 nm"),
    "mamin2007": ({"scan.y": "0 nm", "scan.x": ["-10 nm", "10 nm", 3]},
                  "5 nm", "2.5 nm"),
    "cermit": ({"scan.x": ["-200 nm", "200 nm", 3]},
               ["20 nm", "20 nm", "10 nm"], ["10 nm", "10 nm", "5 nm"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_halving_the_voxel_changes_the_peak_by_less_than_one_percent(name):
    overrides, default_voxel, half_voxel = CASES[name]
    path = data_dir("configs") / f"{name}.toml"
    default = load(path, overrides=overrides)
    assert tuple(default.sample.voxel) == tuple(
        load(path, overrides={**overrides, "sample.voxel": default_voxel}).sample.voxel
    ), "the preset's default voxel changed: update CASES"
    coarse = simulate(default, progress=False)
    fine = simulate(load(path, overrides={**overrides, "sample.voxel": half_voxel}),
                    progress=False)
    assert coarse.peak > 0
    assert fine.peak == pytest.approx(coarse.peak, rel=0.01)
