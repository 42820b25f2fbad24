"""FFT convolution operator against direct summation; adjoint identity; dipole PSF physics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.constants import mu_0, pi

from mrfm.imaging.operators import ConvolutionOperator, direct_forward
from mrfm.imaging.psf import ImagingGrid, dipole_field_and_xderivative, grid_for_scan


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
