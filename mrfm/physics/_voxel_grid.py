"""Voxel-grid geometry of the :class:`~mrfm.physics.sample.Sample` constructors: whole voxels
covering an extent, layers with top faces on z = -m dz, interval overlaps, chord fractions of
discs and spheres per layer, and sub-voxel centres.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-9  # relative tolerance when counting whole voxels


def lateral_voxels(center: float, extent: float, d: float) -> tuple[float, int]:
    """Whole voxels of pitch d covering [center - extent/2, center + extent/2], centred.

    Returns (centre of the first voxel, count).
    """
    n = max(1, math.ceil(extent / d - _EPS))
    return center - 0.5 * (n - 1) * d, n


def layer_voxels(zmin: float, zmax: float, dz: float) -> tuple[float, int]:
    """Voxel layers with top faces at -m dz covering [zmin, zmax] (zmax <= 0).

    Returns (centre z of the lowest layer, count).
    """
    top = max(0, math.floor(-zmax / dz + _EPS))
    bottom = max(top + 1, math.ceil(-zmin / dz - _EPS))
    return -(bottom - 0.5) * dz, bottom - top


def overlap_fractions(first: float, n: int, d: float, lo: float, hi: float) -> np.ndarray:
    """Fraction of each voxel [c - d/2, c + d/2] (c = first + i d) inside [lo, hi]."""
    c = first + d * np.arange(n)
    length = np.clip(np.minimum(c + 0.5 * d, hi) - np.maximum(c - 0.5 * d, lo), 0.0, d)
    frac = length / d
    frac[frac > 1.0 - 1e-12] = 1.0  # full voxels exactly full despite rounding of the edges
    frac[frac < 1e-12] = 0.0
    return frac


def chord_fractions(half: np.ndarray, zc: float, z0: float, nz: int, dz: float,
                     groups: tuple[int, ...]) -> np.ndarray:
    """Mean fraction of each z-layer inside the chords [zc - half, zc + half].

    ``half`` has shape (g0 * s, g1 * s, ...) sub-columns; the result has shape
    (g0, g1, ..., nz): the mean over the s sub-columns of every group.
    """
    lo = zc - half
    hi = zc + half
    shape = []
    for g in groups:
        shape += [g, half.shape[len(shape) // 2] // g]
    axes = tuple(range(1, 2 * len(groups), 2))
    out = np.empty((*groups, nz))
    for k in range(nz):
        e0 = z0 + (k - 0.5) * dz
        length = np.clip(np.minimum(hi, e0 + dz) - np.maximum(lo, e0), 0.0, dz)
        out[..., k] = length.reshape(shape).mean(axis=axes) / dz
    return out


def sub_centres(first: float, n: int, d: float, s: int) -> np.ndarray:
    """Centres of s equal sub-intervals of each of n voxels (n * s values, voxel-major)."""
    c = first + d * np.arange(n)
    off = ((np.arange(s) + 0.5) / s - 0.5) * d
    return (c[:, None] + off[None, :]).reshape(-1)
