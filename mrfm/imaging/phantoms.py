"""Synthetic spin-density phantoms on a voxel grid (m^-3).

The grid is (nx, ny, nz) voxels of edges ``voxel`` (m); index ``k = nz - 1`` is the
layer just below the surface (z = 0) and ``k = 0`` the deepest, resting on the
substrate. Partial voxels get their volume fraction (``subsample^3`` points per voxel).

Kinds:

* ``rods``: virus-like cylinders lying on the substrate with random in-plane
  orientation, e.g. tobacco mosaic virus (18 nm diameter, 300 nm long) as imaged
  by Degen et al., PNAS 106, 1313 (2009); an optional adsorbed layer on the substrate;
* ``film``: layered films spanning the area, stacked down from the surface;
* ``defects``: isolated point defects (single voxels);
* ``blobs``: random ellipsoidal blobs with smooth (Gaussian) edges;
* ``file``: a user-provided density array (``.npy``) of the grid's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrfm.config.dataset import PHANTOM_KINDS, PhantomRanges

#: the phantom kinds and their parameter ranges are declared with the [dataset] settings
KINDS = PHANTOM_KINDS


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    lo, hi = float(bounds[0]), float(bounds[1])
    return lo if hi == lo else float(rng.uniform(lo, hi))


def _count(rng: np.random.Generator, bounds: Sequence[int]) -> int:
    return int(rng.integers(int(bounds[0]), int(bounds[1]) + 1))


def _subvoxel_coords(shape: Sequence[int], voxel: Sequence[float], subsample: int
                     ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sub-voxel point coordinates relative to the grid's lower corner (x, y; z from substrate)."""
    frac = (np.arange(subsample) + 0.5) / subsample
    out = []
    for fx in frac:
        for fy in frac:
            for fz in frac:
                x = ((np.arange(shape[0]) + fx) * voxel[0])[:, None, None]
                y = ((np.arange(shape[1]) + fy) * voxel[1])[None, :, None]
                z = ((np.arange(shape[2]) + fz) * voxel[2])[None, None, :]
                out.append((x, y, z))
    return out


def rods(shape: Sequence[int], voxel: Sequence[float], *, ranges: PhantomRanges,
         rng: np.random.Generator, subsample: int = 2) -> np.ndarray:
    """Cylinders lying on the substrate (z from the grid bottom), random position and angle."""
    shape = tuple(int(n) for n in shape)
    extent = np.array(shape) * np.asarray(voxel)
    rho = np.zeros(shape)
    subs = _subvoxel_coords(shape, voxel, subsample)
    for _ in range(_count(rng, ranges.count)):
        radius = _uniform(rng, ranges.rod_radius)
        length = _uniform(rng, ranges.rod_length)
        density = _uniform(rng, ranges.density)
        cx, cy = rng.uniform(0.2, 0.8) * extent[0], rng.uniform(0.2, 0.8) * extent[1]
        angle = rng.uniform(0.0, np.pi)
        ux, uy = np.cos(angle), np.sin(angle)
        cz = radius
        frac = np.zeros(shape)
        for x, y, z in subs:
            along = (x - cx) * ux + (y - cy) * uy
            across = -(x - cx) * uy + (y - cy) * ux
            inside = (np.abs(along) <= length / 2) & (across**2 + (z - cz) ** 2 <= radius**2)
            frac += inside
        rho = np.maximum(rho, density * frac / len(subs))
    if ranges.substrate_density > 0:
        rho[:, :, 0] = np.maximum(rho[:, :, 0], ranges.substrate_density)
    return rho


def film(shape: Sequence[int], voxel: Sequence[float], *, ranges: PhantomRanges,
         rng: np.random.Generator) -> np.ndarray:
    """Layers of random thickness and density stacked down from the surface (partial voxels)."""
    shape = tuple(int(n) for n in shape)
    vz = float(voxel[2])
    depth_total = shape[2] * vz
    rho = np.zeros(shape)
    top = 0.0  # depth of the layer's top below the surface
    edges_lo = (shape[2] - 1 - np.arange(shape[2])) * vz  # depth of each voxel's top face
    for _ in range(_count(rng, ranges.count)):
        if top >= depth_total:
            break
        thickness = _uniform(rng, ranges.layer_thickness)
        density = _uniform(rng, ranges.density)
        bottom = min(top + thickness, depth_total)
        overlap = np.clip(np.minimum(edges_lo + vz, bottom) - np.maximum(edges_lo, top), 0.0, vz)
        rho += density * (overlap / vz)[None, None, :]
        top = bottom + thickness * rng.uniform(0.0, 1.0)  # a spin-free spacer
    return rho


def defects(shape: Sequence[int], voxel: Sequence[float], *, ranges: PhantomRanges,
            rng: np.random.Generator) -> np.ndarray:
    """Isolated single-voxel defects at random positions (distinct voxels)."""
    shape = tuple(int(n) for n in shape)
    rho = np.zeros(shape)
    n = min(_count(rng, ranges.count), int(np.prod(shape)))
    flat = rng.choice(int(np.prod(shape)), size=n, replace=False)
    for f in flat:
        rho[np.unravel_index(int(f), shape)] = _uniform(rng, ranges.density)
    return rho


def blobs(shape: Sequence[int], voxel: Sequence[float], *, ranges: PhantomRanges,
          rng: np.random.Generator) -> np.ndarray:
    """Ellipsoidal blobs with Gaussian edges (density profile exp(-r^2/2) in scaled radius)."""
    shape = tuple(int(n) for n in shape)
    extent = np.array(shape) * np.asarray(voxel)
    axes = [(np.arange(n) + 0.5) * v for n, v in zip(shape, voxel, strict=True)]
    x, y, z = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    rho = np.zeros(shape)
    for _ in range(_count(rng, ranges.count)):
        centre = rng.uniform(0.15, 0.85, size=3) * extent
        radii = np.array([_uniform(rng, ranges.blob_radius) for _ in range(3)])
        density = _uniform(rng, ranges.density)
        r2 = (((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
              + ((z - centre[2]) / radii[2]) ** 2)
        rho += density * np.exp(-0.5 * r2)
    return rho


def from_file(shape: Sequence[int], *, ranges: PhantomRanges, rng: np.random.Generator
              ) -> np.ndarray:
    """One of the user's ``.npy`` density arrays (m^-3); its shape must be the grid's."""
    if not ranges.files:
        raise ValueError("phantom 'file' needs dataset.files = [\"density.npy\", ...]")
    path = ranges.files[int(rng.integers(len(ranges.files)))]
    rho = np.load(path, allow_pickle=False).astype(np.float64)
    if rho.shape != tuple(shape):
        raise ValueError(f"{path}: density array has shape {rho.shape}, the grid is {tuple(shape)}")
    if not np.all(np.isfinite(rho)) or np.min(rho) < 0:
        raise ValueError(f"{path}: densities must be finite and >= 0 m^-3")
    return rho


def make_phantom(kind: str, shape: Sequence[int], voxel: Sequence[float], *,
                 ranges: PhantomRanges, rng: np.random.Generator) -> np.ndarray:
    """Draw a phantom of ``kind`` (one of :data:`KINDS`) on the grid; density in m^-3."""
    if kind == "rods":
        return rods(shape, voxel, ranges=ranges, rng=rng)
    if kind == "film":
        return film(shape, voxel, ranges=ranges, rng=rng)
    if kind == "defects":
        return defects(shape, voxel, ranges=ranges, rng=rng)
    if kind == "blobs":
        return blobs(shape, voxel, ranges=ranges, rng=rng)
    if kind == "file":
        return from_file(shape, ranges=ranges, rng=rng)
    raise ValueError(f"unknown phantom kind {kind!r}; known: {', '.join(KINDS)}")
