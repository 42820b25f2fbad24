"""Direct summation: every tip position against every voxel (and every point spin).

Serves arbitrary tip positions and the reference tests. The work is split
into (tip, voxel-chunk) items run in parallel with numba ``prange``; each item
walks a contiguous range of the flattened density grid, skipping empty
voxels, so memory stays at O(tips x chunks).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from mrfm.solver import kernels as K
from mrfm.solver import slice as S


@njit(cache=True, fastmath=False, parallel=True)
def _voxel_sums(kid, shape_id, mparams, pol, centres, rho_flat, shape, origin, voxel, pp,
                nchunks):
    nt = centres.shape[0]
    ny = shape[1]
    nz = shape[2]
    nvox = rho_flat.size
    chunk = (nvox + nchunks - 1) // nchunks
    partial = np.zeros((nt, nchunks))
    for w in prange(nt * nchunks):
        t = w // nchunks
        c = w % nchunks
        out = np.zeros(K.OUT_LEN)
        crossings = np.zeros(S.MAX_CROSSINGS)
        stack = np.zeros((S.STACK_LEN, 4))
        start = c * chunk
        stop = min(nvox, start + chunk)
        acc = 0.0
        for f in range(start, stop):
            r = rho_flat[f]
            if r == 0.0:
                continue
            i = f // (ny * nz)
            j = (f // nz) % ny
            k = f % nz
            cx = origin[0] + i * voxel[0] - centres[t, 0]
            cy = origin[1] + j * voxel[1] - centres[t, 1]
            cz = origin[2] + k * voxel[2] - centres[t, 2]
            acc += r * S.voxel_value(kid, shape_id, mparams, pol, cx, cy, cz, voxel[0], voxel[1],
                                     voxel[2], pp, out, crossings, stack)
        partial[t, c] = acc
    vol = voxel[0] * voxel[1] * voxel[2]
    res = np.zeros(nt)
    for t in range(nt):
        res[t] = partial[t].sum() * vol
    return res


@njit(cache=True, fastmath=False, parallel=True)
def _point_sums(kid, shape_id, mparams, pol, centres, positions, pp, nchunks):
    nt = centres.shape[0]
    npts = positions.shape[0]
    chunk = (npts + nchunks - 1) // nchunks
    partial = np.zeros((nt, nchunks))
    for w in prange(nt * nchunks):
        t = w // nchunks
        c = w % nchunks
        out = np.zeros(K.OUT_LEN)
        crossings = np.zeros(S.MAX_CROSSINGS)
        acc = 0.0
        for p in range(c * chunk, min(npts, (c + 1) * chunk)):
            acc += S.point_value(kid, shape_id, mparams, pol, positions[p, 0] - centres[t, 0],
                                 positions[p, 1] - centres[t, 1],
                                 positions[p, 2] - centres[t, 2], pp, out, crossings)
        partial[t, c] = acc
    res = np.zeros(nt)
    for t in range(nt):
        res[t] = partial[t].sum()
    return res


def _chunks(n_tips: int, n_items: int, min_items: int = 4096) -> int:
    """Voxel chunks per tip: enough parallel items for the threads, not too small."""
    from numba import get_num_threads

    want = max(1, math.ceil(4 * get_num_threads() / max(n_tips, 1)))
    return int(max(1, min(want, math.ceil(n_items / min_items))))


def voxel_signal(kid: int, magnet, centres: np.ndarray, rho: np.ndarray, origin: np.ndarray,
                 voxel: np.ndarray, pp: np.ndarray, *, progress=None) -> np.ndarray:
    """Signal of a voxel density at each magnet centre by direct summation.

    Parameters
    ----------
    kid : int
        Kernel family (``mrfm.solver.kernels.CAI`` ...).
    magnet
        Object with ``shape_id``, ``params``, ``polarization``.
    centres : (nt, 3) float64
        Magnet-centre positions, m.
    rho : (nx, ny, nz) float64
        Spin density, m^-3.
    origin, voxel : (3,) float64
        Centre of voxel [0, 0, 0] and voxel edges, m.
    pp : (PP_LEN,) float64
        Protocol parameters.
    progress : callable, optional
        Called with the number of tips finished after each batch.

    Returns
    -------
    (nt,) float64 signal in the protocol's unit.
    """
    centres = np.ascontiguousarray(centres, dtype=float)
    rho_flat = np.ascontiguousarray(rho, dtype=float).reshape(-1)
    shape = np.asarray(rho.shape, dtype=np.int64)
    nt = centres.shape[0]
    out = np.zeros(nt)
    nchunks = _chunks(nt, rho_flat.size)
    batch = nt if progress is None else max(1, min(nt, 64))
    for start in range(0, nt, batch):
        stop = min(nt, start + batch)
        out[start:stop] = _voxel_sums(kid, int(magnet.shape_id), _f64(magnet.params),
                                      _f64(magnet.polarization), centres[start:stop], rho_flat,
                                      shape, _f64(origin), _f64(voxel), pp, nchunks)
        if progress is not None:
            progress(stop - start)
    return out


def point_signal(kid: int, magnet, centres: np.ndarray, positions: np.ndarray,
                 pp: np.ndarray) -> np.ndarray:
    """Signal of individual point spins (exact positions, exact resonance indicator), (nt,)."""
    positions = np.ascontiguousarray(positions, dtype=float).reshape(-1, 3)
    centres = np.ascontiguousarray(centres, dtype=float)
    if positions.shape[0] == 0:
        return np.zeros(centres.shape[0])
    nchunks = _chunks(centres.shape[0], positions.shape[0], min_items=64)
    return _point_sums(kid, int(magnet.shape_id), _f64(magnet.params), _f64(magnet.polarization),
                       centres, positions, pp, nchunks)


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=float).reshape(-1))
