"""FFT convolution operator against direct summation; adjoint identity; the solver-made PSF
against the independent numpy dipole oracle (tests/imaging/_oracle.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.constants import mu_0, pi

from mrfm.imaging.operators import ConvolutionOperator, direct_forward
from mrfm.imaging.psf import ImagingGrid, grid_for_scan

from ._oracle import cai_dipole_kernel, dipole_field_and_xderivative


@pytest.mark.parametrize(("obj", "dat"), [((5, 4, 3), (4, 6, 2)), ((6, 6, 1), (6, 6, 1)),
                                          ((3, 7, 4), (5, 2, 3))])
def test_fft_forward_equals_direct_sum_and_adjoint_identity(obj, dat):
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=tuple(n + m - 1 for n, m in zip(obj, dat, strict=True)))
    op = ConvolutionOperator(kernel, object_shape=obj, data_shape=dat)
    x = rng.normal(size=obj)
    y = rng.normal(size=dat)
    np.testing.assert_allclose(op.forward(x), direct_forward(kernel, x, dat), atol=1e-12)
    assert np.vdot(op.forward(x), y) == pytest.approx(np.vdot(x, op.adjoint(y)), rel=1e-12)
    # ||A||^2 bound: ||A x||^2 <= L ||x||^2
    assert np.linalg.norm(op.forward(x)) ** 2 <= op.lipschitz * np.linalg.norm(x) ** 2


def test_kernel_shape_is_checked():
    with pytest.raises(ValueError, match="N \\+ M - 1"):
        ConvolutionOperator(np.zeros((3, 3, 3)), object_shape=(2, 2, 2), data_shape=(3, 3, 3))


def test_dipole_derivative_matches_finite_differences():
    m = (1e-16, 2e-17, 3e-16)
    d = [np.array(40e-9), np.array(-25e-9), np.array(-70e-9)]
    _, deriv = dipole_field_and_xderivative(d, m)
    h = 1e-13
    plus, _ = dipole_field_and_xderivative([d[0] + h, d[1], d[2]], m)
    minus, _ = dipole_field_and_xderivative([d[0] - h, d[1], d[2]], m)
    for i in range(3):
        assert float(deriv[i]) == pytest.approx(float((plus[i] - minus[i]) / (2 * h)), rel=1e-6)


def test_dipole_on_axis_field_is_two_thirds_j_r3_over_z3():
    # sphere, J along z: on the axis B_z = (2/3) J (R/z)^3 (dipole outside the sphere)
    radius, j = 50e-9, 1.8
    moment = j * 4 / 3 * pi * radius**3 / mu_0
    z = 80e-9
    field, _ = dipole_field_and_xderivative([np.array(0.0), np.array(0.0), np.array(-z)],
                                            (0.0, 0.0, moment))
    assert float(field[2]) == pytest.approx(2 / 3 * j * (radius / z) ** 3, rel=1e-12)


def test_sphere_magnet_field_and_x_derivative_match_the_dipole_oracle():
    # the package's sphere (mrfm.physics.SphereMagnet) outside the sphere is the point dipole
    from mrfm.physics import SphereMagnet

    radius, j = 50e-9, np.array([0.3, -0.2, 1.8])
    tip = SphereMagnet(radius=radius, polarization=j)
    moment = j * 4 / 3 * pi * radius**3 / mu_0
    pts = np.array([[40e-9, -25e-9, -70e-9], [0.0, 0.0, -80e-9], [-90e-9, 30e-9, 10e-9]])
    field, deriv = dipole_field_and_xderivative([pts[:, 0], pts[:, 1], pts[:, 2]], moment)
    np.testing.assert_allclose(tip.field(pts), np.stack(field, axis=-1), rtol=1e-12, atol=0)
    np.testing.assert_allclose(tip.gradient(pts)[..., 0], np.stack(deriv, axis=-1), rtol=1e-10,
                               atol=1e-12 * np.abs(np.stack(deriv)).max())


@pytest.mark.parametrize("polarization", ["statistical", "curie"])
def test_solver_kernel_matches_the_dipole_cai_oracle(polarization):
    """Degen 2009 preset (sphere tip, CAI): the solver's one-voxel kernel against the brute-force
    numpy oracle sampled on 9^3 points per voxel (its error ~ 1/subsample: 4.1 %, 1.9 %, 1.1 %
    for 3, 5, 9 points with the hard slice; the solver integrates the resonant slice exactly).
    CAI's default slice weight is the lock-in fundamental (4/pi) sqrt(1 - s^2) (issue 15),
    which the oracle applies per sub-point (``fundamental=True``); the preset's adiabaticity
    (A >= 28) makes the Landau-Zener factor 1 to 1e-19."""
    from mrfm.config import load
    from mrfm.imaging.psf import kernel_for_experiment
    from mrfm.physics import SpinSpecies
    from mrfm.resources import data_dir

    exp = load(data_dir("configs") / "degen2009.toml",
               overrides={"protocol.polarization": polarization})
    nm, v = 1e-9, 2e-9
    grid = ImagingGrid(origin=(-19 * nm, -19 * nm, -5 * nm), voxel=(v, v, v),
                       object_shape=(20, 20, 3), tip_start=(-19 * nm, -19 * nm, 25 * nm),
                       data_shape=(20, 20, 3))
    kernel, unit, source = kernel_for_experiment(exp, grid)
    assert source == "solver"
    assert kernel.shape == grid.kernel_shape
    proton = SpinSpecies.from_name("1H")
    statistical = polarization == "statistical"
    b_res = 2 * pi * exp.rf.frequency / abs(proton.gamma)
    oracle = cai_dipole_kernel(
        grid, magnet_radius=float(exp.magnet.radius),
        polarization=np.asarray(exp.magnet.polarization), B0=exp.B0,
        rf_frequency=exp.rf.frequency, fm_depth=exp.rf.fm_depth, gamma=proton.gamma,
        moment=proton.moment, statistical=statistical, subsample=9, fundamental=True,
        spin_polarization=1.0 if statistical else float(proton.polarization(b_res,
                                                                          exp.cantilever.T)),
    )
    assert unit == ("N^2" if statistical else "N")
    assert np.linalg.norm(kernel - oracle) / np.linalg.norm(kernel) < 0.015
    if statistical:
        assert kernel.sum() == pytest.approx(oracle.sum(), rel=3e-3)


def test_grid_for_scan_infers_voxels_and_rejects_irregular_axes():
    g = grid_for_scan(x=np.linspace(-10e-9, 10e-9, 11), y=np.linspace(0, 8e-9, 5),
                      height=np.linspace(20e-9, 26e-9, 4), depth_voxels=5)
    assert g.voxel == pytest.approx((2e-9, 2e-9, 2e-9))
    assert g.object_shape == (11, 5, 5) and g.data_shape == (11, 5, 4)
    with pytest.raises(ValueError, match="not regular"):
        grid_for_scan(x=np.array([0, 1e-9, 3e-9]), y=np.zeros(1), height=np.array([1e-8]),
                      depth_voxels=2, voxel_depth=1e-9)


def test_imaging_grid_validates():
    with pytest.raises(ValueError, match="tip height"):
        ImagingGrid(origin=(0, 0, 0), voxel=(1, 1, 1), object_shape=(1, 1, 1),
                    tip_start=(0, 0, 0), data_shape=(1, 1, 1))
