"""FFT evaluation for tip grids commensurate with the voxel grid.

For a rigid sample the signal is a correlation of the density with a
translation-invariant kernel (PHYSICS.md "Signal as a convolution")::

    S(r_t) = sum_v rho_v V K(r_v - r_t)

For each tip height h and voxel layer z_k the kernel is evaluated once on
the 2-D grid of lateral offsets ``x_v - x_t`` (which all lie on the voxel
pitch when the tip step is an integer multiple of it; the tip grid's offset
needs no alignment), correlated with the density layer by zero-padded real
FFTs (``scipy.fft``, padded to at least n_voxel + n_tip - 1 per axis, so no
wrap-around) and summed over layers. The kernel value for each offset is the
same function (:func:`mrfm.solver.slice.voxel_value`) as in the direct path.
Offsets (tiles of them) that an exact bound proves far from resonance are not
evaluated, and a (layer, height) whose kernel plane is all zero (the slice
misses that layer) costs no FFT. Two exact savings:

- kernels even in both lateral offsets (the curvature protocols and CAI's statistical
  variance under a sphere polarized along z, :func:`mrfm.solver.mirror.mirror_symmetric`)
  are evaluated on one half of each offset axis that has mirror pairs and copied to the
  other (:func:`mrfm.solver.mirror.mirror_map`; a centred tip grid over a centred sample:
  a quarter of the offsets);
- equal voxel layers (a uniform slab) share one transform: their kernel planes are
  summed first, since ``sum_k rho K_k = rho sum_k K_k``
  (:func:`mrfm.solver.fft_layout.layer_runs`).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft as sfft
from numba import get_num_threads, njit, prange

from mrfm.jit import scalar_kernel
from mrfm.solver import box_bounds as BB
from mrfm.solver import kernels as K
from mrfm.solver import slice as S
from mrfm.solver.fft_layout import add_expanded, layer_runs
from mrfm.solver.mirror import mirror_map, mirror_symmetric

#: lateral tile edge (offset-grid points) of the culling test in :func:`kernel_plane`
TILE = 16
SUBTILE = 4


@scalar_kernel
def _fill_tile(kid, shape_id, mparams, pol, dxs, dys, dz, voxel, pp, res, w, out, crossings,
               stack):
    """Kernel values of tile ``w`` (TILE x TILE offsets, row-major over tiles) into ``res``;
    a tile or SUBTILE x SUBTILE block that :func:`mrfm.solver.box_bounds.box_is_silent` proves
    silent is left as it is (zero)."""
    nx = dxs.size
    ny = dys.size
    stepx = dxs[1] - dxs[0] if nx > 1 else 0.0
    stepy = dys[1] - dys[0] if ny > 1 else 0.0
    nty = (ny + TILE - 1) // TILE
    i0 = (w // nty) * TILE
    j0 = (w % nty) * TILE
    i1 = min(nx, i0 + TILE)
    j1 = min(ny, j0 + TILE)
    cx = 0.5 * (dxs[i0] + dxs[i1 - 1])
    cy = 0.5 * (dys[j0] + dys[j1 - 1])
    if BB.box_is_silent(kid, shape_id, mparams, pol, cx, cy, dz,
                       0.5 * (i1 - 1 - i0) * abs(stepx), 0.5 * (j1 - 1 - j0) * abs(stepy),
                       0.0, voxel[0], voxel[1], voxel[2], pp, out):
        return
    for a0 in range(i0, i1, SUBTILE):
        a1 = min(i1, a0 + SUBTILE)
        for b0 in range(j0, j1, SUBTILE):
            b1 = min(j1, b0 + SUBTILE)
            cx = 0.5 * (dxs[a0] + dxs[a1 - 1])
            cy = 0.5 * (dys[b0] + dys[b1 - 1])
            if BB.box_is_silent(kid, shape_id, mparams, pol, cx, cy, dz,
                               0.5 * (a1 - 1 - a0) * abs(stepx),
                               0.5 * (b1 - 1 - b0) * abs(stepy), 0.0, voxel[0], voxel[1],
                               voxel[2], pp, out):
                continue
            for i in range(a0, a1):
                for j in range(b0, b1):
                    res[i, j] = S.inline_voxel_value(kid, shape_id, mparams, pol, dxs[i],
                                                     dys[j], dz, voxel[0], voxel[1], voxel[2],
                                                     pp, out, crossings, stack)


@scalar_kernel
def _any_nonzero(res):
    for i in range(res.shape[0]):
        for j in range(res.shape[1]):
            if res[i, j] != 0.0:
                return True
    return False


def kernel_plane(kid, shape_id, mparams, pol, dxs, dys, dz, voxel, pp):
    """Kernel (per unit density per unit volume) on the offset grid dxs x dys at height dz:
    :func:`kernel_planes` for one height, on all of numba's threads.

    Returns
    -------
    (plane, nonzero) : ((dxs.size, dys.size) float64, bool)
    """
    planes, nonzero = kernel_planes(kid, shape_id, mparams, pol, dxs, dys,
                                    np.array([float(dz)]), voxel, pp, get_num_threads())
    return planes[0], bool(nonzero[0])


@njit(cache=True, fastmath=False, parallel=True)
def kernel_planes(kid, shape_id, mparams, pol, dxs, dys, dzs, voxel, pp, nth):
    """Kernel (per unit density per unit volume) on the offset grid dxs x dys at each
    height of ``dzs``.

    Each plane is walked in tiles of TILE x TILE offsets, each split into SUBTILE x SUBTILE
    blocks (:func:`_fill_tile`); the (height, tile) pairs are dealt round-robin to ``nth``
    threads in one parallel region (no thread start-up and barrier per layer; neighbouring
    tiles and layers cost alike, so each thread gets a share of the costly ones, those the
    resonant slice crosses). ``nth``: the number of threads (numba's
    ``get_num_threads()``, passed in so that the compiled function can be cached). One
    compiled kernel serves one layer and many.

    Returns
    -------
    (planes, nonzero) : ((dzs.size, dxs.size, dys.size) float64, (dzs.size,) bool)
    """
    nx = dxs.size
    ny = dys.size
    res = np.zeros((dzs.size, nx, ny))
    nonzero = np.zeros(dzs.size, dtype=np.bool_)
    ntiles = ((nx + TILE - 1) // TILE) * ((ny + TILE - 1) // TILE)
    items = dzs.size * ntiles
    nth = max(1, min(nth, items))
    for p in prange(nth):
        out, crossings, stack = S.scratch()
        for q in range(p, items, nth):
            t = q // ntiles
            _fill_tile(kid, shape_id, mparams, pol, dxs, dys, dzs[t], voxel, pp, res[t],
                       q - t * ntiles, out, crossings, stack)
    for t in range(dzs.size):
        nonzero[t] = _any_nonzero(res[t])
    return res, nonzero


@njit(cache=True, fastmath=False)
def layer_may_sound(kid, shape_id, mparams, pol, dxs, dys, dz, voxel, pp):
    """False when every TILE x TILE tile of the offset plane at height dz is provably silent.

    A serial pre-pass (no thread start-up per layer): layers the resonant slice cannot
    reach skip :func:`kernel_plane` and their FFTs altogether.
    """
    nx = dxs.size
    ny = dys.size
    out = np.zeros(K.OUT_LEN)
    stepx = abs(dxs[1] - dxs[0]) if nx > 1 else 0.0
    stepy = abs(dys[1] - dys[0]) if ny > 1 else 0.0
    for i0 in range(0, nx, TILE):
        i1 = min(nx, i0 + TILE)
        for j0 in range(0, ny, TILE):
            j1 = min(ny, j0 + TILE)
            if not BB.box_is_silent(kid, shape_id, mparams, pol, 0.5 * (dxs[i0] + dxs[i1 - 1]),
                                   0.5 * (dys[j0] + dys[j1 - 1]), dz,
                                   0.5 * (i1 - 1 - i0) * stepx, 0.5 * (j1 - 1 - j0) * stepy,
                                   0.0, voxel[0], voxel[1], voxel[2], pp, out):
                return True
    return False


@functools.cache
def specialized(kid: int, shape_id: int):
    """(layer_may_sound, kernel_planes) compiled for one protocol family and one tip shape.

    ``kid`` and ``shape_id`` are closure constants, so numba types them as literals and
    compiles only that protocol's and that shape's code into the kernels (a fraction of
    the first-run compilation of the general versions above, which branch at run time).
    Each specialization is cached on disk like any other kernel. Returns two functions
    taking the arguments of :func:`layer_may_sound` (:func:`kernel_planes`) after
    ``shape_id``.
    """
    kid_c = int(kid)
    shape_c = int(shape_id)

    def may_sound(mparams, pol, dxs, dys, dz, voxel, pp):
        return layer_may_sound(kid_c, shape_c, mparams, pol, dxs, dys, dz, voxel, pp)

    def planes(mparams, pol, dxs, dys, dzs, voxel, pp, nth):
        return kernel_planes(kid_c, shape_c, mparams, pol, dxs, dys, dzs, voxel, pp, nth)

    return S.compile_specialized(kid_c, shape_c, may_sound, planes)


def step_ratio(axis: np.ndarray, pitch: float) -> int | None:
    """Integer m with tip step = m * voxel pitch (1 for a single position); None if not."""
    axis = np.asarray(axis, dtype=float)
    if axis.size == 1:
        return 1
    steps = np.diff(axis)
    step = steps[0]
    if step <= 0 or np.any(np.abs(steps - step) > 1e-9 * abs(step)):
        return None
    m = round(step / pitch)
    if m < 1 or abs(step - m * pitch) > 1e-6 * pitch:
        return None
    return int(m)


def compatible(x: np.ndarray, y: np.ndarray, voxel: np.ndarray) -> bool:
    """Whether the tip grid (x, y) can use the FFT path with this voxel pitch."""
    return step_ratio(x, voxel[0]) is not None and step_ratio(y, voxel[1]) is not None


def plan(x: np.ndarray, y: np.ndarray, shape: tuple[int, int, int],
         voxel: np.ndarray) -> dict[str, int]:
    """Sizes of the FFT problem: full-resolution tip counts, kernel extents, padded sizes."""
    mx = step_ratio(x, voxel[0])
    my = step_ratio(y, voxel[1])
    if mx is None or my is None:
        raise ValueError("tip grid is not commensurate with the voxel grid")
    ntx = (x.size - 1) * mx + 1
    nty = (y.size - 1) * my + 1
    lx = shape[0] + ntx - 1
    ly = shape[1] + nty - 1
    return {
        "mx": mx, "my": my, "ntx": ntx, "nty": nty, "lx": lx, "ly": ly,
        "n1": sfft.next_fast_len(lx, real=True), "n2": sfft.next_fast_len(ly, real=True),
    }


def fft_signal(kid: int, magnet, *, rho: np.ndarray, origin: np.ndarray, voxel: np.ndarray,
               x: np.ndarray, y: np.ndarray, heights: np.ndarray, pp: np.ndarray,
               progress=None) -> np.ndarray:
    """Signal on the tip grid (x, y, heights) by FFT correlation.

    Parameters
    ----------
    kid : int
        Kernel family.
    magnet
        Object with ``shape_id``, ``params``, ``polarization``, ``half_height``.
    rho : (nx, ny, nz) float64
        Spin density, m^-3.
    origin, voxel : (3,) float64
        Centre of voxel [0, 0, 0] and voxel edges, m.
    x, y : 1-D float64
        Tip axes, m (steps integer multiples of the voxel pitch).
    heights : 1-D float64
        Tip heights (gap between surface and the magnet's lowest point), m.
    pp : (PP_LEN,) float64
        Protocol parameters.
    progress : callable, optional
        Called with 1 after each voxel layer.

    Returns
    -------
    (x.size, y.size, heights.size) float64 in the protocol's unit.
    """
    p = plan(x, y, rho.shape, voxel)
    n1, n2 = p["n1"], p["n2"]
    ntx, nty = p["ntx"], p["nty"]
    dxs = origin[0] - x[0] + (np.arange(p["lx"]) - (ntx - 1)) * voxel[0]
    dys = origin[1] - y[0] + (np.arange(p["ly"]) - (nty - 1)) * voxel[1]
    centre_z = np.asarray(heights, dtype=float) + float(magnet.half_height)
    acc = np.zeros((heights.size, n1, n2 // 2 + 1), dtype=complex)
    mparams = np.asarray(magnet.params, dtype=float)
    pol = np.asarray(magnet.polarization, dtype=float)
    workers = _workers()
    vox = np.asarray(voxel, dtype=float)
    occupied, run = layer_runs(rho)
    may_sound, planes_at = specialized(kid, int(magnet.shape_id))
    # offsets evaluated: all, or one half per mirrored axis (copied to the other half)
    xs, ix_map, ys, iy_map = slice(None), None, slice(None), None
    if mirror_symmetric(kid, int(magnet.shape_id), pol, pp[K.P_STAT] != 0.0):
        xs, ix_map = mirror_map(dxs)
        ys, iy_map = mirror_map(dys)
    ix_map = np.arange(dxs.size) if ix_map is None else ix_map
    iy_map = np.arange(dys.size) if iy_map is None else iy_map
    dxs_e = np.ascontiguousarray(dxs[xs])
    dys_e = np.ascontiguousarray(dys[ys])
    # equal layers share one FFT: their kernel planes are summed first (exact; a slab of
    # uniform density costs one transform pair per height instead of one per layer)
    rep = -1  # representative layer of the planes pending in ``sums``
    sums: dict[int, np.ndarray] = {}

    def flush():
        if not sums:
            return
        r_hat = np.conj(sfft.rfft2(rho[:, :, rep], s=(n1, n2), workers=workers))
        for ih, plane in sums.items():
            acc[ih] += r_hat * sfft.rfft2(plane, s=(n1, n2), workers=workers)
        sums.clear()

    # layers in chunks: the planes of the layers of a chunk that may sound at a height are
    # computed in one parallel region (kernel_planes, over layers and tiles)
    nz = rho.shape[2]
    zs = origin[2] + np.arange(nz) * voxel[2]
    plane_bytes = 8 * dxs_e.size * dys_e.size * max(1, heights.size)
    chunk = int(max(1, min(64, (32 << 20) // plane_bytes)))
    for c0 in range(0, nz, chunk):
        ks = [k for k in range(c0, min(nz, c0 + chunk)) if occupied[k]]
        found: dict[int, list] = {k: [] for k in ks}
        for ih, cz in enumerate(centre_z):
            cand = [k for k in ks if may_sound(mparams, pol, dxs_e, dys_e, zs[k] - cz, vox, pp)]
            if not cand:
                continue
            planes, nonzero = planes_at(mparams, pol, dxs_e, dys_e, zs[cand] - cz, vox, pp,
                                        workers)
            for t, k in enumerate(cand):
                if nonzero[t]:  # else the slice misses this layer at this height
                    found[k].append((ih, planes[t]))
        for k in ks:
            if not found[k]:
                continue
            if rep < 0 or run[rep] != run[k]:
                flush()
                rep = k
            for ih, plane in found[k]:
                if ih not in sums:
                    sums[ih] = np.zeros((dxs.size, dys.size))
                add_expanded(sums[ih], plane, ix_map, iy_map)
        if progress is not None:
            for _ in range(c0, min(nz, c0 + chunk)):
                progress(1)
    flush()
    vol = float(np.prod(voxel))
    out = np.empty((x.size, y.size, heights.size))
    if not np.any(acc):
        out[...] = 0.0
        return out
    ix = (ntx - 1) - np.arange(x.size) * p["mx"]
    iy = (nty - 1) - np.arange(y.size) * p["my"]
    for ih in range(heights.size):
        corr = sfft.irfft2(acc[ih], s=(n1, n2), workers=workers)
        out[:, :, ih] = corr[np.ix_(ix, iy)] * vol
    return out


def _workers() -> int:
    """FFT worker threads: numba's thread count (the same cores the kernels use)."""
    return max(1, int(get_num_threads()))


def layer_cost(x: np.ndarray, y: np.ndarray, shape: tuple[int, int, int],
               voxel: np.ndarray) -> int:
    """Kernel evaluations per (voxel layer, tip height) on the FFT path."""
    p = plan(x, y, shape, voxel)
    return int(p["lx"] * p["ly"])


__all__ = ["compatible", "fft_signal", "kernel_plane", "kernel_planes", "layer_cost",
           "layer_may_sound", "layer_runs", "mirror_map", "mirror_symmetric", "plan",
           "step_ratio"]
