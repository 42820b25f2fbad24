"""CAI's real inversion waveform and its lock-in reading against the solver's fundamental.

Truths: the numerical Fourier series of the square wave sign(cos(phase) + s) (2^16 samples
per cycle), and the solver's CAI force with the fundamental slice weight for point spins.
"""

import numpy as np
import pytest

from mrfm.physics import spin_dynamics as sd
from mrfm.solver import SolverSettings, simulate
from mrfm.timedomain import spins
from tests.timedomain.point_spins import (
    one_spin_forces,
    point_spin_experiment,
    slice_offsets,
    thirty_spins,
)

N = 1 << 16
PHASE = 2 * np.pi * (np.arange(N) + 0.5) / N


@pytest.mark.parametrize("s", [0.0, 0.35, -0.7, 0.97])
def test_harmonics_of_the_inversion_waveform(s):
    """Square-wave sampling error of a Fourier coefficient: <= 2 jumps x 2/N = 6e-5."""
    wave = spins.cai_inversion_waveform(PHASE, s)
    assert spins.cai_harmonics(s, 0) == pytest.approx(np.mean(wave), abs=1e-4)
    for n in range(1, 6):
        a_n = 2.0 / N * np.sum(wave * np.cos(n * PHASE))
        b_n = 2.0 / N * np.sum(wave * np.sin(n * PHASE))
        assert spins.cai_harmonics(s, n) == pytest.approx(a_n, abs=1e-4)
        assert abs(b_n) < 1e-4
    assert spins.cai_harmonics(s, 1) == pytest.approx(sd.cai_fundamental_weight(s), rel=1e-12)


def test_lockin_reading_of_the_slice_waveform_equals_the_solver_force():
    """30 point spins below the tip: the time-domain force sum_i F_i sign(cos(phase) + s_i)
    with each spin's unit-weight force F_i (solver, hard slice) demodulated at the modulation
    frequency (X = 2 <F cos(phase)>, one cycle) against the solver's CAI force with the
    fundamental weight; agreement to the sampling error (< 1e-4 of sum |F_i|)."""
    pts = thirty_spins()
    full = point_spin_experiment(pts, "fundamental", adiabatic="ideal")
    s = slice_offsets(full, pts)
    assert np.sum(np.abs(s) < 1) >= 8  # the slice cuts through the spins
    # spins outside the slice are never inverted: no force at f_mod
    amps = one_spin_forces(pts, s, adiabatic="ideal")
    force = spins.cai_force_waveform(PHASE, s, amps)
    x_lockin = 2.0 / N * np.sum(force * np.cos(PHASE))
    solver = simulate(full, method="direct").signal.ravel()[0]
    assert x_lockin == pytest.approx(solver, abs=1e-4 * np.abs(amps).sum())
    unit = simulate(full, method="direct", settings=SolverSettings(slice_profile="hard"))
    assert abs(unit.signal.ravel()[0] - solver) > 1e-2 * abs(solver)  # the weight matters
