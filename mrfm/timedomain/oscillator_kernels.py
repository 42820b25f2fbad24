"""Numba kernels that step the exactly discretized cantilever over a record.

:func:`propagate` takes its standard normal draws as an array; :func:`propagate_thermal`
draws them in place from the counter-based generator of :mod:`mrfm.timedomain.noise`, so
a record made in pieces equals the record made at once. The step matrices come from
:func:`mrfm.timedomain.oscillator.discretize` (which module re-exports both kernels).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mrfm.timedomain.noise import FILL_BLOCK, fill_pairs


@njit(cache=True, fastmath=False)
def propagate(phi, gamma_in, chol, x0, v0, force, normals, out_x, out_v):  # pragma: no cover
    """Step the oscillator ``n = out_x.size`` times (numba kernel).

    Parameters
    ----------
    phi : (2, 2) float64; gamma_in : (2,) float64; chol : (2, 2) float64
        From :func:`mrfm.timedomain.oscillator.discretize`.
    x0, v0 : float
        State at sample 0 (m, m/s).
    force : (n,) float64 or (0,) float64
        Force held over each step, N (empty: no force).
    normals : (n, 2) float64 or (0, 2)
        Standard normal draws (empty: noiseless).
    out_x, out_v : (n,) float64
        Filled with x and v at samples 0 .. n-1.

    Returns
    -------
    (float, float)
        State at sample n (to continue the record).
    """
    p00, p01, p10, p11 = phi[0, 0], phi[0, 1], phi[1, 0], phi[1, 1]
    g0, g1 = gamma_in[0], gamma_in[1]
    l00, l10, l11 = chol[0, 0], chol[1, 0], chol[1, 1]
    has_f = force.shape[0] > 0
    has_z = normals.shape[0] > 0
    x, v = x0, v0
    for i in range(out_x.shape[0]):
        out_x[i] = x
        out_v[i] = v
        xn = p00 * x + p01 * v
        vn = p10 * x + p11 * v
        if has_f:
            xn += g0 * force[i]
            vn += g1 * force[i]
        if has_z:
            z0 = normals[i, 0]
            xn += l00 * z0
            vn += l10 * z0 + l11 * normals[i, 1]
        x, v = xn, vn
    return x, v


@njit(cache=True, fastmath=False)
def propagate_thermal(phi, gamma_in, chol, x0, v0, k0, k1, stream, n0, force, out_x,
                      out_v):  # pragma: no cover - numba
    """Step the oscillator with thermal noise drawn in place (numba kernel).

    Like :func:`propagate`, but the standard normal pair of step n0 + i is
    ``mrfm.timedomain.noise.normal_pair(k0, k1, stream, n0 + i)`` (Philox-4x32-10 and a
    ziggurat), so a record made in pieces (any n0) equals the record made at once.

    Parameters
    ----------
    phi, gamma_in, chol : float64 arrays
        From :func:`mrfm.timedomain.oscillator.discretize`.
    x0, v0 : float
        State at sample n0 (m, m/s).
    k0, k1 : int
        Philox key words (:func:`mrfm.timedomain.noise.seed_key`).
    stream : int
        Random stream id.
    n0 : int
        Absolute index of the first sample.
    force : (n,) float64 or (0,) float64
        Force held over each step, N (empty: no force).
    out_x, out_v : (n,) float64
        Filled with x and v at samples n0 .. n0 + n - 1.

    Returns
    -------
    (float, float)
        State at sample n0 + n.
    """
    p00, p01, p10, p11 = phi[0, 0], phi[0, 1], phi[1, 0], phi[1, 1]
    g0, g1 = gamma_in[0], gamma_in[1]
    l00, l10, l11 = chol[0, 0], chol[1, 0], chol[1, 1]
    has_f = force.shape[0] > 0
    wbuf = np.empty(2 * FILL_BLOCK, dtype=np.uint64)
    zbuf = np.empty(2 * FILL_BLOCK)
    n = out_x.shape[0]
    x, v = x0, v0
    # blocks: draw the noise first (vectorized Philox, ziggurat), then the recurrence
    for b0 in range(0, n, FILL_BLOCK):
        m = min(FILL_BLOCK, n - b0)
        fill_pairs(k0, k1, stream, n0 + b0, m, wbuf, zbuf)
        for j in range(m):
            i = b0 + j
            out_x[i] = x
            out_v[i] = v
            z0 = zbuf[2 * j]
            xn = p00 * x + p01 * v + l00 * z0
            vn = p10 * x + p11 * v + l10 * z0 + l11 * zbuf[2 * j + 1]
            if has_f:
                xn += g0 * force[i]
                vn += g1 * force[i]
            x, v = xn, vn
    return x, v
