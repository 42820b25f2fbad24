"""The datasets' spin noise under a Curie signal: the variance of uncorrelated spins.

Per spin Var(mu_z) = hbar^2 gamma^2 I(I+1)/3 (Degen et al., PRL 99, 250601 (2007)) against a
mean moment <mu_z> = hbar |gamma| I B_I(x), x = I hbar |gamma| B / (kB T) (the Brillouin
function). Both written out here; the variance kernel must be K^2 Var / (<mu_z>^2 V).
For spin 1/2 Var = mu^2 and <mu_z> = mu tanh(x); for deuterium (I = 1) the variance is
2/3 of (hbar gamma)^2, not the (hbar gamma I)^2 that a spin-1/2 formula would give.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.constants import hbar
from scipy.constants import k as kB

from mrfm.config import load
from mrfm.imaging.dataset_item import _curie_spin_variance
from mrfm.imaging.operators import ConvolutionOperator
from mrfm.imaging.psf import ImagingGrid
from mrfm.physics import Sample, SpinSpecies
from mrfm.resources import data_dir


def _brillouin(spin: float, x: float) -> float:
    a = (2 * spin + 1) / (2 * spin)
    b = 1 / (2 * spin)
    return a / math.tanh(a * x) - b / math.tanh(b * x)


@pytest.mark.parametrize("name,frequency", [("electron", 11e9), ("2H", 2e6), ("1H", 17e6)])
def test_curie_spin_variance_is_var_over_mean_squared(name, frequency):
    species = SpinSpecies.from_name(name)
    exp = load(data_dir("configs") / "demo.toml")
    rho = np.full((4, 3, 2), 1e27)
    sample = Sample(origin=np.zeros(3), voxel=np.full(3, 4e-9), densities={species.name: rho})
    exp = dataclasses.replace(exp, sample=sample,
                              rf=dataclasses.replace(exp.rf, frequency=frequency))
    grid = ImagingGrid(origin=(0.0, 0.0, 0.0), voxel=(4e-9, 4e-9, 4e-9),
                       object_shape=(4, 3, 2), tip_start=(0.0, 0.0, 20e-9), data_shape=(3, 3, 1))
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(6, 5, 2)) * 1e-21
    density = rng.uniform(0.5, 1.5, size=(4, 3, 2)) * 1e27
    got = _curie_spin_variance(exp, grid, kernel, density)

    gamma, spin, temperature = abs(species.gamma), species.spin, exp.cantilever.T
    b_res = 2 * math.pi * frequency / gamma
    mean = hbar * gamma * spin * _brillouin(spin, spin * hbar * gamma * b_res / (kB * temperature))
    var = (hbar * gamma) ** 2 * spin * (spin + 1) / 3
    volume = 4e-9**3
    expect = ConvolutionOperator(kernel**2 * var / (mean**2 * volume), object_shape=(4, 3, 2),
                                 data_shape=(3, 3, 1)).forward(density)
    assert np.all(expect > 0)
    # 1e-8: the oracle's coth difference cancels to ~1e-9 at the nuclear x ~ 1e-4 here
    np.testing.assert_allclose(got, expect, rtol=1e-8)
    if spin == 0.5:  # the oracle itself: Var = mu^2 and <mu_z> = mu tanh(mu B / kB T)
        mu = hbar * gamma / 2
        assert var / mean**2 == pytest.approx(
            1 / math.tanh(mu * b_res / (kB * temperature)) ** 2, rel=1e-8)
