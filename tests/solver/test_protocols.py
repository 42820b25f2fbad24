"""Each protocol against closed forms for single point spins.

Closed forms (all SI):
- CAI, Curie: F = <mu_z>(|B|, T) d|B|/dx for a spin inside the slice, 0 outside
  (Rugar et al. 1992; Degen et al. 2009); statistical: sigma_F^2 = (hbar gamma/2)^2 (d|B|/dx)^2.
- OSCAR, uniform gradient G and B1 -> 0: |delta_f| = 2 f0 mu G / (pi k x_pk)
  (Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20; PHYSICS.md), negative for a spin
  locked parallel to the effective field. Here the dipole's gradient is uniform over
  x_pk = 1 pm to O(x_pk / distance) ~ 1e-5.
- iOSCAR: the rms lock-in amplitude (4/pi)/sqrt(2) times the OSCAR shift (module convention).
- CERMIT (Garner 2004, Moore 2009): delta_f = c (f0/2k) <mu_z> d2|B|/dx2, c = 1 saturate, 2 invert.
- Force gradient: delta_f = -(f0/2k) <mu_z> d2|B|/dx2.
d|B|/dx and d2|B|/dx2 are taken by finite differences of |B| from the magnet's field.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants

from mrfm.physics import Sample
from mrfm.solver import simulate

from .helpers import ELECTRON, PROTON, curie_moment, dipole_field, make_exp

SPIN = np.array([[18e-9, 6e-9, -12e-9]])
HEIGHT = 30e-9


def _bmag(exp, rel):
    b = dipole_field(exp.magnet, rel)
    b[..., 2] += exp.B0
    return np.linalg.norm(b, axis=-1)


def _derivs(exp, rel):
    h = 1e-11
    ex = np.array([h, 0, 0])
    b = _bmag(exp, rel)
    g = (_bmag(exp, rel + ex) - _bmag(exp, rel - ex)) / (2 * h)
    h2 = 2e-10
    ex2 = np.array([h2, 0, 0])
    d2 = (_bmag(exp, rel + ex2) - 2 * b + _bmag(exp, rel - ex2)) / h2**2
    return b, g, d2


def _point_exp(protocol, species=PROTON, **kw):
    sample = Sample(origin=np.zeros(3), voxel=np.full(3, 1e-9), points={species.name: SPIN})
    exp = make_exp(protocol=protocol, sample=sample, heights=(HEIGHT,), species=species, **kw)
    rel = SPIN[0] - np.array([0.0, 0.0, HEIGHT + exp.magnet.half_height])
    return exp, rel


def _resonant(exp, rel, species):
    """The same experiment with the RF resonant exactly at the spin's rest field."""
    b, _, _ = _derivs(exp, rel)
    f = abs(species.gamma) * b / (2 * math.pi)
    return make_exp(protocol=exp.protocol.name, sample=exp.sample, heights=(HEIGHT,), B0=exp.B0,
                    species=species, rf_frequency=f, B1=exp.rf.B1, fm_depth=exp.rf.fm_depth,
                    amplitude=exp.amplitude, polarization=exp.protocol.polarization,
                    cermit_mode=exp.protocol.cermit_mode)


def test_cai_point_spin_curie_and_statistical():
    exp, rel = _point_exp("CAI")
    exp = _resonant(exp, rel, PROTON)
    b, g, _ = _derivs(exp, rel)
    res = simulate(exp, method="direct")
    assert res.unit == "N"
    expected = curie_moment(PROTON, b, exp.cantilever.T) * g
    assert res.signal[0, 0, 0] == pytest.approx(expected, rel=1e-6)
    stat = simulate(_resonant(_point_exp("CAI", polarization="statistical")[0], rel, PROTON))
    assert stat.unit == "N^2"
    var1 = (constants.hbar * PROTON.gamma / 2) ** 2
    assert stat.signal[0, 0, 0] == pytest.approx(var1 * g**2, rel=1e-6)


def test_cai_point_spin_outside_slice_gives_zero_and_warns():
    exp, rel = _point_exp("CAI", fm_depth=1e-4)
    b, _, _ = _derivs(exp, rel)
    far = make_exp(protocol="CAI", sample=exp.sample, heights=(HEIGHT,),
                   rf_frequency=PROTON.gamma * (b + 5e-4) / (2 * math.pi), fm_depth=1e-4)
    with pytest.warns(UserWarning, match="resonance slice"):
        res = simulate(far)
    assert not np.any(res.signal)


@pytest.mark.parametrize("polarization", ["curie", "statistical"])
def test_oscar_uniform_gradient_limit(polarization):
    a = 1e-12
    exp, rel = _point_exp("OSCAR", species=ELECTRON, amplitude=a, B1=0.0, B0=0.05,
                          polarization=polarization)
    exp = _resonant(exp, rel, ELECTRON)
    b, g, _ = _derivs(exp, rel)
    c = exp.cantilever
    per_moment = 2 * c.f0 * abs(g) / (math.pi * c.k * a)
    res = simulate(exp, method="direct")
    if polarization == "curie":
        mu = curie_moment(ELECTRON, b, c.T)
        assert res.unit == "Hz"
        assert res.signal[0, 0, 0] == pytest.approx(-mu * per_moment, rel=1e-4)
    else:
        var1 = (constants.hbar * ELECTRON.gamma / 2) ** 2
        assert res.unit == "Hz^2"
        assert res.signal[0, 0, 0] == pytest.approx(var1 * per_moment**2, rel=2e-4)


def test_oscar_small_b1_converges_to_b1_zero_and_ioscar_factor():
    kw = dict(species=ELECTRON, amplitude=8e-9, B0=0.05)
    exp0, rel = _point_exp("OSCAR", B1=0.0, **kw)
    exp0 = _resonant(exp0, rel, ELECTRON)
    s0 = simulate(exp0).signal[0, 0, 0]
    exp1 = _resonant(_point_exp("OSCAR", B1=1e-8, **kw)[0], rel, ELECTRON)
    s1 = simulate(exp1).signal[0, 0, 0]
    assert s1 == pytest.approx(s0, rel=1e-3)
    expi = _resonant(_point_exp("iOSCAR", B1=1e-8, **kw)[0], rel, ELECTRON)
    si = simulate(expi).signal[0, 0, 0]
    assert si == pytest.approx(4 / math.pi / math.sqrt(2) * s1, rel=1e-12)


@pytest.mark.parametrize("mode,factor", [("saturate", 1.0), ("invert", 2.0)])
def test_cermit_point_spin(mode, factor):
    exp, rel = _point_exp("CERMIT", fm_depth=1e-3, cermit_mode=mode)
    exp = _resonant(exp, rel, PROTON)
    b, _, d2 = _derivs(exp, rel)
    c = exp.cantilever
    expected = factor * c.f0 / (2 * c.k) * curie_moment(PROTON, b, c.T) * d2
    assert simulate(exp).signal[0, 0, 0] == pytest.approx(expected, rel=1e-4)


def test_force_gradient_point_spin_and_large_amplitude_limit():
    exp, rel = _point_exp("force-gradient")
    b, _, d2 = _derivs(exp, rel)
    c = exp.cantilever
    expected = -c.f0 / (2 * c.k) * curie_moment(PROTON, b, c.T) * d2
    assert simulate(exp).signal[0, 0, 0] == pytest.approx(expected, rel=1e-4)
    small = make_exp(protocol="force-gradient", sample=exp.sample, heights=(HEIGHT,),
                     amplitude=1e-11)
    assert simulate(small).signal[0, 0, 0] == pytest.approx(expected, rel=1e-4)
