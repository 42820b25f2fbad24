"""Spin species: gyromagnetic ratios and thermal polarization.

Analytic expectations
---------------------
* gamma of the electron and proton are CODATA values (scipy.constants); the electron's is
  negative (g < 0). 2H: mu_d / (hbar I), I = 1. Other nuclei: Harris et al., Pure Appl.
  Chem. 73, 1795 (2001), Table 1 (10^7 rad s^-1 T^-1).
* B_{1/2}(x) = tanh(x) exactly.
* B_I(x) equals <m>/I from the Boltzmann sum over m = -I..I with weights exp(m x / I)
  (a second algorithm).
* Curie law for x << 1: <mu_z> = (hbar gamma)^2 I(I+1) B / (3 kB T).
* Statistical polarization (Degen et al., PRL 99, 250601 (2007)): variance N mu^2,
  mu = hbar |gamma| / 2 for spin 1/2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants

from mrfm.physics import SpinSpecies
from mrfm.physics.spins import brillouin, brillouin_scalar

HBAR = constants.hbar
KB = constants.k

# Harris et al. (2001) Table 1, typed independently here: gamma / (1e7 rad s^-1 T^-1), spin,
# and the number of decimals printed in the table.
HARRIS = {
    "2H": (4.10662791, 1.0, 8),
    "13C": (6.728284, 0.5, 6),
    "15N": (-2.71261804, 0.5, 8),
    "19F": (25.18148, 0.5, 5),
    "29Si": (-5.3190, 0.5, 4),
    "31P": (10.8394, 0.5, 4),
}


def test_codata_electron_and_proton():
    pc = constants.physical_constants
    e = SpinSpecies.from_name("electron")
    assert e.gamma == -pc["electron gyromag. ratio"][0]
    assert e.gamma < 0 and e.spin == 0.5
    p = SpinSpecies.from_name("1H")
    assert p.gamma == pc["proton gyromag. ratio"][0]
    # CODATA gamma / 2 pi: 42.577478461 MHz/T and 28024.9513861 MHz/T
    assert p.larmor_frequency(1.0) == pytest.approx(42.577478461e6, rel=1e-9)
    assert e.larmor_frequency(-1.0) == pytest.approx(28024.9513861e6, rel=1e-9)
    d = SpinSpecies.from_name("2H")
    assert d.gamma == pytest.approx(pc["deuteron mag. mom."][0] / HBAR, rel=1e-15)
    for s in (e, p, d):
        assert "CODATA" in s.source


def test_resonance_field_inverts_the_larmor_frequency():
    """2 pi f / |gamma|: 1 T at the CODATA 42.577478461 MHz of the proton and 28024.9513861
    MHz of the electron; scalars and arrays; the sign of f or gamma does not matter."""
    from mrfm.physics.spins import larmor_frequency, resonance_field

    p = SpinSpecies.from_name("1H")
    e = SpinSpecies.from_name("electron")
    assert p.resonance_field(42.577478461e6) == pytest.approx(1.0, rel=1e-9)
    assert e.resonance_field(28024.9513861e6) == pytest.approx(1.0, rel=1e-9)
    assert resonance_field(-5e9, e.gamma) == resonance_field(5e9, -e.gamma) > 0
    fields = np.array([[0.1, 2.0], [7.5, 0.0]])
    np.testing.assert_allclose(resonance_field(larmor_frequency(fields, e.gamma), e.gamma),
                               fields, rtol=1e-15)
    assert isinstance(resonance_field(1e6, p.gamma), float)
    assert larmor_frequency(0.3, p.gamma) == pytest.approx(p.larmor_frequency(0.3), rel=1e-15)


@pytest.mark.parametrize("name", sorted(HARRIS))
def test_harris_table(name):
    value, spin, decimals = HARRIS[name]
    s = SpinSpecies.from_name(name)
    assert s.spin == spin
    if name == "2H":
        # gamma_d comes from the newer CODATA deuteron moment; it agrees with the 2001
        # table to 3e-7 (relative)
        assert s.gamma / 1e7 == pytest.approx(value, rel=1e-6)
    else:
        assert s.gamma / 1e7 == pytest.approx(value, abs=0.5 * 10.0**-decimals)
        assert "Harris" in s.source


@pytest.mark.parametrize(
    "alias, name", [("e", "electron"), ("proton", "1H"), ("H", "1H"), ("D", "2H"),
                    ("13c", "13C"), ("si29", "29Si")]
)
def test_aliases(alias, name):
    assert SpinSpecies.from_name(alias).name == name


def test_unknown_species_raises():
    with pytest.raises(ValueError, match="unknown spin species 'Xe129'"):
        SpinSpecies.from_name("Xe129")


def test_moment():
    p = SpinSpecies.from_name("1H")
    assert p.moment == pytest.approx(HBAR * p.gamma / 2, rel=1e-15)
    e = SpinSpecies.from_name("electron")
    # |gamma_e| hbar / 2 = |g_e| mu_B / 2 ~ 1.00116 mu_B
    assert e.moment == pytest.approx(abs(constants.physical_constants["electron mag. mom."][0]),
                                     rel=1e-8)


def test_brillouin_half_is_tanh():
    x = np.concatenate([np.logspace(-12, 3, 2001), [0.5, 0.5 * (1 - 1e-15), 0.4999999]])
    x = np.concatenate([x, -x, [0.0]])
    np.testing.assert_allclose(brillouin(0.5, x), np.tanh(x), rtol=2e-15, atol=0)


@pytest.mark.parametrize("spin", [1.0, 1.5, 2.5, 3.5])
def test_brillouin_equals_boltzmann_sum(spin):
    x = np.logspace(-3, np.log10(40.0), 301)
    m = np.arange(-spin, spin + 0.5, 1.0)
    w = np.exp(np.outer(x, m) / spin - x[:, None])  # shifted to avoid overflow
    expected = (w * m).sum(axis=1) / (spin * w.sum(axis=1))
    np.testing.assert_allclose(brillouin(spin, x), expected, rtol=1e-11, atol=0)


@pytest.mark.parametrize("spin", [0.5, 1.0, 1.5, 2.5])
def test_brillouin_continuous_across_series_threshold(spin):
    edge = 2 * spin / (2 * spin + 1)  # series used for a x < 1, a = (2I+1)/(2I)
    x = np.array([edge * (1 - 1e-12), edge * (1 + 1e-12)])
    b = brillouin(spin, x)
    assert abs(b[1] - b[0]) < 2e-12 * b[0]  # the true change is ~1e-12 relative


@pytest.mark.parametrize("spin", [0.5, 1.0, 1.5, 2.5, 3.5])
def test_brillouin_scalar_matches_the_general_function(spin):
    # the compiled loops' scalar special case (series below |x| = 1e-2, closed form above)
    x = np.logspace(-9, 2.5, 700)
    x = np.concatenate([x, -x, [1e-2 * (1 - 1e-12), 1e-2, 1e-2 * (1 + 1e-12), 0.0]])
    got = np.array([brillouin_scalar(spin, float(v)) for v in x])
    np.testing.assert_allclose(got, brillouin(spin, x), rtol=1e-10, atol=0)


def test_brillouin_extremes_are_finite():
    big = np.array([1e3, 1e10, 1e300, np.inf])
    np.testing.assert_array_equal(brillouin(1.5, big), 1.0)
    np.testing.assert_array_equal(brillouin(1.5, -big), -1.0)
    assert brillouin(2.0, 0.0) == 0.0
    assert brillouin(2.0, 1e-300) == pytest.approx(1e-300 * 3.0 / (3.0 * 2.0), rel=1e-14)


@pytest.mark.parametrize("name", ["electron", "1H", "2H", "19F"])
def test_curie_limit(name):
    s = SpinSpecies.from_name(name)
    B, T = 0.1, 300.0
    i = s.spin
    curie = (HBAR * s.gamma) ** 2 * i * (i + 1) * B / (3 * KB * T)
    assert s.mean_moment(B, T) == pytest.approx(curie, rel=1e-6)


def test_low_temperature_saturation():
    e = SpinSpecies.from_name("electron")
    # x = mu_B-ish * 1 T / (kB * 10 mK) ~ 67 -> fully polarized
    assert e.polarization(1.0, 0.01) == pytest.approx(1.0, abs=1e-15)
    assert e.mean_moment(1.0, 0.01) == pytest.approx(e.moment, rel=1e-15)
    p = SpinSpecies.from_name("1H")
    assert p.polarization(1e4, 1e-6) == 1.0


def test_polarization_broadcasts_arrays():
    p = SpinSpecies.from_name("1H")
    B = np.linspace(0.0, 3.0, 4)[:, None]
    T = np.array([0.3, 4.2, 300.0])[None, :]
    out = p.polarization(B, T)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out, np.tanh(p.moment * B / (KB * T)), rtol=1e-14)
    assert np.all(out[:, 0] >= out[:, 1])
    assert isinstance(p.polarization(1.0, 4.2), float)


@pytest.mark.parametrize("bad_t", [0.0, -1.0, math.nan, [1.0, 0.0]])
def test_non_positive_temperature_raises(bad_t):
    with pytest.raises(ValueError, match="temperature"):
        SpinSpecies.from_name("1H").polarization(1.0, bad_t)


def test_statistical_variance_degen_convention():
    p = SpinSpecies.from_name("1H")
    mu = HBAR * abs(p.gamma) / 2
    assert p.statistical_moment_variance(1e6) == pytest.approx(1e6 * mu**2, rel=1e-14)
    n = np.array([1.0, 4.0])
    np.testing.assert_allclose(p.statistical_moment_variance(n), n * mu**2, rtol=1e-14)
    d = SpinSpecies.from_name("2H")
    # spin 1: <I_z^2> = (1 + 0 + 1) / 3 = 2/3
    assert d.statistical_moment_variance(1) == pytest.approx((HBAR * d.gamma) ** 2 * 2 / 3,
                                                             rel=1e-14)


@pytest.mark.parametrize("gamma, spin", [(0.0, 0.5), (1e7, 0.3), (1e7, -0.5), (math.nan, 0.5)])
def test_invalid_species_raises(gamma, spin):
    with pytest.raises(ValueError, match="SpinSpecies"):
        SpinSpecies(name="x", gamma=gamma, spin=spin)
