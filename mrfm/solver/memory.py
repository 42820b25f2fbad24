"""Memory estimates for the solver's paths, checked before any large allocation.

The density arrays belong to the Sample and are not counted; the estimates
cover what the solver allocates on top (accumulators, FFT buffers, per-chunk
partial sums, the output map). A job over the limit raises
:class:`mrfm.errors.ResourceLimitError` carrying the estimate.
"""

from __future__ import annotations

import os

from mrfm.errors import ResourceLimitError

GIB = 1024**3


def default_limit() -> int:
    """Bytes the solver may use: ``MRFM_MEMORY_LIMIT`` (bytes) or 80 % of physical memory."""
    env = os.environ.get("MRFM_MEMORY_LIMIT")
    if env:
        return int(float(env))
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * GIB
    return int(0.8 * total)


def direct_bytes(*, n_tips: int, n_voxels: int, n_points: int, threads: int) -> int:
    """Direct path: output, per-batch partial sums and a flattened density copy, bytes."""
    out = 8 * n_tips * 4
    partial = 8 * n_tips * max(1, 4 * threads)
    flat = 8 * n_voxels
    scratch = threads * (8 * (24 + 16 + 4 * 128))
    return int(out + partial + flat + scratch + 8 * 3 * n_points)


def fft_bytes(*, n1: int, n2: int, lx: int, ly: int, n_heights: int, n_tips: int) -> int:
    """FFT path: per-height spectra accumulators, one kernel plane and its transforms, bytes."""
    spectrum = 16 * n1 * (n2 // 2 + 1)
    acc = n_heights * spectrum
    plane = 8 * lx * ly
    padded = 8 * n1 * n2
    work = 3 * spectrum + 2 * padded + plane  # density spectrum, kernel spectrum, product, pads
    inverse = padded + 8 * n_tips
    return int(acc + work + inverse)


def check(estimate: int, limit: int | None = None, *, what: str) -> None:
    """Raise ResourceLimitError if ``estimate`` bytes exceed the limit."""
    lim = default_limit() if limit is None else int(limit)
    if estimate > lim:
        raise ResourceLimitError(
            f"{what} needs about {estimate / GIB:.2f} GiB of memory but the limit is "
            f"{lim / GIB:.2f} GiB; use fewer tip positions or heights, a coarser voxel, or set "
            "MRFM_MEMORY_LIMIT (bytes)"
        )


__all__ = ["GIB", "check", "default_limit", "direct_bytes", "fft_bytes"]
