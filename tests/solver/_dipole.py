"""Stand-in for mrfm.physics.magnet_kernels (sphere = point dipole) used only while that
module does not exist yet. Same contract: magnet_point(shape_id, params, pol, rx, ry, rz,
order, out) with OUT_LEN = 24 and the layout of contracts.md.

Sphere of radius R and polarization J outside: B = (R^3/3) (3 r (J.r)/r^5 - J/r^3).
"""

from __future__ import annotations

import numpy as np
from numba import njit

OUT_LEN = 24


@njit(cache=False)
def magnet_point(shape_id, params, pol, rx, ry, rz, order, out):
    c = params[0] ** 3 / 3.0
    x = (rx, ry, rz)
    r2 = rx * rx + ry * ry + rz * rz
    r = np.sqrt(r2)
    jx = pol[0] * x[0] + pol[1] * x[1] + pol[2] * x[2]
    r3 = r2 * r
    r5 = r3 * r2
    r7 = r5 * r2
    r9 = r7 * r2
    for i in range(3):
        out[i] = c * (3.0 * x[i] * jx / r5 - pol[i] / r3)
    if order >= 1:
        for i in range(3):
            for j in range(3):
                dij = 1.0 if i == j else 0.0
                out[3 + 3 * i + j] = c * (3.0 * dij * jx / r5 + 3.0 * x[i] * pol[j] / r5
                                          + 3.0 * pol[i] * x[j] / r5
                                          - 15.0 * x[i] * x[j] * jx / r7)
    if order >= 2:
        for i in range(3):
            for j in range(3):
                for k in range(3):
                    dij = 1.0 if i == j else 0.0
                    dik = 1.0 if i == k else 0.0
                    djk = 1.0 if j == k else 0.0
                    v = (3.0 * dij * pol[k] / r5 - 15.0 * dij * jx * x[k] / r7
                         + 3.0 * dik * pol[j] / r5 - 15.0 * x[i] * pol[j] * x[k] / r7
                         - 15.0 * (dik * x[j] * jx + x[i] * djk * jx + x[i] * x[j] * pol[k]) / r7
                         + 105.0 * x[i] * x[j] * x[k] * jx / r9
                         + 3.0 * pol[i] * djk / r5 - 15.0 * pol[i] * x[j] * x[k] / r7)
                    if i == 2:
                        out[12 + 3 * j + k] = c * v
                    if j == 0 and k == 0:
                        out[21 + i] = c * v
