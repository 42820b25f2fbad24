"""Mirror symmetry of the kernel, and the exact savings it gives both summation paths.

Under a sphere polarized along z the curvature protocols' kernel and CAI's statistical
variance are even in both lateral offsets, K(-dx, dy) = K(dx, -dy) = K(dx, dy)
(:func:`mirror_symmetric`). Two uses, each exact for the per-voxel values (a value
computed at one offset serves its mirror image):

- the FFT path (:mod:`mrfm.solver.fft`) evaluates the kernel on one half of each lateral
  offset axis that has mirror pairs and copies it to the other (:func:`mirror_map`);
- the direct path (:mod:`mrfm.solver.direct`) folds the voxel grid about a tip whose
  lateral coordinate lies on a voxel centre or halfway between two: of each pair of voxel
  slabs mirrored about the tip it sums one, with weight 2 (:func:`fold_axis`), where the
  density is mirror-symmetric about the tip too (:func:`density_mirrored`; always for a
  uniform density). A tip on the lattice in x and in y needs about a quarter of the voxels.
  CAI's Curie force is odd in x (:func:`mirror_parity`): there the mirrored pairs cancel
  and only the unpaired slabs are summed.
"""

from __future__ import annotations

import math

import numpy as np

from mrfm.solver import kernels as K

#: how close to an integer 2 (t - o) / pitch must be for a tip to count as on the lattice
#: (in voxel pitches): rounding in the tip and grid coordinates (about 1e-14 for grids of
#: 10^5 voxels), nothing physical. A fold about a tip delta pitches off the lattice pairs
#: K(d) with K(-d) instead of K(-d + 2 delta), an error of first order in delta, so this
#: stays far below any step a derivative by finite differences would take (1e-6 did not)
LATTICE_TOL = 1e-9


def mirror_parity(kid: int, shape_id: int, pol: np.ndarray,
                  statistical: bool = False) -> tuple[int, int]:
    """The kernel's parity under a mirror of each lateral offset: (x, y), each +1 (even,
    K(-d) = K(d)), -1 (odd, K(-d) = -K(d)) or 0 (neither, or not known).

    Under a sphere polarized along z (its B_z, |B| and transverse magnitude are even in x
    and in y, B_x is odd in x, and the cantilever's swing and B1 lie along x): (1, 1) for the
    curvature protocols (force gradient, CERMIT: d2|B|/dx2, its trajectory average, the
    slice weight and the Landau-Zener factor are all even) and for CAI's statistical
    variance (``statistical``: the square of d|B|/dx times even weights); (-1, 1) for CAI's
    Curie force (d|B|/dx is odd in x and even in y; its slice weight, Landau-Zener
    retention and moment are even). OSCAR and other tips: (0, 0).
    """
    if shape_id != 0 or pol[0] != 0.0 or pol[1] != 0.0:
        return 0, 0
    if kid in (K.FORCE_GRADIENT, K.CERMIT) or (kid == K.CAI and statistical):
        return 1, 1
    if kid == K.CAI:
        return -1, 1
    return 0, 0


def mirror_symmetric(kid: int, shape_id: int, pol: np.ndarray, statistical: bool = False) -> bool:
    """Whether the kernel is even in both lateral offsets: K(-dx, dy) = K(dx, -dy) = K(dx, dy)
    (:func:`mirror_parity` is (1, 1)): what the FFT path's mirrored offsets need."""
    return mirror_parity(kid, shape_id, pol, statistical) == (1, 1)


def mirror_map(d: np.ndarray) -> tuple[slice, np.ndarray | None]:
    """The part of a uniform offset axis to evaluate, and where every offset finds its value.

    For ``d_i = d_0 + i s`` with ``-2 d_0 / s`` an integer m, offset i mirrors to m - i
    (``d_{m-i} = -d_i``). Returns ``(block, index)``: the kernel is evaluated on
    ``d[block]`` (the longer side of zero, contiguous) and the full axis is
    ``values[index]``; ``(slice(None), None)`` when the axis has no mirror pairs.
    """
    n = d.size
    if n < 2:
        return slice(None), None
    step = d[1] - d[0]
    m_float = -2.0 * d[0] / step
    m = round(m_float)
    if abs(m_float - m) > LATTICE_TOL or m <= 0:
        return slice(None), None
    if -d[0] <= d[-1]:
        lo, hi = (m + 1) // 2, n
    else:
        lo, hi = 0, min(n, m // 2 + 1)
    idx = np.arange(n)
    inside = (idx >= lo) & (idx < hi)
    src = np.where(inside, idx, m - idx) - lo
    if np.any(src < 0) or np.any(src >= hi - lo) or hi - lo == n:
        return slice(None), None
    return slice(lo, hi), src


def mirror_pairs(origin: float, pitch: float, n: int, tip: float) -> tuple[int, int] | None:
    """The voxel indices ``[a, b]`` (inclusive) that pair up about a tip coordinate.

    Voxel i (centre ``origin + i pitch``) mirrors about ``tip`` to voxel m - i with
    m = 2 (tip - origin) / pitch; returns None unless m is an integer (the tip on a voxel
    centre, m even, or halfway between two, m odd) and at least one pair of distinct
    voxels exists. Then a + b = m and every i in [a, b] has its mirror in [a, b].
    """
    m_float = 2.0 * (tip - origin) / pitch
    if not math.isfinite(m_float):
        return None
    m = round(m_float)
    if abs(m_float - m) > LATTICE_TOL:
        return None
    a = max(0, m - (n - 1))
    b = min(n - 1, m)
    if b - a < 1:
        return None
    return a, b


def fold_axis(origin: float, pitch: float, n: int, tip: float,
              parity: int = 1) -> list[tuple[int, int, float]]:
    """Index ranges ``(lo, hi, weight)`` along one axis whose weighted sums give the sum
    over all n voxels, for a summand even (``parity`` 1) or odd (-1) about ``tip`` (see
    :func:`mirror_pairs`).

    Even: the unpaired voxels at either end and the voxel on the mirror plane (m even) keep
    weight 1; of the pairs only the upper half is listed, with weight 2. Odd: each pair
    cancels and the voxel on the mirror plane is 0 (K(0) = -K(0)), so only the unpaired
    voxels are listed. Without pairs, or ``parity`` 0: ``[(0, n, 1.0)]``. Empty ranges are
    left out (an odd summand about the grid's centre leaves none: the sum is 0).
    """
    pairs = mirror_pairs(origin, pitch, n, tip) if parity in (1, -1) else None
    if pairs is None:
        return [(0, n, 1.0)]
    a, b = pairs
    m = a + b
    if parity == -1:
        return [(lo, hi, 1.0) for lo, hi in ((0, a), (b + 1, n)) if hi > lo]
    ranges = [(0, a, 1.0)]
    if m % 2 == 0:
        ranges.append((m // 2, m // 2 + 1, 1.0))
    ranges += [((m + 1 + (m % 2 == 0)) // 2, b + 1, 2.0), (b + 1, n, 1.0)]
    return [(lo, hi, w) for lo, hi, w in ranges if hi > lo]


def density_mirrored(rho: np.ndarray, axis: int, a: int, b: int) -> bool:
    """Whether ``rho`` (nx, ny, nz) is mirror-symmetric along ``axis`` (0: x, 1: y) over the
    index range [a, b]: slab a + i equals slab b - i for every i (exact comparison).

    Compared one pair of slabs at a time from the outside in, stopping at the first pair
    that differs: an asymmetric density usually costs one slab, and no temporary is larger
    than a slab."""
    for i in range(a, (a + b + 1) // 2):
        lo = rho[i] if axis == 0 else rho[:, i]
        hi = rho[a + b - i] if axis == 0 else rho[:, a + b - i]
        if not np.array_equal(lo, hi):
            return False
    return True


__all__ = ["LATTICE_TOL", "density_mirrored", "fold_axis", "mirror_map", "mirror_pairs",
           "mirror_parity", "mirror_symmetric"]
