"""The built-in CAI signal model (point-dipole tip) against independent calculations.

Truths used: the dipole field B = mu0/(4 pi) (3 r (m.r)/r^5 - m/r^3) (Jackson Eq. 5.56)
and its gradient by central finite differences; the CAI force on one spin in the slice,
F = mu P(|B|) d|B|/dx (PHYSICS.md, exact form), with P = tanh(hbar gamma |B| / (2 kB T))
for spin 1/2; and symmetry: a laterally infinite uniform film gives no x force.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import constants as sc

from mrfm.rig.signal import (
    SPECIES_TABLE,
    FallbackPhysics,
    SignalModel,
    SlabSample,
    dipole_field_gradient,
)


def dipole_B(m: float, r: np.ndarray) -> np.ndarray:
    rn = np.linalg.norm(r)
    mv = np.array([0.0, 0.0, m])
    return sc.mu_0 / (4 * math.pi) * (3 * r * (mv @ r) / rn**5 - mv / rn**3)


def test_dipole_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    pts = rng.normal(0, 100e-9, (20, 3)) + np.array([0, 0, -150e-9])
    B, G = dipole_field_gradient(2e-15, pts)
    h = 1e-13
    for n, p in enumerate(pts):
        assert np.allclose(B[n], dipole_B(2e-15, p), rtol=1e-12, atol=0)
        for j in range(3):
            d = np.zeros(3)
            d[j] = h
            fd = (dipole_B(2e-15, p + d) - dipole_B(2e-15, p - d)) / (2 * h)
            assert np.allclose(G[n, :, j], fd, rtol=1e-5, atol=1e-6 * np.abs(G[n]).max())


def _one_spin_experiment(spin_pos, *, radius=50e-9, pol=1.8, T=4.2):
    moment = pol * 4 / 3 * math.pi * radius**3 / sc.mu_0
    sample = SimpleNamespace(
        densities={}, points={"electron": np.array([spin_pos])}, voxel=1e-9,
        axes=lambda: (np.zeros(0),) * 3,
    )
    return SimpleNamespace(
        cantilever=SimpleNamespace(T=T), protocol=SimpleNamespace(polarization="curie"),
        magnet=SimpleNamespace(half_height=radius, moment=np.array([0.0, 0.0, moment])),
        sample=sample,
    ), moment


def test_single_spin_force_is_mu_P_dBdx():
    spin = np.array([-35e-9, 0.0, -10e-9])
    exp, m = _one_spin_experiment(spin)
    model = SignalModel(exp, use_solver=False)
    tip = (0.0, 0.0, 30e-9)
    centre = np.array([tip[0], tip[1], tip[2] + 50e-9])
    B0 = 0.2
    rel = spin - centre
    Btot = dipole_B(m, rel) + np.array([0, 0, B0])
    bmag = np.linalg.norm(Btot)
    h = 1e-13
    dx = np.array([h, 0, 0])
    dBdx = (np.linalg.norm(dipole_B(m, rel + dx) + [0, 0, B0])
            - np.linalg.norm(dipole_B(m, rel - dx) + [0, 0, B0])) / (2 * h)
    gamma = SPECIES_TABLE["electron"][0]
    mu = gamma * sc.hbar / 2
    P = math.tanh(sc.hbar * gamma * bmag / (2 * sc.k * 4.2))
    expected = mu * P * dBdx
    f_rf = gamma * bmag / (2 * math.pi)  # slice centred on the spin
    got = model.signal_at(*tip, B0, f_rf, 1e-3)
    assert got == pytest.approx(expected, rel=1e-6)
    assert abs(expected) > 1e-19  # an attonewton-scale force, not a trivial zero
    # the slice moved 5 mT away from the spin: no signal
    off = gamma * (bmag + 5e-3) / (2 * math.pi)
    assert model.signal_at(*tip, B0, off, 1e-3) == 0.0
    assert model.signal_at(*tip, B0, f_rf, 0.0) == 0.0


def test_uniform_film_gives_no_force_but_a_pad_edge_does():
    gamma = SPECIES_TABLE["1H"][0]
    B0, f_rf = 2.6, gamma * 2.7 / (2 * math.pi)
    wide = SignalModel(fallback=FallbackPhysics(sample=SlabSample(size=(6e-6, 6e-6))))
    pad = SignalModel()
    edge = pad.signal_at(100e-9, 0.0, 50e-9, B0, f_rf, 4e-3)
    assert abs(edge) > 1e-17
    for x in (-100e-9, 0.0, 100e-9):
        assert abs(wide.signal_at(x, 0.0, 50e-9, B0, f_rf, 4e-3)) < 1e-6 * abs(edge)
    # mirror symmetry of the pad about x = 0: F(-x) = -F(x)
    assert pad.signal_at(-100e-9, 0.0, 50e-9, B0, f_rf, 4e-3) == pytest.approx(-edge, rel=1e-9)


@pytest.mark.slow
def test_builtin_model_agrees_with_the_solver_on_the_demo_experiment():
    """Two independent implementations (numpy dipole here, numba solver) of the same CAI force."""
    from mrfm.config import load
    from mrfm.resources import data_dir

    exp = load(data_dir("configs") / "electron-spins.toml")
    builtin = SignalModel(exp, use_solver=False)
    solver = SignalModel(exp)
    assert solver.backend == "solver" and builtin.backend == "dipole"
    args = (exp.B0, exp.rf.frequency, exp.rf.fm_depth)
    # the thin slice passes the spin at (-60, -50, -5) nm for the tip near x = -101 nm
    for x in (-101.25e-9, -100.75e-9):
        ref = builtin.signal_at(x, -50e-9, 30e-9, *args)
        assert abs(ref) > 1e-18
        assert solver.signal_at(x, -50e-9, 30e-9, *args) == pytest.approx(ref, rel=1e-9)
    assert solver.unit == "N"
