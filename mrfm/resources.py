"""Resources of mrfm: its data folders, and the memory budget of a job.

Data folders (catalogue, presets, instrument files):

In a source checkout (or an editable install) they are the top-level folders
``models/``, ``configs/`` and ``instruments/``; in an installed wheel they are
packaged under ``mrfm/_data/``.

Memory budget: every large allocation (sample grids, the solver's buffers, time-domain
chunks, reconstructions, dataset items) is estimated first and checked with
:func:`check`, which raises :class:`mrfm.errors.ResourceLimitError` (exit 2) saying how
much is needed, what the limit is and which setting to change. The limit is, in order:
:func:`set_limit` (the command line's ``--max-memory``), ``MRFM_MEMORY_LIMIT`` (bytes, or
a size such as ``"2GiB"``), or the memory the kernel reports as available
(``MemAvailable`` of ``/proc/meminfo``; 80 % of physical memory where that is missing).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from mrfm.errors import ResourceLimitError, UserError

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``"models"``, ``"configs"`` or ``"instruments"``).

    Raises FileNotFoundError when neither the wheel copy nor the checkout copy exists.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mrfm data folder {name!r} not found (broken installation?)")


# ----------------------------------------------------------------------------- memory
GIB = 1024**3
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]{0,3})\s*")
#: the largest --max-memory accepted (1 PiB)
MAX_SIZE = 1024**5

_limit: int | None = None


def parse_size(text: str, option: str = "--max-memory") -> int:
    """``"2GiB"`` -> 2147483648; ``"500MB"``, ``"1.5 GB"``, ``"1000000"`` (bytes).

    Raises
    ------
    UserError
        Unreadable, zero, or above 1 PiB.
    """
    m = _SIZE.fullmatch(str(text)) if len(str(text)) <= 32 else None
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise UserError(f"{option} {str(text)[:40]!r}: expected a size such as 2GiB, 500MB or "
                        "a number of bytes")
    value = float(m.group(1)) * _UNITS[unit]
    if not 1 <= value <= MAX_SIZE:
        raise UserError(f"{option} {text}: must be between 1 byte and 1 PiB")
    return int(value)


def set_limit(limit: int | None) -> None:
    """Set (or clear with None) the process-wide limit, bytes (``--max-memory``)."""
    global _limit
    _limit = None if limit is None else int(limit)


def available_bytes() -> int:
    """Memory available to new allocations now: ``MemAvailable`` from ``/proc/meminfo``
    (80 % of physical memory where that file does not exist)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * GIB
    return int(0.8 * total)


def _explicit_limit() -> tuple[int, str] | None:
    """(bytes, source) of a limit set on purpose: :func:`set_limit`, then
    ``MRFM_MEMORY_LIMIT``; None without one."""
    if _limit is not None:
        return _limit, "--max-memory"
    env = os.environ.get("MRFM_MEMORY_LIMIT")
    if env:
        return parse_size(env, "MRFM_MEMORY_LIMIT"), "MRFM_MEMORY_LIMIT"
    return None


def _limit_and_source() -> tuple[int, str]:
    return _explicit_limit() or (available_bytes(), "the memory available now")


def default_limit() -> int:
    """Bytes a job may use (see the module docstring for the order of the sources)."""
    return _limit_and_source()[0]


def sample_bytes(shape: tuple[int, ...], *, n_species: int = 1, subsamples: int = 1) -> int:
    """A sample's density grids (one float64 array per species, with the constructor's
    temporaries) and, for curved shapes, its sub-sampled chord arrays, bytes."""
    n = math.prod(int(k) for k in shape)
    lateral = math.prod(int(k) for k in shape[:2]) * subsamples * subsamples
    return int(8 * (3 * n * max(n_species, 1) + 5 * lateral))


def check_sample_grid(shape: tuple[int, int, int], voxel: object, *, n_species: int = 1,
                      subsamples: int = 1) -> None:
    """Refuse (ResourceLimitError) a sample grid that would not fit, before it is allocated.

    ``voxel`` is the edge length(s) in m, quoted in the message as the setting to change.
    """
    import numpy as np

    need = sample_bytes(shape, n_species=n_species, subsamples=subsamples)
    edges = ", ".join(f"{float(v):.3g}" for v in np.unique(np.asarray(voxel, dtype=float)))
    check(need, what=f"the sample grid of {shape[0]} x {shape[1]} x {shape[2]} voxels",
          setting=f"a coarser sample.voxel (now {edges} m) or a smaller sample")


def timeseries_bytes(chunk: int, n_channels: int) -> int:
    """Time-domain chain: per-chunk working arrays (~ 200 bytes per sample) and channels."""
    return int(chunk * (200 + 8 * n_channels))


def reconstruction_bytes(object_shape: tuple[int, ...], data_shape: tuple[int, ...]) -> int:
    """FFT deconvolution: padded complex spectra of kernel, object and data plus iterates."""
    padded = math.prod(int(o) + int(d) for o, d in zip(object_shape, data_shape, strict=False))
    n_obj = math.prod(int(k) for k in object_shape)
    n_dat = math.prod(int(k) for k in data_shape)
    return int(16 * 4 * padded + 8 * 6 * n_obj + 8 * 4 * n_dat)


def _size(n: float) -> str:
    return f"{n / GIB:.3g} GiB"


#: A job estimated at no more than this many bytes is not compared with the memory
#: available now (reading ``/proc/meminfo`` took 0.1 ms, 3 % of a single tip position on
#: the direct path); an explicit limit (:func:`set_limit`, ``MRFM_MEMORY_LIMIT`` or the
#: ``limit`` argument) is always applied. Should even that little memory be missing, the
#: allocation's MemoryError is reported as such (exit 2).
SMALL_JOB_BYTES = 16 * 2**20


def check(estimate: int, limit: int | None = None, *, what: str,
          setting: str = "fewer tip positions or heights, or a coarser sample.voxel") -> None:
    """Raise ResourceLimitError if ``estimate`` bytes exceed the limit.

    Parameters
    ----------
    estimate : int
        Bytes the job would need.
    limit : int, optional
        Bytes; default :func:`default_limit`.
    what : str
        The job (``"simulate (fft path)"``, ``"sample grid 600 x 600 x 200"``).
    setting : str
        The settings that reduce the need, for the message.
    """
    if limit is None:
        explicit = _explicit_limit()
        if explicit is None and estimate <= SMALL_JOB_BYTES:
            return
        lim, source = explicit or _limit_and_source()
    else:
        lim, source = int(limit), "the limit"
    if estimate > lim:
        raise ResourceLimitError(
            f"{what} needs about {_size(estimate)} of memory but {source} allows "
            f"{_size(lim)}; use {setting}"
            + (f", or raise {source}" if source in ("--max-memory", "MRFM_MEMORY_LIMIT") else "")
        )
