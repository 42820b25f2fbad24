"""Damping budget: 1/Q = sum 1/Q_i, non-contact friction, magnetic spring, config wiring.

Independent truth
-----------------
* Rugar 2004 cantilever (k = 110 uN/m, f0 = 5.5 kHz, Q = 2e4, 1.6 K, 100 nm Si) in helium
  at 1e-3 mbar = 0.1 Pa, by hand: Q_gas = (pi/2)^1.5 * 2329 * 100e-9 * 5500
  * sqrt(8.314462618 * 1.6 / 4.002602e-3) / 0.1 = 1453.84; 1/Q = 1/2e4 + 1/1453.84 ->
  Q_total = 1355.32 (the Stage model; Christian 1966 / Bianco et al. 2006), so the force
  noise 3.7501 aN/rtHz * sqrt(2e4 / 1355.32) = 14.41 aN/rtHz (issue 15: "~14 aN/rtHz").
* Damping coefficients add: Gamma = m omega0 / Q, so Gamma_total = sum Gamma_i.
* Magnetic spring: the energy U(theta) = -mu B cos(theta - beta) + K V sin^2 beta of a
  Stoner-Wohlfarth moment on a tip rotated by theta = x / L_e, minimized over beta
  numerically; k_mag = d2U/dx2 at x = 0 by finite differences (Stipe et al., PRL 86,
  2874 (2001), Eq. 2: mu B / L_e^2 * B_K / (B + B_K)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from mrfm.config import load, loads
from mrfm.physics import Cantilever
from mrfm.physics.cantilever import Damping, magnetic_spring_constant, noncontact_q


def test_damping_total_is_sum_of_rates():
    d = Damping(intrinsic=2e4, gas=1455.0, noncontact=5e4, tip=1e5)
    assert 1.0 / d.total == pytest.approx(1 / 2e4 + 1 / 1455.0 + 1 / 5e4 + 1 / 1e5, rel=1e-14)
    assert d.parts() == {"Q_intrinsic": 2e4, "Q_gas": 1455.0, "Q_noncontact": 5e4,
                         "Q_tip": 1e5}
    assert Damping(intrinsic=3e4).parts() == {"Q_intrinsic": 3e4}
    assert Damping(intrinsic=3e4).total == 3e4
    c = Cantilever.with_damping(k=1e-4, f0=5e3, T=4.2, damping=d)
    # damping coefficients m omega0 / Q add
    gamma = [c.mass * c.omega0 / q for q in (2e4, 1455.0, 5e4, 1e5)]
    assert c.mass * c.omega0 / c.Q_total == pytest.approx(sum(gamma), rel=1e-13)
    assert c.Q == 2e4
    assert c.ringdown_time == pytest.approx(2 * d.total / c.omega0, rel=1e-14)
    assert abs(c.transfer_function(5e3)) == pytest.approx(d.total / 1e-4, rel=1e-12)
    with pytest.raises(ValueError):
        Damping(intrinsic=0.0)
    with pytest.raises(ValueError):
        Cantilever(k=1e-4, f0=5e3, Q=1e4, T=4.2, damping=d)


def test_rugar2004_at_1e_3_mbar_force_noise_by_hand():
    exp = load("configs/rugar2004.toml", overrides={"stage.pressure": "1e-3 mbar"})
    c = exp.cantilever
    q_gas = ((math.pi / 2) ** 1.5 * 2329 * 100e-9 * 5500
             * math.sqrt(8.314462618 * 1.6 / 4.002602e-3) / 0.1)
    assert q_gas == pytest.approx(1453.84, rel=1e-5)
    assert c.damping.gas == pytest.approx(q_gas, rel=1e-9)
    assert c.Q == 2e4
    assert c.Q_total == pytest.approx(1 / (1 / 2e4 + 1 / q_gas), rel=1e-9)
    assert c.Q_total == pytest.approx(1355.32, rel=1e-5)
    assert c.force_noise() == pytest.approx(3.7500900e-18 * math.sqrt(2e4 / c.Q_total), rel=1e-6)
    assert c.force_noise() * 1e18 == pytest.approx(14.406, rel=1e-4)
    # the Stage's own combination agrees (one law, two entry points)
    assert exp.stage.effective_q(c) == pytest.approx(c.Q_total, rel=1e-12)


def test_noncontact_power_law():
    assert noncontact_q(1e4, 50e-9, 2.0, 100e-9) == pytest.approx(4e4, rel=1e-14)
    assert noncontact_q(1e4, 50e-9, 1.3, 25e-9) == pytest.approx(1e4 * 0.5**1.3, rel=1e-14)
    assert noncontact_q(1e4, 50e-9, 0.0, 5e-9) == 1e4
    with pytest.raises(ValueError):
        noncontact_q(1e4, 50e-9, -1.0, 5e-9)


def test_config_keys_wire_the_damping_channels():
    base = load("configs/rugar2004.toml")
    text = base.source_text
    exp = loads(text, overrides={"cantilever.Q_noncontact": 5e4,
                                 "cantilever.noncontact_gap": "90 nm",
                                 "cantilever.noncontact_exponent": 2.0,
                                 "cantilever.Q_tip": 1e5,
                                 "cantilever.density": "4000 kg/m^3"})
    d = exp.cantilever.damping
    # the gap is the smallest scan height, 180 nm: Q_nc = 5e4 (180/90)^2 = 2e5
    assert d.noncontact == pytest.approx(2e5, rel=1e-12)
    assert d.tip == 1e5
    # gas Q scales with the density
    assert d.gas == pytest.approx(base.cantilever.damping.gas * 4000 / 2329, rel=1e-12)
    assert exp.stage.cantilever_density == 4000.0


def _stoner_wohlfarth_spring(mu, b, bk, le, x=1e-9):
    """d2U/dx2 at x = 0 with the moment angle beta relaxed (anisotropy K V = mu B_K / 2)."""
    kv = 0.5 * mu * bk

    def energy(xx):
        theta = xx / le
        res = optimize.minimize_scalar(
            lambda beta: -mu * b * math.cos(theta - beta) + kv * math.sin(beta) ** 2,
            bounds=(-0.5, 0.5), method="bounded", options={"xatol": 1e-14})
        return res.fun

    return (energy(x) - 2 * energy(0.0) + energy(-x)) / x**2


@pytest.mark.parametrize(("b", "bk"), [(0.03, 0.5), (0.5, 0.5), (2.0, 0.3)])
def test_magnetic_spring_against_energy_minimization(b, bk):
    mu, le = 1e-15, 60e-6
    k_num = _stoner_wohlfarth_spring(mu, b, bk, le, x=le * 1e-3)
    assert magnetic_spring_constant(mu, b, le, bk) == pytest.approx(k_num, rel=2e-3)


def test_magnetic_spring_rigid_limit_and_shift():
    mu, b, le = 1e-15, 3.0, 85e-6
    dk = magnetic_spring_constant(mu, b, le)
    assert dk == pytest.approx(mu * b / le**2, rel=1e-15)
    c = Cantilever(k=110e-6, f0=5.5e3, Q=2e4, T=1.6)
    # an added spring constant dk is a force gradient -dk: delta f = f0 dk / 2k
    assert c.frequency_shift(-dk) == pytest.approx(5.5e3 * dk / (2 * 110e-6), rel=1e-14)
    with pytest.raises(ValueError):
        magnetic_spring_constant(mu, -1.0, le, 0.5)
    assert np.isfinite(magnetic_spring_constant(mu, -0.2, le, 0.5))


def test_magnetic_spring_option_shifts_f0_of_rugar2004():
    # SmCo sphere equivalent R = 200 nm, J = 1 T along +z: |m| = J (4/3) pi R^3 / mu0;
    # B0 = 30 mT along the moment, L_e = 62 um (85 um / 1.377, beam's end rotation),
    # rigid moment: dk = |m| B0 / L_e^2; f0' = f0 sqrt(1 + dk/k).
    mu0 = 1.25663706212e-6
    m = 1.0 * (4 / 3) * math.pi * (200e-9) ** 3 / mu0
    dk = m * 0.03 / (62e-6) ** 2
    base = load("configs/rugar2004.toml")
    assert base.cantilever.f0 == 5.5e3  # off by default
    exp = load("configs/rugar2004.toml", overrides={"cantilever.effective_length": "62 um"})
    c = exp.cantilever
    assert c.k == pytest.approx(110e-6 + dk, rel=1e-9)
    assert c.f0 == pytest.approx(5.5e3 * math.sqrt(1 + dk / 110e-6), rel=1e-9)
    # small shift: delta f ~ f0 dk / 2k (about 5 Hz here)
    assert c.f0 - 5.5e3 == pytest.approx(5.5e3 * dk / (2 * 110e-6), rel=2e-3)
    assert c.Q == 2e4 and c.damping == base.cantilever.damping
    # finite anisotropy field reduces it by B_K / (B + B_K)
    soft = load("configs/rugar2004.toml", overrides={"cantilever.effective_length": "62 um",
                                                       "cantilever.tip_anisotropy_field": "0.3 T"})
    assert soft.cantilever.k - 110e-6 == pytest.approx(dk * 0.3 / 0.33, rel=1e-9)
