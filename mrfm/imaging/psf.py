"""Point-spread functions (PSF) of an MRFM scan on a regular grid.

The imaging geometry is an :class:`ImagingGrid`: an object (spin density) grid of
voxels below the surface and a data grid of tip positions whose lateral spacing
equals the voxel edge and whose heights step by the voxel depth, so that the
signal is a discrete convolution (PHYSICS.md "Signal as a convolution",
:mod:`mrfm.imaging.operators`).

The kernel ``g`` (signal per unit spin density in one voxel) comes from the solver:
:func:`kernel_from_solver` simulates a one-voxel sample with :func:`mrfm.solver.simulate`
over the tip positions that realise every voxel-tip offset, so the kernel carries every
effect the solver models (any tip shape, every protocol, Curie or statistical
polarization, CAI's lock-in fundamental slice weight (4/pi) sqrt(1 - s^2) and the
Landau-Zener inversion efficiency, ``protocol.slice_profile`` / ``protocol.adiabatic``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mrfm.imaging.operators import kernel_shape

if TYPE_CHECKING:
    from mrfm.config import Experiment


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


def kernel_from_solver(exp: Experiment, grid: ImagingGrid) -> tuple[np.ndarray, str]:
    """Kernel for ``exp`` by simulating a one-voxel sample of unit density with the solver.

    The voxel sits at the object grid's top-centre depth (x = y = 0); the tip is scanned
    over every voxel-tip offset of ``grid``. Returns ``(kernel, unit)``.

    Raises
    ------
    ValueError
        If the sample has no spin species or the grid puts a tip below the surface.
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
        raise ValueError("the imaging grid puts a tip at or below the sample surface (height <= 0)")
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


def kernel_for_experiment(exp: Experiment, grid: ImagingGrid) -> tuple[np.ndarray, str, str]:
    """Kernel for the experiment ``exp`` on ``grid``: ``(kernel, unit, source)``.

    The kernel comes from the solver (:func:`kernel_from_solver`); ``source`` is
    ``"solver"``, the value datasets and reconstructions record as ``psf_source``.
    """
    kernel, unit = kernel_from_solver(exp, grid)
    return kernel, unit, "solver"
