"""Slow pure-numpy reference of every protocol, for tests on tiny problems (a test oracle:
it lives in tests/, the package holds one model).

Independent of the numba kernels: the fields of a sphere tip come from the numpy point
dipole of :mod:`tests.solver.helpers` (other shapes from the magnet object's vectorized
``field``/``gradient`` methods), thermal moments from
``SpinSpecies.mean_moment``, second derivatives by central differences of
d|B|/dx, trajectory integrals by the plain trapezoid rule on a dense theta
grid, and each voxel is represented by ``subdivisions**3`` sub-points with a
hard resonance threshold (so the reference converges to the exact voxel
integral as ``subdivisions`` grows, and checks the solver's sub-voxel
treatment). Formulas: see the protocol modules in :mod:`mrfm.solver.protocols`.
"""

from __future__ import annotations

import math

import numpy as np

from mrfm.physics import SphereMagnet
from mrfm.solver.result import SignalMap

from .helpers import dipole_field, dipole_gradient

_UNITS = {
    "CAI": ("N", "N^2"),
    "OSCAR": ("Hz", "Hz^2"),
    "iOSCAR": ("Hz", "Hz^2"),
    "CERMIT": ("Hz", "Hz^2"),
    "force-gradient": ("Hz", "Hz^2"),
}


def _field(magnet, rel: np.ndarray, b0: float, high: bool) -> tuple[np.ndarray, np.ndarray]:
    """|B| and d|B|/dx at relative positions ``rel`` (..., 3)."""
    if isinstance(magnet, SphereMagnet):
        b, g = dipole_field(magnet, rel), dipole_gradient(magnet, rel)
    else:
        b, g = magnet.field(rel), magnet.gradient(rel)
    if high:
        return b0 + b[..., 2], g[..., 2, 0]
    bt = b.copy()
    bt[..., 2] += b0
    nb = np.linalg.norm(bt, axis=-1)
    dbdx = np.einsum("...i,...i->...", bt, g[..., :, 0]) / nb
    return nb, dbdx


def _curvature(magnet, rel, b0, high, amplitude, n_theta, step):
    """d2|B|/dx2 (central differences) or its trajectory average for amplitude > 0."""
    if amplitude <= 0:
        dx = np.array([step, 0.0, 0.0])
        _, gp = _field(magnet, rel + dx, b0, high)
        _, gm = _field(magnet, rel - dx, b0, high)
        return (gp - gm) / (2 * step)
    th = np.linspace(0.0, math.pi, n_theta + 1)
    w = np.full(th.size, math.pi / n_theta)
    w[[0, -1]] *= 0.5
    acc = np.zeros(rel.shape[:-1])
    for t, wt in zip(th, w, strict=True):
        shifted = rel.copy()
        shifted[..., 0] -= amplitude * math.cos(t)
        _, g = _field(magnet, shifted, b0, high)
        acc += wt * g * math.cos(t)
    return -2.0 * acc / (math.pi * amplitude)


def _oscar_integral(magnet, rel, b0, high, amplitude, b_res, b1, n_theta):
    """integral_{-pi}^{pi} s(theta) d|B|/dx cos(theta) dtheta and the swept mask (trapezoid)."""
    th = np.linspace(0.0, math.pi, n_theta + 1)
    w = np.full(th.size, math.pi / n_theta)
    w[[0, -1]] *= 0.5
    acc = np.zeros(rel.shape[:-1])
    lo = np.full(rel.shape[:-1], np.inf)
    hi = np.full(rel.shape[:-1], -np.inf)
    for t, wt in zip(th, w, strict=True):
        shifted = rel.copy()
        shifted[..., 0] -= amplitude * math.cos(t)
        nb, g = _field(magnet, shifted, b0, high)
        db = nb - b_res
        s = db / np.sqrt(db**2 + b1**2) if b1 > 0 else np.sign(db)
        acc += wt * s * g * math.cos(t)
        lo = np.minimum(lo, db)
        hi = np.maximum(hi, db)
    swept = (lo < 0) & (hi > 0)
    return 2.0 * acc, swept


def _slice_weight(offset: np.ndarray, half: float, profile: str) -> np.ndarray:
    """Hard (1 inside |dB| <= half) or cos^2(pi dB / (2 half)) slice weight."""
    if profile == "cos2":
        return np.where(np.abs(offset) < half, np.cos(0.5 * np.pi * offset / half) ** 2, 0.0)
    return (np.abs(offset) <= half).astype(float)


def _per_spin(exp, species, rel, n_theta, fd_step, profile="hard"):
    """Signal of one spin at each relative position (..., 3)."""
    name = exp.protocol.name
    b0 = float(exp.B0)
    high = bool(exp.protocol.high_field)
    a = float(exp.amplitude)
    c = exp.cantilever
    gamma = abs(float(species.gamma))
    b_res = 2 * math.pi * exp.rf.frequency / gamma if exp.rf.frequency > 0 else 0.0
    half = exp.rf.fm_depth if exp.rf.fm_depth > 0 else exp.rf.B1
    nb, g = _field(exp.magnet, rel, b0, high)
    weight = 1.0
    if name == "CAI":
        q = g
        mask = np.abs(nb - b_res) <= half
        weight = _slice_weight(nb - b_res, half, profile)
    elif name in ("OSCAR", "iOSCAR"):
        j, mask = _oscar_integral(exp.magnet, rel, b0, high, a, b_res, exp.rf.B1, n_theta)
        q = c.f0 / (2 * math.pi * c.k * a) * j
        if name == "iOSCAR":
            q = q * 4.0 / math.pi / math.sqrt(2.0)
    elif name == "CERMIT":
        factor = 2.0 if exp.protocol.cermit_mode == "invert" else 1.0
        q = factor * c.f0 / (2 * c.k) * _curvature(exp.magnet, rel, b0, high, a, n_theta,
                                                   fd_step)
        mask = np.abs(nb - b_res) <= half
        weight = _slice_weight(nb - b_res, half, profile)
    else:
        q = -c.f0 / (2 * c.k) * _curvature(exp.magnet, rel, b0, high, a, n_theta, fd_step)
        mask = np.ones(nb.shape, dtype=bool)
    if exp.protocol.polarization == "statistical":
        value = float(species.statistical_moment_variance(1)) * q**2
    else:
        value = species.mean_moment(nb, c.T) * q
    return np.where(mask, weight * value, 0.0)


#: sub-points evaluated at once by :func:`reference_simulate` (its arrays stay ~100 MB)
_CHUNK = 1 << 17


def reference_simulate(exp, *, subdivisions: int = 4, n_theta: int = 2048,
                       species_of=None, slice_profile: str | None = None) -> SignalMap:
    """Pure-numpy signal map of ``exp`` (tiny problems only: O(tips x voxels x sub-points)).

    Parameters
    ----------
    exp : Experiment
    subdivisions : int
        Sub-points per voxel edge (hard threshold at each sub-point).
    n_theta : int
        Trapezoid intervals on [0, pi] for trajectory integrals.
    species_of : callable, optional
        name -> SpinSpecies (default: the sample's ``species`` list).
    slice_profile : {"hard", "cos2"}, optional
        Slice weighting (default: ``exp.protocol.slice_profile`` if present, else "hard").
    """
    profile = slice_profile or exp.protocol.slice_profile
    sample = exp.sample
    lookup = {sp.name: sp for sp in sample.species}

    def get_species(name):
        return species_of(name) if species_of is not None else lookup[name]

    x = np.asarray(exp.scan.x, float)
    y = np.asarray(exp.scan.y, float)
    h = np.asarray(exp.scan.height, float)
    signal = np.zeros((x.size, y.size, h.size))
    fd_step = 1e-4 * float(h.min())
    densities = sample.densities
    points = sample.points
    if densities:
        voxel = np.asarray(sample.voxel, float)
        origin = np.asarray(sample.origin, float)
        sub = (np.arange(subdivisions) + 0.5) / subdivisions - 0.5
        offs = np.stack(np.meshgrid(sub, sub, sub, indexing="ij"), -1).reshape(-1, 3) * voxel
    for name, rho in densities.items():
        rho = np.asarray(rho, float)
        idx = np.argwhere(rho != 0)
        centres = origin + idx * voxel
        weights = rho[tuple(idx.T)] * np.prod(voxel) / offs.shape[0]
        sp = get_species(name)
        pts = (centres[:, None, :] + offs[None, :, :]).reshape(-1, 3)
        wts = np.repeat(weights, offs.shape[0])
        for i, j, k in np.ndindex(signal.shape):
            mc = np.array([x[i], y[j], h[k] + exp.magnet.half_height])
            for s in range(0, len(pts), _CHUNK):  # bounded memory at fine subdivisions
                signal[i, j, k] += np.sum(wts[s:s + _CHUNK] * _per_spin(
                    exp, sp, pts[s:s + _CHUNK] - mc, n_theta, fd_step, profile))
    for name, pos in points.items():
        pos = np.asarray(pos, float).reshape(-1, 3)
        sp = get_species(name)
        for i, j, k in np.ndindex(signal.shape):
            mc = np.array([x[i], y[j], h[k] + exp.magnet.half_height])
            signal[i, j, k] += np.sum(_per_spin(exp, sp, pos - mc, n_theta, fd_step,
                                                                 profile))
    pol = exp.protocol.polarization
    unit = _UNITS[exp.protocol.name][1 if pol == "statistical" else 0]
    return SignalMap(signal=signal, unit=unit, coords={"x": x, "y": y, "z": h},
                     protocol=exp.protocol.name, polarization=pol, method="reference",
                     experiment=exp)


__all__ = ["reference_simulate"]
