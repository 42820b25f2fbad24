"""Analog-to-digital conversion: clipping to the input range and uniform quantization.

A b-bit converter over the input range [-R, R] has the step q = 2R / 2**b; the
quantization error of a busy signal is uniform with variance q**2/12
(Widrow & Kollár, *Quantization Noise*, Cambridge 2008, ch. 4).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def lsb(*, bits: int, input_range: float) -> float:
    """Quantization step, V: 2 R / 2**bits."""
    return 2.0 * input_range / 2.0**bits


@njit(cache=True, fastmath=False)
def quantize_sample(u, step, vmax):  # pragma: no cover - numba
    """Return (quantized value, clipped flag) for one input u (V); step 0 means no ADC."""
    clipped = False
    if step <= 0.0:
        return u, clipped
    if u > vmax:
        u = vmax
        clipped = True
    elif u < -vmax:
        u = -vmax
        clipped = True
    return np.round(u / step) * step, clipped


@njit(cache=True, fastmath=False)
def _quantize(u, step, vmax, out):  # pragma: no cover - numba
    count = 0
    for i in range(u.shape[0]):
        out[i], c = quantize_sample(u[i], step, vmax)
        if c:
            count += 1
    return count


def quantize(u: np.ndarray, *, bits: int, input_range: float) -> tuple[np.ndarray, int]:
    """Quantize a voltage record.

    Parameters
    ----------
    u : ndarray, shape (n,)
        Input voltage, V.
    bits : int
        Converter resolution (0: no quantization or clipping).
    input_range : float
        Full scale R, V (input span [-R, R]).

    Returns
    -------
    (ndarray, int)
        The quantized voltages (V) and the number of clipped samples.
    """
    u = np.ascontiguousarray(u, dtype=np.float64)
    out = np.empty_like(u)
    step = lsb(bits=bits, input_range=input_range) if bits > 0 else 0.0
    count = _quantize(u, step, float(input_range), out)
    return out, int(count)
