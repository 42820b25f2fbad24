"""Counter-based random numbers for the numba kernels: Philox-4x32-10 and a ziggurat normal.

Every draw is a pure function of (seed, stream, sample index, slot), so a record is
bit-for-bit the same whatever the chunk size and whichever order its pieces are made
in, and no generator state has to be carried between chunks.

- **Bits**: Philox-4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as
  easy as 1, 2, 3", SC'11 (2011)) maps a 128-bit counter and a 64-bit key to 128
  pseudo-random bits; with 10 rounds it passes TestU01's BigCrush for every key.
  Here key = the 64-bit seed, counter = (n mod 2**32, n div 2**32, stream, attempt):
  one call per sample n gives two 64-bit words, and ``attempt > 0`` (rare: the
  ziggurat's rejection steps) gives further independent words for the same sample.
  The implementation is checked against the Random123 known-answer vectors.
- **Normals**: the 256-layer ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8) (2000)),
  with the layer index, the sign and the 52-bit abscissa taken from disjoint bits of one
  64-bit word (Doornik, "An improved ziggurat method to generate normal random samples",
  2005, shows why the original shared bits must be avoided). 98.8 % of draws need one
  word, a table look-up and one multiply; the rest use Marsaglia's exact wedge and tail
  tests. The tables are computed here from the normal density (r solved to double
  precision), not copied.
- **Uniforms**: the top 53 bits of a word times 2**-53, in [0, 1).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special
from numba import njit

#: Philox-4x32 round multipliers and Weyl key increments (Salmon et al. 2011)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)
ROUNDS = 10

#: number of ziggurat layers
ZIGGURAT_LAYERS = 256


#: the ziggurat's edge r for :data:`ZIGGURAT_LAYERS` layers: the root of
#: :func:`ziggurat_edges`' closure residual in [3, 4.5], as ``scipy.optimize.brentq`` finds it
#: with xtol = rtol = 1e-15 (stored, so that importing this module does not import
#: scipy.optimize; tests/timedomain/test_noise.py solves for it again). Marsaglia & Tsang
#: (2000) give 3.6541528853610088 for 256 layers.
ZIG_R = 3.6541528853610092


def ziggurat_edges(r: float, n_layers: int = ZIGGURAT_LAYERS) -> tuple[np.ndarray, float]:
    """Layer edges of the ziggurat for f(x) = exp(-x**2/2) (unnormalized) from its edge r,
    and the top layer's closure residual (zero at the right r).

    Layers 1..N-1 are the rectangles [0, x_i] x [f(x_i), f(x_{i+1})] (x_N = 0); layer 0
    is the base [0, x_0] x [0, f(r)] with x_0 = v / f(r), whose part beyond r = x_1
    stands for the tail. Every layer has the area v = r f(r) + int_r^inf f. The edge
    r solves f(x_{N-1}) + v / x_{N-1} = 1 (the top layer closes at f = 1); the residual
    is f(x_{N-1}) + v / x_{N-1} - 1, positive (with the layers left over) where r is too
    small and the layers close early.

    Returns
    -------
    (x, residual) : ((N + 1,) float64, float)
    """
    fr = math.exp(-0.5 * r * r)
    v = r * fr + math.sqrt(math.pi / 2.0) * scipy.special.erfc(r / math.sqrt(2.0))
    x = np.zeros(n_layers + 1)
    x[0] = v / fr
    x[1] = r
    for i in range(1, n_layers - 1):
        fn = math.exp(-0.5 * x[i] * x[i]) + v / x[i]
        if fn >= 1.0:
            return x, fn + (n_layers - 1 - i)  # too large an area: residual > 0
        x[i + 1] = math.sqrt(-2.0 * math.log(fn))
    top = x[n_layers - 1]
    return x, math.exp(-0.5 * top * top) + v / top - 1.0


def _ziggurat_tables(r: float, n_layers: int = ZIGGURAT_LAYERS):
    """The ziggurat's tables from its edge r (see :func:`ziggurat_edges`).

    Returns
    -------
    (x, k, w, f) : ndarrays
        Edges x (N + 1,) with x[N] = 0; the fast-accept thresholds k (N,) uint64
        (``u < k[i]`` with u the 52-bit abscissa means u w[i] < x[i+1]); the scale
        w (N,) = x[i] 2**-52; f (N + 1,) = f(x[i]) with f[0] = f(r) and f[N] = 1.
    """
    x, _ = ziggurat_edges(r, n_layers)
    scale = 2.0**52
    k = np.empty(n_layers, dtype=np.uint64)
    w = np.empty(n_layers)
    f = np.empty(n_layers + 1)
    for i in range(n_layers):
        k[i] = np.uint64(math.floor(x[i + 1] / x[i] * scale))
        w[i] = x[i] / scale
        f[i] = math.exp(-0.5 * x[i] * x[i])
    f[0] = math.exp(-0.5 * r * r)
    f[n_layers] = 1.0
    return x, k, w, f


ZIG_X, ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables(ZIG_R)
_ZIG_INV_R = 1.0 / ZIG_R


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key words (k0, k1) of a seed in [0, 2**64)."""
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed {seed!r} must be in [0, 2**64)")
    return seed & 0xFFFFFFFF, seed >> 32


@njit(cache=True, fastmath=False, inline="always")
def _mulhilo(a, b):  # pragma: no cover - numba
    p = a * b
    return p >> _U32, p & _MASK32


@njit(cache=True, fastmath=False, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):  # pragma: no cover - numba
    """Philox-4x32-10 of the counter (c0..c3) under the key (k0, k1); all uint64 < 2**32.

    Returns the four 32-bit output words (as uint64).
    """
    for _ in range(ROUNDS - 1):
        h0, l0 = _mulhilo(_M0, c0)
        h1, l1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    h0, l0 = _mulhilo(_M0, c0)
    h1, l1 = _mulhilo(_M1, c2)
    return h1 ^ c1 ^ k0, l1, h0 ^ c3 ^ k1, l0


@njit(cache=True, fastmath=False, inline="always")
def words(k0, k1, stream, n, attempt):  # pragma: no cover - numba
    """Two 64-bit words for (key, stream, sample n >= 0, attempt); ints in, uint64 out."""
    nn = np.uint64(n)
    r0, r1, r2, r3 = philox4x32(nn & _MASK32, nn >> _U32, np.uint64(stream),
                                np.uint64(attempt), np.uint64(k0), np.uint64(k1))
    return (r0 << _U32) | r1, (r2 << _U32) | r3


@njit(cache=True, fastmath=False, inline="always")
def to_unit(w):  # pragma: no cover - numba
    """Uniform double in [0, 1) from the top 53 bits of a 64-bit word."""
    return float(w >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, fastmath=False)
def _normal_slow(w, k0, k1, stream, n, slot):  # pragma: no cover - numba
    """Finish a ziggurat draw whose first word w missed the fast path (about 1.2 %)."""
    attempt = slot << 24
    while True:
        idx = int(w & np.uint64(0xFF))
        neg = (w >> np.uint64(8)) & np.uint64(1)
        u = w >> np.uint64(12)
        x = float(u) * ZIG_W[idx]
        if u < ZIG_K[idx]:
            return -x if neg else x
        attempt += 1
        a, b = words(k0, k1, stream, n, attempt)
        if idx == 0:
            # Marsaglia & Tsang's tail (J. Stat. Softw. 5(8), 2000, "nfix"): repeat
            # x = -ln(U1)/r, y = -ln(U2) until 2 y > x**2, then return r + x. The loop stays
            # in the tail: restarting the whole ziggurat on a rejection would draw |x| > r
            # too rarely (by the tail's rejection rate, ~6.7 %). U in (0, 1].
            while True:
                xx = -math.log(to_unit(a) + 1.0 / 9007199254740992.0) * _ZIG_INV_R
                yy = -math.log(to_unit(b) + 1.0 / 9007199254740992.0)
                if yy + yy > xx * xx:
                    return -(ZIG_R + xx) if neg else ZIG_R + xx
                attempt += 1
                a, b = words(k0, k1, stream, n, attempt)
        else:
            y = ZIG_F[idx] + (ZIG_F[idx + 1] - ZIG_F[idx]) * to_unit(a)
            if y < math.exp(-0.5 * x * x):
                return -x if neg else x
        attempt += 1
        w, _ = words(k0, k1, stream, n, attempt)


@njit(cache=True, fastmath=False, inline="always")
def normal_from_word(w, k0, k1, stream, n, slot):  # pragma: no cover - numba
    """Standard normal from the 64-bit word w (slot 1 or 2 of sample n's Philox call).

    Fast path without data-dependent branches on the sign (a random sign would be
    mispredicted half the time); the 52-bit abscissa converts as a signed integer.
    """
    idx = np.int64(w & np.uint64(0xFF))
    u = w >> np.uint64(12)
    if u < ZIG_K[idx]:
        sign = 1.0 - 2.0 * np.float64(np.int64((w >> np.uint64(8)) & np.uint64(1)))
        return np.float64(np.int64(u)) * ZIG_W[idx] * sign
    # one compiled _normal_slow for every caller: fixed integer types (a literal slot or a
    # mix of int64 and uint64 arguments would compile one specialization each)
    return _normal_slow(w, np.uint64(k0), np.uint64(k1), np.uint64(stream), np.uint64(n),
                        np.int64(slot))


@njit(cache=True, fastmath=False, inline="always")
def normal_pair(k0, k1, stream, n):  # pragma: no cover - numba
    """Two independent standard normals for sample n of a stream."""
    a, b = words(k0, k1, stream, n, 0)
    return (normal_from_word(a, k0, k1, stream, n, 1),
            normal_from_word(b, k0, k1, stream, n, 2))


@njit(cache=True, fastmath=False, inline="always")
def normal(k0, k1, stream, n):  # pragma: no cover - numba
    """One standard normal for sample n of a stream (the first of :func:`normal_pair`)."""
    a, _ = words(k0, k1, stream, n, 0)
    return normal_from_word(a, k0, k1, stream, n, 1)


@njit(cache=True, fastmath=False, inline="always")
def uniform(k0, k1, stream, n):  # pragma: no cover - numba
    """One uniform draw in [0, 1) for sample n of a stream."""
    a, _ = words(k0, k1, stream, n, 0)
    return to_unit(a)


#: samples per block in the buffered fills (the kernels' scratch size)
FILL_BLOCK = 512


@njit(cache=True, fastmath=False, inline="always")
def fill_words(k0, k1, stream, n0, m, wbuf):  # pragma: no cover - numba
    """Philox words of samples n0 .. n0 + m - 1 into wbuf[0:2m] (a loop LLVM vectorizes)."""
    uk0 = np.uint64(k0)
    uk1 = np.uint64(k1)
    ust = np.uint64(stream)
    zero = np.uint64(0)
    for j in range(m):
        nn = np.uint64(n0 + j)
        r0, r1, r2, r3 = philox4x32(nn & _MASK32, nn >> _U32, ust, zero, uk0, uk1)
        wbuf[2 * j] = (r0 << _U32) | r1
        wbuf[2 * j + 1] = (r2 << _U32) | r3


@njit(cache=True, fastmath=False, inline="always")
def fill_pairs(k0, k1, stream, n0, m, wbuf, zbuf):  # pragma: no cover - numba
    """zbuf[2j], zbuf[2j + 1] = :func:`normal_pair` of sample n0 + j, j < m (buffered)."""
    fill_words(k0, k1, stream, n0, m, wbuf)
    for j in range(m):
        zbuf[2 * j] = normal_from_word(wbuf[2 * j], k0, k1, stream, n0 + j, 1)
        zbuf[2 * j + 1] = normal_from_word(wbuf[2 * j + 1], k0, k1, stream, n0 + j, 2)


@njit(cache=True, fastmath=False, inline="always")
def fill_singles(k0, k1, stream, n0, m, wbuf, zbuf):  # pragma: no cover - numba
    """zbuf[j] = :func:`normal` of sample n0 + j, j < m (buffered)."""
    fill_words(k0, k1, stream, n0, m, wbuf)
    for j in range(m):
        zbuf[j] = normal_from_word(wbuf[2 * j], k0, k1, stream, n0 + j, 1)


@njit(cache=True, fastmath=False, inline="always")
def fill_uniforms(k0, k1, stream, n0, m, wbuf, ubuf):  # pragma: no cover - numba
    """ubuf[j] = :func:`uniform` of sample n0 + j, j < m (buffered)."""
    fill_words(k0, k1, stream, n0, m, wbuf)
    for j in range(m):
        ubuf[j] = to_unit(wbuf[2 * j])


@njit(cache=True, fastmath=False)
def normals_unbuffered(k0, k1, stream, n0, out):  # pragma: no cover - numba
    """out[i] = :func:`normal_pair` of sample n0 + i, one Philox call at a time, (n, 2)."""
    for i in range(out.shape[0]):
        out[i, 0], out[i, 1] = normal_pair(k0, k1, stream, n0 + i)


@njit(cache=True, fastmath=False)
def uniforms_unbuffered(k0, k1, stream, n0, out):  # pragma: no cover - numba
    """out[i] = :func:`uniform` of sample n0 + i, one Philox call at a time, (n,)."""
    for i in range(out.shape[0]):
        out[i] = uniform(k0, k1, stream, n0 + i)


@njit(cache=True, fastmath=False)
def _normals_buffered(k0, k1, stream, n0, out):  # pragma: no cover - numba
    wbuf = np.empty(2 * FILL_BLOCK, dtype=np.uint64)
    n = out.shape[0] // 2
    for b0 in range(0, n, FILL_BLOCK):
        m = min(FILL_BLOCK, n - b0)
        fill_pairs(k0, k1, stream, n0 + b0, m, wbuf, out[2 * b0:2 * (b0 + m)])


@njit(cache=True, fastmath=False)
def _uniforms_buffered(k0, k1, stream, n0, out):  # pragma: no cover - numba
    wbuf = np.empty(2 * FILL_BLOCK, dtype=np.uint64)
    n = out.shape[0]
    for b0 in range(0, n, FILL_BLOCK):
        m = min(FILL_BLOCK, n - b0)
        fill_uniforms(k0, k1, stream, n0 + b0, m, wbuf, out[b0:b0 + m])


@njit(cache=True, fastmath=False)
def _philox_array(ctr, key, out):  # pragma: no cover - numba
    for i in range(ctr.shape[0]):
        r = philox4x32(ctr[i, 0], ctr[i, 1], ctr[i, 2], ctr[i, 3], key[i, 0], key[i, 1])
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = r


def philox(counter, key) -> np.ndarray:
    """Philox-4x32-10 outputs for counters (m, 4) and keys (m, 2) of 32-bit words; (m, 4)."""
    ctr = np.atleast_2d(np.asarray(counter, dtype=np.uint64))
    k = np.atleast_2d(np.asarray(key, dtype=np.uint64))
    out = np.empty(ctr.shape, dtype=np.uint64)
    _philox_array(ctr, np.broadcast_to(k, (ctr.shape[0], 2)).copy(), out)
    return out


def normals(seed: int, stream: int, n0: int, n: int) -> np.ndarray:
    """Standard normal pairs for samples n0 .. n0 + n - 1 of a stream, shape (n, 2).

    Identical to what the kernels draw in place (the pair of sample i is a function of
    (seed, stream, i) only).
    """
    k0, k1 = seed_key(seed)
    out = np.empty((n, 2))
    _normals_buffered(k0, k1, int(stream), int(n0), out.reshape(-1))
    return out


def uniforms(seed: int, stream: int, n0: int, n: int) -> np.ndarray:
    """Uniform draws in [0, 1) for samples n0 .. n0 + n - 1 of a stream, shape (n,)."""
    k0, k1 = seed_key(seed)
    out = np.empty(n)
    _uniforms_buffered(k0, k1, int(stream), int(n0), out)
    return out


__all__ = ["FILL_BLOCK", "ZIGGURAT_LAYERS", "fill_pairs", "fill_singles", "fill_uniforms",
           "normal", "normal_pair", "normals", "normals_unbuffered", "philox", "philox4x32",
           "seed_key", "uniform", "uniforms", "uniforms_unbuffered", "words"]
