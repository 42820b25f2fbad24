"""Point protons below the tip, shared by the CAI waveform tests (test_chain_waveform.py,
test_spins_waveform.py): their positions, experiments, slice offsets and one-spin forces."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mrfm.config import Experiment
from mrfm.physics import Sample
from mrfm.solver import simulate
from tests.solver.helpers import PROTON, make_exp

#: tip height above the surface, m (the tip at x = y = 0)
HEIGHT = 20e-9


def thirty_spins() -> np.ndarray:
    """30 positions (m, shape (30, 3)) drawn once (seed 3) in 40 nm x 40 nm, 2 to 25 nm deep."""
    rng = np.random.default_rng(3)
    return np.column_stack([rng.uniform(-20e-9, 20e-9, 30), rng.uniform(-20e-9, 20e-9, 30),
                            rng.uniform(-25e-9, -2e-9, 30)])


def point_spin_experiment(points: np.ndarray, profile: str, **kw: Any) -> Experiment:
    """Protons at ``points`` under the tip at :data:`HEIGHT`, FM depth 40 mT, the given
    slice profile; ``kw`` goes to :func:`tests.solver.helpers.make_exp`."""
    sample = Sample(origin=np.zeros(3), voxel=np.full(3, 1e-9), points={"1H": points})
    return make_exp(sample=sample, slice_profile=profile, heights=(HEIGHT,), fm_depth=4e-2,
                    species=PROTON, **kw)


def slice_offsets(exp: Experiment, points: np.ndarray) -> np.ndarray:
    """Each proton's offset from resonance in FM depths, s = (|B| - B_res) / fm_depth, with
    the tip over x = y = 0 at :data:`HEIGHT` (|s| < 1: inside the slice)."""
    b_res = 2 * math.pi * exp.rf.frequency / abs(PROTON.gamma)
    centre = np.array([0.0, 0.0, HEIGHT + exp.magnet.half_height])
    field = exp.magnet.field(points - centre)
    field[:, 2] += exp.B0
    return (np.linalg.norm(field, axis=1) - b_res) / exp.rf.fm_depth


def one_spin_forces(points: np.ndarray, s: np.ndarray, **kw: Any) -> np.ndarray:
    """Each spin's force alone (hard slice, direct solver run) where |s| < 1, else 0:
    a spin outside the slice is never inverted and gives no force at f_mod."""
    return np.array([
        simulate(point_spin_experiment(p[None, :], "hard", **kw), method="direct"
                 ).signal.ravel()[0] if abs(si) < 1 else 0.0
        for p, si in zip(points, s, strict=True)])
