"""Independent numpy oracle for the imaging tests: the CAI point-spread function of a
sphere (point-dipole) tip, evaluated by brute force on sub-voxel points.

This is the analytic kernel the package once carried as a fallback; it now lives only here,
as a second algorithm to test the solver-made kernel against (the solver integrates the
resonant slice over each voxel exactly; this samples ``subsample^3`` points per voxel).
Spins in the resonant shell ``| |B| - omega_rf/|gamma| | < Delta_B`` contribute
``mu_z d|B|/dx`` (Curie) or ``mu^2 (d|B|/dx)^2`` (statistical polarization, force variance),
after Rugar et al., Nature 360, 563 (1992) and Degen et al., PNAS 106, 1313 (2009).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.constants import mu_0, pi

from mrfm.imaging.psf import ImagingGrid


def subvoxel_average(
    function: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    grid: ImagingGrid,
    *,
    subsample: int = 3,
) -> np.ndarray:
    """Average ``function(dx, dy, dz)`` over ``subsample^3`` points inside each kernel voxel.

    ``dx, dy, dz`` are broadcastable relative coordinates (spin minus tip reference, m).
    Returns the kernel array of shape ``grid.kernel_shape``.
    """
    s = int(subsample)
    if s < 1:
        raise ValueError("subsample must be >= 1")
    ox, oy, oz = grid.kernel_offsets()
    frac = (np.arange(s) + 0.5) / s - 0.5
    total = np.zeros(grid.kernel_shape)
    for fx in frac:
        for fy in frac:
            for fz in frac:
                dx = (ox + fx * grid.voxel[0])[:, None, None]
                dy = (oy + fy * grid.voxel[1])[None, :, None]
                dz = (oz + fz * grid.voxel[2])[None, None, :]
                total += function(dx, dy, dz)
    return total / s**3


def dipole_field_and_xderivative(
    d: Sequence[np.ndarray], moment: Sequence[float]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Field B (T) of a point dipole ``moment`` (J/T) at displacement ``d`` and dB/dx (T/m).

    ``B = mu0/(4 pi) [3 d (m.d)/r^5 - m/r^3]``; the x derivative is analytic.
    ``d`` is a sequence of three broadcastable arrays (m) from the dipole to the point.
    """
    dx, dy, dz = d
    mx, my, mz = (float(v) for v in moment)
    r2 = dx * dx + dy * dy + dz * dz
    r = np.sqrt(r2)
    inv_r5 = 1.0 / (r2 * r2 * r)
    inv_r3 = inv_r5 * r2
    inv_r7 = inv_r5 / r2
    mdotd = mx * dx + my * dy + mz * dz
    c = mu_0 / (4 * pi)
    comps = (dx, dy, dz)
    ms = (mx, my, mz)
    field = [c * (3 * comps[i] * mdotd * inv_r5 - ms[i] * inv_r3) for i in range(3)]
    deriv = []
    for i in range(3):
        term = (3 * comps[i] * mx * inv_r5 - 15 * comps[i] * mdotd * dx * inv_r7
                + 3 * ms[i] * dx * inv_r5)
        if i == 0:
            term = term + 3 * mdotd * inv_r5
        deriv.append(c * term)
    return field, deriv


def cai_dipole_kernel(
    grid: ImagingGrid,
    *,
    magnet_radius: float,
    polarization: float | Sequence[float],
    B0: float,
    rf_frequency: float,
    fm_depth: float,
    gamma: float,
    moment: float,
    spin_polarization: float = 1.0,
    statistical: bool = False,
    subsample: int = 3,
    fundamental: bool = False,
) -> np.ndarray:
    """CAI point-spread function of a sphere (point-dipole) tip, per unit spin density.

    Parameters
    ----------
    grid : ImagingGrid
    magnet_radius : float
        Sphere radius R, m; the magnet's centre is ``R`` above the tip height.
    polarization : float or 3 floats
        J = mu0 M, T (scalar: along +z). Moment ``J (4/3 pi R^3) / mu0``.
    B0 : float
        Applied field along +z, T.
    rf_frequency : float
        RF frequency, Hz; resonance at ``|B| = 2 pi f / |gamma|``.
    fm_depth : float
        Frequency-modulation depth Delta_B, T: the shell ``| |B| - B_res | < Delta_B``.
    gamma : float
        Gyromagnetic ratio, rad/(s T).
    moment : float
        Magnetic moment of one spin, J/T (``hbar |gamma| I``).
    spin_polarization : float
        Curie polarization <I_z>/I at the resonant field (unused when ``statistical``).
    statistical : bool
        Return the force-variance kernel ``mu^2 (d|B|/dx)^2 V`` (N^2 per m^-3) instead of
        the force ``mu p d|B|/dx V`` (N per m^-3).
    subsample : int
        Sub-voxel points per axis (the resonant shell is often thinner than a voxel).

    Returns
    -------
    ndarray, shape ``grid.kernel_shape``
        Kernel ``g`` (see :mod:`mrfm.imaging.operators`), signal per m^-3 of spin density.
    """
    pol = np.asarray(polarization, dtype=float)
    pol = np.array([0.0, 0.0, float(pol)]) if pol.ndim == 0 else pol
    m_vec = pol * (4.0 / 3.0 * pi * magnet_radius**3) / mu_0
    b_res = 2 * pi * rf_frequency / abs(gamma)
    volume = float(np.prod(grid.voxel))

    def one(dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        d = np.broadcast_arrays(dx, dy, dz - magnet_radius)
        field, deriv = dipole_field_and_xderivative(d, m_vec)
        bz = field[2] + B0
        bmag = np.sqrt(field[0] ** 2 + field[1] ** 2 + bz**2)
        grad = (field[0] * deriv[0] + field[1] * deriv[1] + bz * deriv[2]) / bmag
        s = (bmag - b_res) / fm_depth
        in_shell = np.abs(s) < 1.0
        # fundamental: the lock-in weight (4/pi) sqrt(1 - s^2) of CAI (its square for the
        # variance); else the hard slice
        w = 4.0 / pi * np.sqrt(np.clip(1.0 - s * s, 0.0, None)) if fundamental else 1.0
        if statistical:
            return np.where(in_shell, (w * moment * grad) ** 2 * volume, 0.0)
        return np.where(in_shell, w * moment * spin_polarization * grad * volume, 0.0)

    return subvoxel_average(one, grid, subsample=subsample)
