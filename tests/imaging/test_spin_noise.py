"""The datasets' spin noise under a Curie signal: the statistical variance of the spins.

It is the density through the solver's point-spread function of the same experiment under
statistical polarization (per spin Var(mu_z) = hbar^2 gamma^2 I(I+1)/3 times the kernel
squared, averaged over each voxel; Degen et al., PRL 99, 250601 (2007)).

- Against the solver called directly (no point-spread function, no convolution): a
  density in one voxel, simulated under statistical polarization at the tips of the data
  grid, for electrons, protons and deuterons (the demo's resonance field).
- Against the earlier shortcut, the Curie kernel squared times Var(mu_z) / (<mu_z>^2 V):
  that squares each voxel's average of the kernel where the variance needs the average
  of its square (Jensen), and it kept the Curie signal's Landau-Zener factor; it is never
  larger, and where the resonant slice cuts a voxel it falls short.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mrfm.config import loads
from mrfm.config.sections import ScanGrid
from mrfm.imaging.dataset_item import _kernel, curie_spin_variance
from mrfm.imaging.operators import ConvolutionOperator
from mrfm.imaging.psf import ImagingGrid
from mrfm.physics import Sample, SpinSpecies
from mrfm.resources import data_dir
from mrfm.solver import simulate

GRID = ImagingGrid(origin=(-4e-9, -4e-9, -6e-9), voxel=(4e-9, 4e-9, 4e-9),
                   object_shape=(3, 3, 2), tip_start=(-12e-9, -12e-9, 40e-9),
                   data_shape=(7, 7, 1))


def _demo(name: str) -> str:
    """The demo experiment with ``name`` spins, resonant at the demo's field (11 GHz for
    electrons)."""
    text = (data_dir("configs") / "demo.toml").read_text()
    b_res = SpinSpecies.from_name("electron").resonance_field(11e9)
    f = SpinSpecies.from_name(name).larmor_frequency(b_res)
    assert 'species = "electron"' in text and 'frequency = "11 GHz"' in text
    return (text.replace('species = "electron"', f'species = "{name}"')
            .replace('frequency = "11 GHz"', f'frequency = "{f!r} Hz"'))


@pytest.mark.parametrize("name", ["electron", "1H", "2H"])
def test_curie_spin_variance_is_the_solvers_statistical_signal(name):
    text = _demo(name)
    exp = loads(text)
    density = np.zeros(GRID.object_shape)
    density[1, 2, 1] = 2e27
    got = curie_spin_variance(text, (), GRID, density)
    stat = dataclasses.replace(exp, protocol=dataclasses.replace(
        exp.protocol, polarization="statistical"))
    centre = np.array(GRID.origin) + np.array([1, 2, 1]) * np.array(GRID.voxel)
    one = Sample.from_array(np.full((1, 1, 1), 2e27), voxel=np.asarray(GRID.voxel),
                            origin=centre, species=name)
    tx, ty, th = GRID.data_axes()
    direct = simulate(dataclasses.replace(stat, sample=one,
                                          scan=ScanGrid(x=tx, y=ty, height=th)),
                      progress=False).signal
    assert np.max(np.abs(direct)) > 0
    np.testing.assert_allclose(got, direct, rtol=1e-6, atol=1e-9 * np.max(np.abs(direct)))


def test_the_squared_curie_kernel_falls_short():
    text = _demo("electron")
    exp = loads(text)
    species = SpinSpecies.from_name("electron")
    density = np.full(GRID.object_shape, 1e27)
    new = curie_spin_variance(text, (), GRID, density)
    curie, _, _ = _kernel(text, (), GRID)
    b_res = species.resonance_field(float(exp.rf.frequency))
    mean = float(species.mean_moment(b_res, exp.cantilever.T))
    old_kernel = curie**2 * float(species.statistical_moment_variance()) / (
        mean**2 * float(np.prod(GRID.voxel)))
    old = ConvolutionOperator(old_kernel, object_shape=GRID.object_shape,
                              data_shape=GRID.data_shape).forward(density)
    assert np.max(new) > 0
    assert np.all(new >= old * (1 - 1e-3))
    # where the slice cuts the voxels the shortcut is several times too small (5.0x at
    # the worst tip here)
    assert np.max(new / np.where(old > 0, old, np.inf)) > 2.0
