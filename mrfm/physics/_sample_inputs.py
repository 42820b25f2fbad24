"""Checks of the :class:`~mrfm.physics.sample.Sample` inputs: species names, voxel edges,
densities, positions and shape arguments, and density files (``.npy`` or an HDF5 dataset,
read only after a memory check). Each failure is a ``ValueError`` (or
``FileNotFoundError``) naming the argument, the value and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mrfm.physics._checks import positive
from mrfm.physics.spins import SpinSpecies, canonical_name

#: largest spin density accepted, m^-3 (solids hold ~1e29 nuclei per m^3)
MAX_DENSITY = 1e31


def species_name(species: str | SpinSpecies) -> str:
    """Canonical species name of a name, an alias or a SpinSpecies."""
    if isinstance(species, SpinSpecies):
        return canonical_name(species.name)
    return canonical_name(species)


def as_voxel(voxel: ArrayLike) -> np.ndarray:
    """Voxel edges (3,), m, from one edge or three (each finite and > 0)."""
    v = np.asarray(voxel, dtype=float).reshape(-1)
    if v.size == 1:
        v = np.repeat(v, 3)
    if v.size != 3:
        raise ValueError(f"voxel: expected one edge length or three, got {voxel!r}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0.0):
        raise ValueError(f"voxel: edges {v.tolist()} must be finite and > 0 m")
    return v


def checked_density(value: Any, name: str = "density") -> float:
    """A finite spin density >= 0, m^-3."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if math.isnan(x):
        raise ValueError(f"{name}: value is NaN; give a spin density >= 0 m^-3")
    if math.isinf(x):
        raise ValueError(f"{name}: value {value!r} is infinite; give a finite spin density")
    if x < 0.0:
        raise ValueError(f"{name}: value {value!r} is negative; spin densities must be >= 0")
    return x


def finite_vector(value: Any, n: int, name: str) -> np.ndarray:
    """``n`` finite numbers (m) as a float array."""
    v = np.asarray(value, dtype=float).reshape(-1)
    if v.size != n or not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: expected {n} finite numbers (m), got {value!r}")
    return v


def check_density_array(rho: np.ndarray, where: str) -> None:
    """Refuse NaN, infinite, negative or implausibly large (> MAX_DENSITY) densities."""
    n_nan = int(np.count_nonzero(np.isnan(rho)))
    if n_nan:
        raise ValueError(f"{where}: contains {n_nan} NaN value(s); densities must be finite")
    n_inf = int(np.count_nonzero(np.isinf(rho)))
    if n_inf:
        raise ValueError(f"{where}: contains {n_inf} infinite value(s); densities must be "
                         "finite")
    n_neg = int(np.count_nonzero(rho < 0))
    if n_neg:
        raise ValueError(f"{where}: contains {n_neg} negative value(s) (min {rho.min():g}); "
                         "spin densities must be >= 0 m^-3")
    if rho.size and float(rho.max()) > MAX_DENSITY:
        raise ValueError(f"{where}: density {float(rho.max()):g} m^-3 is beyond any solid "
                         f"(allowed range [0, {MAX_DENSITY:g}] m^-3)")


def load_density_file(path: str) -> np.ndarray:
    """A density array from ``file.npy`` or ``file.h5::/dataset`` (memory checked first)."""
    if "::" in path:
        file, dataset = path.split("::", 1)
        if not os.path.exists(file):
            raise FileNotFoundError(f"density file {file!r} does not exist")
        import h5py

        with h5py.File(file, "r") as h5:
            if dataset not in h5:
                raise ValueError(f"density file {file!r}: no dataset {dataset!r}")
            obj = h5[dataset]
            if not isinstance(obj, h5py.Dataset):
                raise ValueError(f"density file {file!r}: {dataset!r} is a group, not a dataset")
            check_file_array(obj.shape, path)
            return np.asarray(obj[()], dtype=float)
    if not os.path.exists(path):
        raise FileNotFoundError(f"density file {path!r} does not exist")
    if path.lower().endswith(".npy"):
        check_file_array(np.load(path, mmap_mode="r", allow_pickle=False).shape, path)
        return np.asarray(np.load(path, allow_pickle=False), dtype=float)
    if path.lower().endswith((".h5", ".hdf5", ".nxs")):
        raise ValueError(f"density file {path!r}: name the dataset, e.g. '{path}::/density'")
    raise ValueError(f"density file {path!r}: expected a .npy file or 'file.h5::/dataset'")


def check_file_array(shape: tuple[int, ...], path: str) -> None:
    """Refuse a density file whose array would not fit in memory, before reading it."""
    from mrfm.resources import check

    check(8 * 3 * math.prod(shape), what=f"density file {path!r} (shape {shape})",
          setting="a smaller density array")


def lateral_size(size: Sequence[float]) -> tuple[float, float]:
    """(lx, ly), m, each > 0."""
    try:
        lx, ly = size
    except (TypeError, ValueError):
        raise ValueError(f"size: expected (lx, ly) in m, got {size!r}") from None
    return positive(lx, "size[0]", "m"), positive(ly, "size[1]", "m")


def body_center(center: Sequence[float] | None, r: float, what: str) -> np.ndarray:
    """Centre of a body of radius ``r`` (default touching the surface from below), m."""
    c = np.array([0.0, 0.0, -r]) if center is None else finite_vector(center, 3, "center")
    if c[2] + r > 1e-12 * r:
        raise ValueError(f"center: the {what} reaches z = {c[2] + r:g} m above the surface "
                         f"z = 0; need center z <= -radius ({-r:g} m)")
    return c


def subsample_count(s: int) -> int:
    """A positive whole number of sub-samples per voxel edge."""
    if int(s) != s or s < 1:
        raise ValueError(f"subsamples: value {s!r} must be a positive integer")
    return int(s)
