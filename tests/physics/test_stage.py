"""Stage: gas damping, effective Q, piezo range, drift.

Analytic expectations
---------------------
* Free-molecular gas damping (Christian 1966; Bianco et al., J. Vac. Sci. Technol. B 24,
  1803 (2006)): Q_gas = (pi/2)^(3/2) rho h f0 sqrt(R T / M) / P. Checked against a second
  route: the drag per unit area and velocity from the Maxwell distribution,
  c = 2 faces * 2 m_molecule n int_0^inf 2 u f(u) du (specular reflection), integrated
  numerically, and Q = rho h omega0 / c.
* 1/Q_eff = 1/Q_intrinsic + 1/Q_gas; 1/Q_gas is linear in pressure.
* Piezo range: fraction 1 at 300 K and piezo_fraction_4K (0.2) at 4.2 K and below.
"""

from __future__ import annotations

import math

import pytest
from scipy import constants, integrate

from mrfm.physics import Cantilever, Stage


def test_gas_q_closed_form_by_hand():
    st = Stage(temperature=4.2, pressure=1e-3)
    # (pi/2)^1.5 = 1.968701; rho h = 2329 * 100e-9 = 2.329e-4 kg/m^2; f0 = 5000 Hz;
    # sqrt(R T / M) = sqrt(8.314462618 * 4.2 / 4.002602e-3) = 93.4051 m/s; P = 1e-3 Pa
    # Q = 1.968701 * 2.329e-4 * 5000 * 93.4043 / 1e-3 = 2.14136e5
    assert st.gas_q(5000.0) == pytest.approx(2.14136e5, rel=1e-5)


def test_gas_q_against_kinetic_theory_integral():
    st = Stage(temperature=10.0, pressure=2e-2, gas_molar_mass=28.0134e-3)  # N2
    m = st.gas_molar_mass / constants.N_A
    kt = constants.k * st.temperature
    n = st.pressure / kt
    sigma = math.sqrt(kt / m)

    def maxwell(u: float) -> float:  # 1-D velocity distribution
        return math.exp(-0.5 * (u / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)

    # d/dv of the momentum flux 2 m n int (u + v)^2 f(u) du on one face, at v = 0
    per_face = 2 * m * n * integrate.quad(lambda u: 2 * u * maxwell(u), 0, math.inf)[0]
    drag = 2 * per_face
    f0 = 7e3
    q = st.cantilever_density * st.cantilever_thickness * 2 * math.pi * f0 / drag
    assert st.gas_q(f0) == pytest.approx(q, rel=1e-9)


def test_effective_q_combines_and_scales_with_pressure():
    c = Cantilever(k=1e-4, f0=5e3, Q=3e4, T=4.2)
    st1 = Stage(temperature=4.2, pressure=1e-3)
    st2 = Stage(temperature=4.2, pressure=2e-3)
    assert 1 / st2.gas_q(c.f0) == pytest.approx(2 / st1.gas_q(c.f0), rel=1e-12)
    q = st1.effective_q(c)
    assert 1 / q == pytest.approx(1 / c.Q + 1 / st1.gas_q(c.f0), rel=1e-12)
    assert st1.effective_q(c.Q, f0=c.f0) == q
    assert q < c.Q
    assert Stage(temperature=4.2, pressure=0.0).effective_q(c) == c.Q
    # at 1e-5 Pa (the usual cryostat vacuum) gas damping is negligible for Q = 3e4
    assert Stage(temperature=4.2, pressure=1e-5).effective_q(c) == pytest.approx(c.Q, rel=1e-2)


def test_piezo_range_shrinks_on_cooling():
    room = Stage(temperature=300.0, piezo_range_300K=40e-6)
    cold = Stage(temperature=4.2, piezo_range_300K=40e-6)
    colder = Stage(temperature=0.3, piezo_range_300K=40e-6)
    assert room.piezo_range() == pytest.approx(40e-6, rel=1e-15)
    assert room.piezo_range() / cold.piezo_range() == pytest.approx(5.0, rel=1e-12)
    assert colder.piezo_range() == cold.piezo_range()
    mid = Stage(temperature=152.1).piezo_fraction()
    assert mid == pytest.approx(0.2 + 0.8 * 0.5, rel=1e-12)
    temps = [1, 4.2, 10, 77, 150, 250, 300, 350]
    fractions = [Stage(temperature=t).piezo_fraction() for t in temps]
    assert fractions == sorted(fractions)
    assert cold.piezo_range(10e-6) == pytest.approx(2e-6, rel=1e-12)


def test_drift_model():
    cold = Stage(temperature=4.2)
    room = Stage(temperature=300.0)
    assert room.thermal_expansion() == pytest.approx(8.6e-6, rel=1e-12)
    # T^3 at low temperature
    assert cold.thermal_expansion(2.0) / cold.thermal_expansion(1.0) == pytest.approx(8.0,
                                                                                     rel=1e-4)
    assert room.drift_rate > cold.drift_rate >= cold.residual_drift > 0
    expected = 1e-2 * 8.6e-6 * 0.01 / 3600 + 1e-9 / 3600
    assert room.drift_rate == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=4.2, pressure=-1.0), "pressure"),
        (dict(temperature=4.2, piezo_range_300K=math.nan), "piezo_range_300K"),
        (dict(temperature=4.2, piezo_fraction_4K=1.5), "piezo_fraction_4K"),
        (dict(temperature=4.2, cantilever_thickness=0.0), "cantilever_thickness"),
    ],
)
def test_invalid_stage_raises(kwargs, field):
    with pytest.raises(ValueError, match=rf"Stage\.{field}"):
        Stage(**kwargs)


@pytest.mark.parametrize(("t_from", "t_to"), [(4.2, 10.0), (4.2, 50.0), (0.3, 1.0), (2.0, 5.0),
                                              (15.0, 25.0), (4.2, 300.0), (300.0, 4.2)])
def test_thermal_strain_is_the_integral_of_the_expansion_coefficient(t_from, t_to):
    """Stage.thermal_strain (closed form by partial fractions, a series below T_knee / 4)
    against scipy's adaptive quadrature of thermal_expansion, to 1e-12; the 1 cm loop rises
    by 0.36 nm from 4.2 to 10 K and 207 nm to 50 K (the magnitudes the virtual rig's
    heater produces)."""
    from scipy import integrate

    stage = Stage(temperature=4.2)
    quad, _ = integrate.quad(stage.thermal_expansion, t_from, t_to, epsabs=0.0, epsrel=1e-13,
                             limit=200)
    assert stage.thermal_strain(t_from, t_to) == pytest.approx(quad, rel=1e-12, abs=0.0)
    if (t_from, t_to) == (4.2, 10.0):
        assert stage.loop_length * quad == pytest.approx(0.359e-9, rel=2e-3)
    if (t_from, t_to) == (4.2, 50.0):
        assert stage.loop_length * quad == pytest.approx(207.3e-9, rel=2e-3)
