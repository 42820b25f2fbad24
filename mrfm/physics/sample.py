"""Spin samples: densities on a regular voxel grid plus individual point spins.

Geometry (see the project contract): the sample surface is the plane z = 0 and the sample
lies at z <= 0. Voxel ``[i, j, k]`` has its centre at ``origin + (i, j, k) * voxel``; axes
increase with the index, so ``k = nz - 1`` is the layer nearest the surface. The
constructors place the voxel layers so that the top face of a layer is always at
z = -m * voxel[2] (integer m): a body that touches the surface has its top layer's top face
exactly on z = 0. Laterally the grid is centred on the body.

Voxels that a body only partly fills carry the filled volume fraction times the density:
exact for slabs and films (interval overlaps), exact along the flat directions of a
cylinder, and for spheres and cylinders exact along z per sub-column with sub-sampling
across it (chord lengths of the circle/sphere). The sub-sampled totals agree with the
analytic volume to < 1 %; by default one common scale factor then makes them exact.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from mrfm.physics._checks import positive
from mrfm.physics._sample_inputs import (
    MAX_DENSITY,
    as_voxel,
    body_center,
    check_density_array,
    checked_density,
    finite_vector,
    lateral_size,
    load_density_file,
    species_name,
    subsample_count,
)
from mrfm.physics._voxel_grid import (
    chord_fractions,
    lateral_voxels,
    layer_voxels,
    overlap_fractions,
    sub_centres,
)
from mrfm.physics.spins import SpinSpecies
from mrfm.resources import check_sample_grid


@dataclass(frozen=True, eq=False)
class Sample:
    """Spin densities on a voxel grid and individual point spins.

    Parameters
    ----------
    origin : array_like, shape (3,)
        Centre of voxel [0, 0, 0], m.
    voxel : float or array_like, shape (3,)
        Voxel edge lengths, m (> 0); a scalar means cubic voxels.
    densities : dict[str, ndarray]
        Species name -> spin density, m^-3, float64 of shape (nx, ny, nz) (all the same
        shape; finite and >= 0). Names are made canonical ("proton" -> "1H").
    points : dict[str, ndarray]
        Species name -> (n, 3) positions, m, of individual spins (may be empty).

    Examples
    --------
    >>> s = Sample.slab(size=(100e-9, 100e-9), thickness=20e-9, density=5e28,
    ...                 species="1H", voxel=5e-9)
    >>> s.shape
    (20, 20, 4)
    >>> round(s.spin_count("1H") / (5e28 * 100e-9 * 100e-9 * 20e-9), 12)
    1.0
    """

    origin: np.ndarray
    voxel: np.ndarray
    densities: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", finite_vector(self.origin, 3, "Sample.origin"))
        object.__setattr__(self, "voxel", as_voxel(self.voxel))
        if not isinstance(self.densities, Mapping):
            raise ValueError("Sample.densities: expected a dict species -> (nx, ny, nz) array")
        if not isinstance(self.points, Mapping):
            raise ValueError("Sample.points: expected a dict species -> (n, 3) array")
        dens: dict[str, np.ndarray] = {}
        shape = None
        for key, value in self.densities.items():
            name = species_name(key)
            rho = np.asarray(value, dtype=float)
            where = f"Sample.densities[{key!r}]"
            if rho.ndim != 3:
                raise ValueError(f"{where}: expected a 3-D (nx, ny, nz) array, got shape "
                                 f"{rho.shape}")
            if shape is None:
                shape = rho.shape
            elif rho.shape != shape:
                raise ValueError(f"{where}: shape {rho.shape} differs from {shape}; all "
                                 "species must share one grid")
            check_density_array(rho, where)
            dens[name] = dens[name] + rho if name in dens else rho
        pts: dict[str, np.ndarray] = {}
        for key, value in self.points.items():
            name = species_name(key)
            p = np.asarray(value, dtype=float)
            if p.size == 0:
                p = p.reshape(0, 3)
            if p.ndim != 2 or p.shape[1] != 3:
                raise ValueError(f"Sample.points[{key!r}]: expected an (n, 3) array of "
                                 f"positions, got shape {p.shape}")
            if not np.all(np.isfinite(p)):
                raise ValueError(f"Sample.points[{key!r}]: positions must be finite")
            pts[name] = np.concatenate([pts[name], p]) if name in pts else p
        object.__setattr__(self, "densities", dens)
        object.__setattr__(self, "points", pts)

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape (nx, ny, nz); (0, 0, 0) when the sample has only point spins."""
        for rho in self.densities.values():
            return tuple(int(n) for n in rho.shape)
        return (0, 0, 0)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel, m^3."""
        return float(np.prod(self.voxel))

    @property
    def species(self) -> list[SpinSpecies]:
        """The species present (densities first, then point spins), as SpinSpecies."""
        names = dict.fromkeys([*self.densities, *self.points])
        return [SpinSpecies.from_name(n) for n in names]

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates (x (nx,), y (ny,), z (nz,)), m."""
        return tuple(self.origin[i] + self.voxel[i] * np.arange(self.shape[i])
                     for i in range(3))

    def spin_count(self, name: str | SpinSpecies) -> float:
        """Number of spins of one species: sum(rho) * voxel volume + point spins."""
        key = species_name(name)
        total = 0.0
        if key in self.densities:
            total += float(np.sum(self.densities[key])) * self.voxel_volume
        if key in self.points:
            total += float(self.points[key].shape[0])
        return total

    def total_spins(self, species: str | SpinSpecies | None = None) -> float:
        """Spins of one species, or of all species when ``species`` is None."""
        if species is not None:
            return self.spin_count(species)
        names = dict.fromkeys([*self.densities, *self.points])
        return float(sum(self.spin_count(n) for n in names))

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        """Extent of the spins: ((xmin, xmax), (ymin, ymax), (zmin, zmax)), m.

        The faces of the voxels holding a non-zero density (any species) and the point spins.

        Raises
        ------
        ValueError
            If the sample holds no spins.
        """
        lo = np.full(3, np.inf)
        hi = np.full(3, -np.inf)
        occupied = None
        for rho in self.densities.values():
            occ = rho > 0
            occupied = occ if occupied is None else occupied | occ
        if occupied is not None and occupied.any():
            for axis in range(3):
                other = tuple(a for a in range(3) if a != axis)
                idx = np.flatnonzero(occupied.any(axis=other))
                lo[axis] = self.origin[axis] + (idx[0] - 0.5) * self.voxel[axis]
                hi[axis] = self.origin[axis] + (idx[-1] + 0.5) * self.voxel[axis]
        for p in self.points.values():
            if p.shape[0]:
                lo = np.minimum(lo, p.min(axis=0))
                hi = np.maximum(hi, p.max(axis=0))
        if not np.all(np.isfinite(lo)):
            raise ValueError("Sample.bounds: the sample holds no spins")
        return tuple((float(lo[i]), float(hi[i])) for i in range(3))

    # ---------------------------------------------------------------- constructors
    @classmethod
    def slab(cls, *, size: Sequence[float], thickness: float, density: float,
             species: str | SpinSpecies, voxel: ArrayLike) -> Sample:
        """A uniform box under the surface: |x| <= lx/2, |y| <= ly/2, -thickness <= z <= 0.

        Parameters
        ----------
        size : (lx, ly)
            Lateral extent, m, centred on x = y = 0.
        thickness : float
            m (> 0).
        density : float
            Spins per m^3 (>= 0).
        species : str or SpinSpecies
        voxel : float or (3,)
            Edge lengths, m. Edge voxels hold their exact volume fraction, so the total is
            density * lx * ly * thickness to rounding.
        """
        return cls.film(layers=[(thickness, density, species)], size=size, voxel=voxel)

    @classmethod
    def film(cls, *, layers: Iterable[tuple[float, float, str | SpinSpecies]],
             size: Sequence[float], voxel: ArrayLike) -> Sample:
        """Stacked uniform layers from the surface z = 0 downwards.

        Parameters
        ----------
        layers : list of (thickness, density, species)
            The first layer starts at z = 0; m, m^-3, species name. Layers of the same
            species add up in one density array.
        size : (lx, ly)
            Lateral extent, m, centred on x = y = 0.
        voxel : float or (3,)
            Edge lengths, m.
        """
        v = as_voxel(voxel)
        lx, ly = lateral_size(size)
        parsed = []
        for i, layer in enumerate(layers):
            try:
                t, rho, sp = layer
            except (TypeError, ValueError):
                raise ValueError(f"layers[{i}]: expected (thickness, density, species), "
                                 f"got {layer!r}") from None
            parsed.append((positive(t, f"layers[{i}].thickness", "m"),
                           checked_density(rho, f"layers[{i}].density"), species_name(sp)))
        if not parsed:
            raise ValueError("layers: give at least one (thickness, density, species) layer")
        total = sum(t for t, _, _ in parsed)
        x0, nx = lateral_voxels(0.0, lx, v[0])
        y0, ny = lateral_voxels(0.0, ly, v[1])
        z0, nz = layer_voxels(-total, 0.0, v[2])
        check_sample_grid((nx, ny, nz), v, n_species=len({name for _, _, name in parsed}))
        fxy = (overlap_fractions(x0, nx, v[0], -lx / 2, lx / 2)[:, None]
               * overlap_fractions(y0, ny, v[1], -ly / 2, ly / 2)[None, :])
        dens: dict[str, np.ndarray] = {}
        top = 0.0
        for t, rho, name in parsed:
            fz = overlap_fractions(z0, nz, v[2], top - t, top)
            dens.setdefault(name, np.zeros((nx, ny, nz)))
            dens[name] += rho * fxy[:, :, None] * fz[None, None, :]
            top -= t
        return cls(origin=np.array([x0, y0, z0]), voxel=v, densities=dens)

    @classmethod
    def sphere(cls, *, radius: float, center: Sequence[float] | None = None,
               density: float, species: str | SpinSpecies, voxel: ArrayLike,
               subsamples: int | None = None, normalize: bool = True) -> Sample:
        """A uniform sphere below the surface.

        Parameters
        ----------
        radius : float
            m (> 0).
        center : (3,), optional
            m; default (0, 0, -radius) (touching the surface). Needs center_z + radius <= 0.
        density : float
            m^-3 (>= 0).
        species : str or SpinSpecies
        voxel : float or (3,)
            Edge lengths, m.
        subsamples : int, optional
            Sub-columns per voxel edge in x and y (chords along z are exact). Default: 16
            for small spheres, fewer (>= 2) when the grid is wide, keeping <= ~4e6 sub-columns.
        normalize : bool
            Scale the sub-sampled fractions by one common factor (within ~1 % of 1) so that
            the total is exactly density * 4/3 pi radius^3.
        """
        r = positive(radius, "radius", "m")
        rho = checked_density(density)
        c = body_center(center, r, "sphere")
        v = as_voxel(voxel)
        x0, nx = lateral_voxels(c[0], 2 * r, v[0])
        y0, ny = lateral_voxels(c[1], 2 * r, v[1])
        if subsamples is None:
            subsamples = int(min(16, max(2, 2000 // max(nx, ny))))
        s = subsample_count(subsamples)
        z0, nz = layer_voxels(c[2] - r, c[2] + r, v[2])
        check_sample_grid((nx, ny, nz), v, subsamples=s)
        xs = sub_centres(x0, nx, v[0], s) - c[0]
        ys = sub_centres(y0, ny, v[1], s) - c[1]
        r2 = xs[:, None] ** 2 + ys[None, :] ** 2
        half = np.sqrt(np.clip(r * r - r2, 0.0, None))
        frac = chord_fractions(half, c[2], z0, nz, v[2], (nx, ny))
        if normalize:
            frac *= (4.0 / 3.0 * math.pi * r**3) / (float(frac.sum()) * float(np.prod(v)))
        return cls(origin=np.array([x0, y0, z0]), voxel=v,
                   densities={species_name(species): rho * frac})

    @classmethod
    def cylinder(cls, *, radius: float, length: float, axis: str = "x",
                 center: Sequence[float] | None = None, density: float,
                 species: str | SpinSpecies, voxel: ArrayLike, subsamples: int = 32,
                 normalize: bool = True) -> Sample:
        """A uniform rod lying along x or y, e.g. tobacco mosaic virus (18 nm x 300 nm).

        Parameters
        ----------
        radius : float
            m (> 0); TMV: 9 nm.
        length : float
            m (> 0), along ``axis``; flat ends.
        axis : {"x", "y"}
        center : (3,), optional
            Centre of the rod, m; default (0, 0, -radius) (lying on the surface z = 0).
        density : float
            m^-3 (>= 0).
        species : str or SpinSpecies
        voxel : float or (3,)
            Edge lengths, m.
        subsamples : int
            Sub-lines per voxel edge across the rod (chords along z and lengths along the
            axis are exact).
        normalize : bool
            Scale the cross-section fractions by one common factor (within ~1e-3 of 1) so
            that the total is exactly density * pi radius^2 length.
        """
        r = positive(radius, "radius", "m")
        ln = positive(length, "length", "m")
        rho = checked_density(density)
        if axis not in ("x", "y"):
            raise ValueError(f"axis: value {axis!r} is not allowed; use 'x' or 'y'")
        c = body_center(center, r, "cylinder")
        v = as_voxel(voxel)
        s = subsample_count(subsamples)
        a, b = (0, 1) if axis == "x" else (1, 0)  # a: rod axis, b: across
        a0, na = lateral_voxels(c[a], ln, v[a])
        b0, nb = lateral_voxels(c[b], 2 * r, v[b])
        z0, nz = layer_voxels(c[2] - r, c[2] + r, v[2])
        check_sample_grid((na, nb, nz), v, subsamples=s)
        fa = overlap_fractions(a0, na, v[a], c[a] - ln / 2, c[a] + ln / 2)
        bs = sub_centres(b0, nb, v[b], s) - c[b]
        half = np.sqrt(np.clip(r * r - bs * bs, 0.0, None))
        fbz = chord_fractions(half, c[2], z0, nz, v[2], (nb,))
        if normalize:
            fbz *= (math.pi * r * r) / (float(fbz.sum()) * v[b] * v[2])
        frac = fa[:, None, None] * fbz[None, :, :]
        if axis == "y":
            frac = frac.transpose(1, 0, 2)
        origin = np.empty(3)
        origin[a], origin[b], origin[2] = a0, b0, z0
        return cls(origin=origin, voxel=v,
                   densities={species_name(species): rho * np.ascontiguousarray(frac)})

    @classmethod
    def from_points(cls, *, positions: ArrayLike, species: str | SpinSpecies,
                    voxel: ArrayLike = 1e-9) -> Sample:
        """Individual point spins (e.g. one electron spin 20 nm below the surface).

        Parameters
        ----------
        positions : array_like, shape (n, 3) or (3,)
            m; every z must be <= 0.
        species : str or SpinSpecies
        voxel : float or (3,)
            Nominal grid pitch, m (no voxel densities are stored).
        """
        p = np.asarray(positions, dtype=float)
        if p.ndim == 1:
            p = p.reshape(1, -1)
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError(f"positions: expected an (n, 3) array, got shape {p.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError("positions: must be finite numbers (m)")
        if np.any(p[:, 2] > 0.0):
            bad = int(np.argmax(p[:, 2] > 0.0))
            raise ValueError(f"positions[{bad}]: z = {p[bad, 2]:g} m is above the surface; "
                             "need z <= 0")
        return cls(origin=np.zeros(3), voxel=voxel, points={species_name(species): p})

    @classmethod
    def from_array(cls, array_or_path: ArrayLike | str | os.PathLike, *, voxel: ArrayLike,
                   origin: ArrayLike | None = None, species: str | SpinSpecies) -> Sample:
        """A density grid from an array, a ``.npy`` file or an HDF5 dataset.

        Parameters
        ----------
        array_or_path : ndarray (nx, ny, nz), or str / path
            Spin density, m^-3. A path ending in ``.npy`` is read with numpy; an HDF5 dataset
            is named ``"file.h5::/group/dataset"``.
        voxel : float or (3,)
            Edge lengths, m.
        origin : (3,), optional
            Centre of voxel [0, 0, 0], m. Default: grid centred on x = y = 0 with the top
            face of the top layer on z = 0.
        species : str or SpinSpecies

        Raises
        ------
        ValueError
            Wrong dimensionality, or NaN / infinite / negative densities.
        FileNotFoundError
            If the file does not exist.
        """
        v = as_voxel(voxel)
        name = species_name(species)
        if isinstance(array_or_path, str | os.PathLike):
            rho = load_density_file(os.fspath(array_or_path))
            where = f"density file {os.fspath(array_or_path)!r}"
        else:
            rho = np.asarray(array_or_path, dtype=float)
            where = "density array"
        if rho.ndim != 3:
            raise ValueError(f"{where}: expected a 3-D (nx, ny, nz) array, got shape {rho.shape}")
        if rho.size == 0:
            raise ValueError(f"{where}: the array is empty (shape {rho.shape})")
        check_density_array(rho, where)
        nx, ny, nz = rho.shape
        if origin is None:
            o = np.array([-0.5 * (nx - 1) * v[0], -0.5 * (ny - 1) * v[1],
                          -(nz - 0.5) * v[2]])
        else:
            o = finite_vector(origin, 3, "origin")
        return cls(origin=o, voxel=v, densities={name: np.array(rho, dtype=float)})


__all__ = ["MAX_DENSITY", "Sample"]
