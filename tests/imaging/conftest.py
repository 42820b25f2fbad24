"""Shared fixtures of the imaging tests: an analytic CAI point-spread function (the numpy
oracle of :mod:`tests.imaging._oracle`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.constants import hbar, physical_constants

from mrfm.imaging.operators import ConvolutionOperator
from mrfm.imaging.psf import ImagingGrid

from ._oracle import cai_dipole_kernel

GAMMA_P = physical_constants["proton gyromag. ratio"][0]
VOXEL = 5e-9


@pytest.fixture(scope="session")
def cai_operator():
    """24 x 24 x 6 voxels of 5 nm, tips on the same lateral grid at 6 heights from 10 nm.

    Sphere tip R = 50 nm, J = 1.8 T, B0 = 3 T, resonance 3.3 T (1H), fm depth 20 mT,
    statistical polarization (force-variance kernel, N^2 per m^-3).
    """
    n, nz = 24, 6
    grid = ImagingGrid(origin=(0.0, 0.0, -(nz - 0.5) * VOXEL), voxel=(VOXEL,) * 3,
                       object_shape=(n, n, nz), tip_start=(0.0, 0.0, 10e-9),
                       data_shape=(n, n, nz))
    kernel = cai_dipole_kernel(grid, magnet_radius=50e-9, polarization=1.8, B0=3.0,
                               rf_frequency=GAMMA_P / (2 * np.pi) * 3.3, fm_depth=0.02,
                               gamma=GAMMA_P, moment=hbar * GAMMA_P / 2, statistical=True)
    return ConvolutionOperator(kernel, object_shape=grid.object_shape,
                               data_shape=grid.data_shape)


@pytest.fixture(scope="session")
def rod_phantom():
    """A TMV-like rod: 80 x 15 x 15 nm of 5e28 m^-3 (16 x 3 x 3 voxels) in the 24 x 24 x 6 grid."""
    truth = np.zeros((24, 24, 6))
    truth[4:20, 10:13, 2:5] = 5e28
    return truth
