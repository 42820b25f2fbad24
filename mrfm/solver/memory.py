"""Memory estimates of the solver's paths, checked before any large allocation.

The density arrays belong to the Sample and are checked when it is built
(:func:`mrfm.resources.sample_bytes`); these estimates cover what the solver
allocates on top (accumulators, FFT buffers, per-chunk partial sums, the output
map). The budget itself (limit, ``--max-memory``, the check and its message) is
:mod:`mrfm.resources`.
"""

from __future__ import annotations

from mrfm.resources import GIB, check, default_limit


def direct_bytes(*, n_tips: int, n_voxels: int, n_points: int, threads: int) -> int:
    """Direct path: output, per-batch partial sums and a flattened density copy, bytes."""
    out = 8 * n_tips * 4
    partial = 8 * n_tips * max(1, 4 * threads)
    flat = 8 * n_voxels
    scratch = threads * (8 * (24 + 16 + 4 * 128))
    tips = 8 * 7 * n_tips  # tip positions, magnet centres, signal map
    return int(out + partial + flat + scratch + tips + 8 * 3 * n_points)


def fft_bytes(*, n1: int, n2: int, lx: int, ly: int, n_heights: int, n_tips: int) -> int:
    """FFT path: per-height spectra accumulators, one kernel plane and its transforms, bytes."""
    spectrum = 16 * n1 * (n2 // 2 + 1)
    acc = n_heights * spectrum
    plane = 8 * lx * ly
    padded = 8 * n1 * n2
    work = 3 * spectrum + 2 * padded + plane  # density spectrum, kernel spectrum, product, pads
    inverse = padded + 8 * 8 * n_tips  # inverse transform, tips, centres, signal map
    return int(acc + work + inverse)


__all__ = ["GIB", "check", "default_limit", "direct_bytes", "fft_bytes"]
