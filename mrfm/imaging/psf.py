"""Point-spread functions (PSF) of an MRFM scan on a regular grid.

The imaging geometry is an :class:`ImagingGrid`: an object (spin density) grid of
voxels below the surface and a data grid of tip positions whose lateral spacing
equals the voxel edge and whose heights step by the voxel depth, so that the
signal is a discrete convolution (PHYSICS.md "Signal as a convolution",
:mod:`mrfm.imaging.operators`).

Two ways to build the kernel ``g`` (signal per unit spin density in one voxel):

* :func:`kernel_from_solver` simulates a one-voxel sample with
  :func:`mrfm.solver.simulate` over the tip positions that realise every
  voxel-tip offset, so the kernel carries every effect the solver models;
* :func:`cai_dipole_kernel` evaluates the cyclic-adiabatic-inversion force of a
  point-dipole (sphere) tip with numpy: spins in the resonant shell
  ``| |B| - omega_rf/|gamma| | < Delta_B`` contribute ``mu_z d|B|/dx`` (Curie) or
  ``mu^2 (d|B|/dx)^2`` (statistical polarization, force variance), after
  Rugar et al., Nature 360, 563 (1992) and Degen et al., PNAS 106, 1313 (2009).
  It serves the tests and is the fallback when no solver is installed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.constants import mu_0, pi

from mrfm.imaging.operators import kernel_shape


@dataclass(frozen=True)
class ImagingGrid:
    """Object (voxel) grid and aligned data (tip position) grid.

    Attributes
    ----------
    origin : tuple of 3 float
        Centre of object voxel [0, 0, 0], m (z <= 0: below the surface).
    voxel : tuple of 3 float
        Voxel edges (vx, vy, vz), m; also the tip-grid spacing along x, y and height.
    object_shape : tuple of 3 int
        (nx, ny, nz) voxels.
    tip_start : tuple of 3 float
        First tip position (x0, y0, h0): lateral position (m) and tip height above the
        surface (m, gap to the magnet's nearest point, API.md geometry).
    data_shape : tuple of 3 int
        (mx, my, mh) tip positions; heights are ``h0 + k vz``.
    """

    origin: tuple[float, float, float]
    voxel: tuple[float, float, float]
    object_shape: tuple[int, int, int]
    tip_start: tuple[float, float, float]
    data_shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        for name in ("origin", "voxel", "tip_start"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 3:
                raise ValueError(f"{name} needs 3 values, got {value}")
            object.__setattr__(self, name, value)
        for name in ("object_shape", "data_shape"):
            value = tuple(int(v) for v in getattr(self, name))
            if len(value) != 3 or min(value) < 1:
                raise ValueError(f"{name} needs 3 positive counts, got {value}")
            object.__setattr__(self, name, value)
        if min(self.voxel) <= 0:
            raise ValueError(f"voxel edges must be > 0 m, got {self.voxel}")
        if self.tip_start[2] <= 0:
            raise ValueError(f"the first tip height must be > 0 m, got {self.tip_start[2]}")

    def object_axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates (x, y, z), m."""
        return tuple(  # type: ignore[return-value]
            o + v * np.arange(n) for o, v, n in zip(self.origin, self.voxel, self.object_shape,
                                                    strict=True)
        )

    def data_axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tip coordinates (x, y, height), m."""
        return tuple(  # type: ignore[return-value]
            t + v * np.arange(m) for t, v, m in zip(self.tip_start, self.voxel, self.data_shape,
                                                    strict=True)
        )

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        """Shape of the kernel array, ``N + M - 1`` per axis."""
        return kernel_shape(self.object_shape, self.data_shape)

    def kernel_offsets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spin position minus tip reference (x_t, y_t, h) for each kernel index, m.

        Index ``k`` on each axis holds the voxel-tip index offset ``m = k - (M - 1)``;
        the relative coordinate is ``(origin - tip_start) + m * voxel``.
        """
        out = []
        for o, t, v, n, m in zip(self.origin, self.tip_start, self.voxel, self.object_shape,
                                 self.data_shape, strict=True):
            offsets = np.arange(-(m - 1), n)
            out.append((o - t) + offsets * v)
        return tuple(out)  # type: ignore[return-value]


def grid_for_scan(
    *,
    x: np.ndarray,
    y: np.ndarray,
    height: np.ndarray,
    depth_voxels: int,
    voxel_depth: float | None = None,
) -> ImagingGrid:
    """Imaging grid for a regular tip scan: object laterally under the tips, ``depth_voxels`` deep.

    Parameters
    ----------
    x, y, height : ndarray
        Tip axes, m (each regular; x and y spacing must agree with each other only if
        both have more than one point).
    depth_voxels : int
        Number of voxel layers below the surface.
    voxel_depth : float, optional
        Voxel depth (m); required when the scan has a single height, otherwise the
        height step.

    Raises
    ------
    ValueError
        If an axis is irregular or the voxel edge cannot be inferred.
    """
    steps = []
    for name, axis in (("x", x), ("y", y), ("height", height)):
        axis = np.asarray(axis, dtype=float)
        if axis.size > 1:
            d = np.diff(axis)
            if np.any(d <= 0) or np.ptp(d) > 1e-6 * abs(d[0]):
                raise ValueError(f"tip axis {name} is not regular and increasing")
            steps.append(float(d[0]))
        else:
            steps.append(None)
    vx, vy, vz = steps
    vx = vx if vx is not None else vy
    vy = vy if vy is not None else vx
    if vz is None:
        vz = voxel_depth
    if vx is None or vz is None:
        raise ValueError("cannot infer the voxel edge from a scan with a single x and y position")
    if voxel_depth is not None and height.size > 1 and abs(voxel_depth - vz) > 1e-6 * vz:
        raise ValueError(f"voxel depth {voxel_depth} m differs from the height step {vz} m")
    nz = int(depth_voxels)
    origin = (float(x[0]), float(y[0]), -(nz - 0.5) * vz)
    return ImagingGrid(
        origin=origin,
        voxel=(vx, vy, vz),
        object_shape=(len(x), len(y), nz),
        tip_start=(float(x[0]), float(y[0]), float(height[0])),
        data_shape=(len(x), len(y), len(height)),
    )


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
        in_shell = np.abs(bmag - b_res) < fm_depth
        if statistical:
            return np.where(in_shell, (moment * grad) ** 2 * volume, 0.0)
        return np.where(in_shell, moment * spin_polarization * grad * volume, 0.0)

    return subvoxel_average(one, grid, subsample=subsample)


def kernel_from_solver(exp: Any, grid: ImagingGrid) -> tuple[np.ndarray, str]:
    """Kernel for ``exp`` by simulating a one-voxel sample of unit density with the solver.

    The voxel sits at the object grid's top-centre depth (x = y = 0); the tip is scanned
    over every voxel-tip offset of ``grid``. Returns ``(kernel, unit)``.

    Raises
    ------
    ImportError
        If :mod:`mrfm.solver` provides no ``simulate``.
    """
    from mrfm.config.sections import ScanGrid
    from mrfm.physics import Sample
    from mrfm.solver import simulate

    species = sorted(exp.sample.densities) or sorted(exp.sample.points)
    if not species:
        raise ValueError("the experiment's sample has no spin species")
    ox, oy, oz = grid.kernel_offsets()
    z_spin = grid.origin[2] + (grid.object_shape[2] - 1) * grid.voxel[2]
    # tip reference (x_t, y_t, h) = spin - offset; keep the axes increasing, flip afterwards
    tip_x = (0.0 - ox)[::-1]
    tip_y = (0.0 - oy)[::-1]
    tip_h = (z_spin - oz)[::-1]
    if tip_h[0] <= 0:
        raise ValueError("the imaging grid needs tip heights below the surface")
    sample = Sample.from_array(
        np.ones((1, 1, 1)),
        voxel=np.asarray(grid.voxel),
        origin=np.array([0.0, 0.0, z_spin]),
        species=species[0],
    )
    one = dataclasses.replace(
        exp, sample=sample, scan=ScanGrid(x=tip_x, y=tip_y, height=tip_h)
    )
    result = simulate(one)
    signal = np.asarray(result.signal, dtype=float).reshape(grid.kernel_shape)
    return np.ascontiguousarray(signal[::-1, ::-1, ::-1]), str(result.unit)


def kernel_for_experiment(
    exp: Any, grid: ImagingGrid, *, prefer_solver: bool = True, subsample: int = 3
) -> tuple[np.ndarray, str, str]:
    """Kernel for the experiment ``exp`` on ``grid``: ``(kernel, unit, source)``.

    ``source`` is ``"solver"`` when :func:`kernel_from_solver` succeeded, otherwise
    ``"dipole-cai"`` (:func:`cai_dipole_kernel`, valid for a sphere tip and CAI).

    Raises
    ------
    mrfm.errors.UserError
        If neither the solver nor the analytic model applies to the experiment.
    """
    from mrfm.errors import UserError

    solver_error = "no solver installed"
    if prefer_solver:
        try:
            kernel, unit = kernel_from_solver(exp, grid)
            return kernel, unit, "solver"
        except ImportError as exc:
            solver_error = f"solver unavailable ({exc})"
    magnet = exp.magnet
    if int(getattr(magnet, "shape_id", -1)) != 0 or exp.protocol.name != "CAI":
        raise UserError(
            f"cannot build the point-spread function: {solver_error}, and the analytic model "
            f"covers only a sphere tip with protocol CAI (got {type(magnet).__name__}, "
            f"{exp.protocol.name})"
        )
    from mrfm.physics import SpinSpecies

    names = sorted(exp.sample.densities) or sorted(exp.sample.points)
    species = SpinSpecies.from_name(names[0])
    b_res = 2 * pi * exp.rf.frequency / abs(species.gamma)
    statistical = exp.protocol.polarization == "statistical"
    p = 1.0 if statistical else float(species.polarization(b_res, exp.cantilever.T))
    kernel = cai_dipole_kernel(
        grid,
        magnet_radius=float(magnet.params[0]),
        polarization=np.asarray(magnet.polarization),
        B0=exp.B0,
        rf_frequency=exp.rf.frequency,
        fm_depth=exp.rf.fm_depth,
        gamma=species.gamma,
        moment=species.moment,
        spin_polarization=p,
        statistical=statistical,
        subsample=subsample,
    )
    return kernel, ("N^2" if statistical else "N"), "dipole-cai"
