"""HDF5 files following NeXus conventions (API.md "Files").

Layout written by every mrfm command::

    /                       attrs: default = "entry"
    /entry                  NXentry   attrs: mrfm_kind, mrfm_version, default
    /entry/title            text: what the file holds
    /entry/start_time       ISO 8601 (UTC) when writing began      } omitted in dataset
    /entry/end_time         ISO 8601 (UTC) when it ended           } items (reproducible)
    /entry/program_name     "mrfm", attr version
    /entry/config           the effective experiment configuration, TOML text
    /entry/data             NXdata    mrfm's own layout: attrs signal, axes; `units` on each
    /entry/plot             NXdata    the default plot for viewers (see :func:`write_plot`)
    /entry/instrument       NXinstrument (cantilever, magnet, field, rf ...)
    /entry/sample           NXsample

``/entry/data`` keeps mrfm's array order, index order = ``axes`` order ([x, y, z] for
maps, scans and volumes), as mrfm's readers expect. ``/entry/plot`` (the entry's
``default``) holds the same signal in the NeXus convention for viewers (nexusformat,
silx, h5web): slowest axis first, ``[z, y, x]`` (a map is ``[y, x]``, so x runs
horizontally), axes of length 1 dropped and stored as scalars with units (a map at one
height is 2-D with ``z`` a scalar). Time series have a ``time`` axis in seconds.

``mrfm_kind`` tells readers (``mrfm plot``) what the file holds: ``signal_map``,
``timeseries``, ``scan``, ``reconstruction`` or ``dataset_item``.

Files are never left half-written: :func:`atomic_h5` writes to a temporary
name in the same folder and renames it into place only when the block
completes (scans instead flush in SWMR mode as they go).

This module writes; reading (:func:`open_mrfm_file`, :func:`verify_file`,
:func:`read_kind`, :func:`read_config_text`, :func:`units_of`, :class:`FileFormatError`)
lives in :mod:`mrfm.data.nexus_read` and is importable from here too.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

import mrfm
from mrfm.data.nexus_read import (
    KINDS,
    MAX_OBJECTS,
    MAX_VERIFY_BYTES,
    VERIFY_TIMEOUT_S,
    FileFormatError,
    open_mrfm_file,
    read_config_text,
    read_kind,
    units_of,
    verify_file,
)

if TYPE_CHECKING:
    from mrfm.config import Experiment

__all__ = [
    "KINDS", "MAX_OBJECTS", "MAX_VERIFY_BYTES", "TIME_LEN", "TITLES", "VERIFY_TIMEOUT_S",
    "FileFormatError", "atomic_h5", "create_entry", "finish_entry", "group", "now_iso",
    "open_mrfm_file", "plot_box", "plot_order", "read_config_text", "read_kind",
    "reserve_end_time", "to_plot", "units_of", "verify_file", "write_dataset",
    "write_experiment_metadata", "write_plot", "write_text", "write_values",
]


@contextlib.contextmanager
def atomic_h5(path: str | Path, *, libver: str = "latest") -> Iterator[h5py.File]:
    """Open a new HDF5 file that appears at ``path`` only if the block completes.

    The data are written to a temporary file beside ``path``; on success it is
    flushed, closed and renamed over ``path`` (atomic on POSIX); on any
    exception the temporary file is removed and ``path`` is untouched.
    """
    from mrfm.data.files import atomic_path

    with atomic_path(path) as tmp, h5py.File(tmp, "w", libver=libver) as fh:
        yield fh
        fh.flush()


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


#: a title per kind, for viewers
TITLES = {
    "signal_map": "mrfm simulated signal map",
    "timeseries": "mrfm time series of the virtual detection chain",
    "scan": "mrfm scan",
    "reconstruction": "mrfm reconstruction",
    "dataset_item": "mrfm dataset item",
}


def create_entry(fh: h5py.File, *, kind: str, config_text: str | None = None,
                 title: str | None = None, start_time: str | None = None,
                 timestamps: bool = True) -> h5py.Group:
    """Create ``/entry`` (NXentry): kind, version, title, program, start time, configuration.

    Also creates empty ``instrument`` (NXinstrument) and ``sample`` (NXsample) groups.
    ``start_time`` (ISO 8601) defaults to now; ``timestamps=False`` writes no wall-clock
    time at all (dataset items, which must be byte-identical for equal seeds). Call
    :func:`finish_entry` when the data are written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown mrfm file kind {kind!r}")
    fh.attrs["default"] = "entry"
    entry = fh.require_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"
    entry.attrs["mrfm_kind"] = kind
    entry.attrs["mrfm_version"] = mrfm.__version__
    write_text(entry, "title", title or TITLES[kind])
    program = write_text(entry, "program_name", "mrfm")
    program.attrs["version"] = mrfm.__version__
    if timestamps:
        write_text(entry, "start_time", start_time or now_iso())
    if config_text is not None:
        write_text(entry, "config", config_text)
    group(entry, "instrument", "NXinstrument")
    group(entry, "sample", "NXsample")
    return entry


#: bytes of the fixed-length ``end_time`` a file written in SWMR mode reserves
TIME_LEN = 32


def reserve_end_time(entry: h5py.Group) -> None:
    """Create an empty fixed-length ``end_time`` for :func:`finish_entry` to fill.

    For files written in SWMR mode (time series, scans), where HDF5 forbids new
    objects once writing has started.
    """
    if "end_time" not in entry:
        entry.create_dataset("end_time", shape=(), dtype=f"S{TIME_LEN}")


def finish_entry(entry: h5py.Group) -> None:
    """Set ``end_time`` to now when the entry has a ``start_time``."""
    if "start_time" not in entry:
        return
    if "end_time" not in entry:
        write_text(entry, "end_time", now_iso())
        return
    ds = entry["end_time"]
    if ds.dtype.kind == "S":
        ds[()] = np.array(now_iso().encode(), dtype=ds.dtype)  # null-padded


def write_text(parent: h5py.Group, name: str, text: str) -> h5py.Dataset:
    """A variable-length UTF-8 string dataset."""
    return parent.create_dataset(name, data=text, dtype=h5py.string_dtype())


def plot_order(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of an mrfm array (index order [x, y, z]) that the default plot keeps.

    Axes of length 1 are dropped (at least one axis is kept), and the rest are
    reversed: the slowest axis first, as NeXus viewers expect.
    """
    kept = [i for i, n in enumerate(shape) if n != 1] or [0]
    return tuple(reversed(kept))


def to_plot(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` (a block of an array of full ``shape``) in the order of :func:`plot_order`."""
    order = plot_order(shape)
    dropped = tuple(i for i in range(len(shape)) if i not in order)
    squeezed = np.squeeze(np.asarray(array), axis=dropped) if dropped else np.asarray(array)
    kept = sorted(order)
    return np.transpose(squeezed, [kept.index(i) for i in order])


def plot_box(box: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The region of the default plot that holds the block ``box`` of an mrfm array."""
    return tuple(box[i] for i in plot_order(shape))


def write_plot(entry: h5py.Group, signal: str, data: np.ndarray | None, units: str,
               axes: Mapping[str, tuple[np.ndarray, str]], *, long_name: str = "",
               shape: tuple[int, ...] | None = None, name: str = "plot") -> h5py.Dataset:
    """Write the entry's default NXdata ``name`` for viewers and make it the default.

    Parameters
    ----------
    signal : str
        Name of the plotted dataset.
    data : ndarray or None
        The signal in mrfm's order (one index per entry of ``axes``, in order); None
        creates a NaN-filled dataset of ``shape`` to be filled later (a running scan).
    units : str
        The signal's units.
    axes : mapping
        ``{name: (coordinates (n,), units)}`` in mrfm's index order (x, y, z).

    Returns
    -------
    h5py.Dataset
        The plotted dataset, ``[z, y, x]`` with axes of length 1 dropped (see
        :func:`plot_order`); dropped axes are stored as scalar datasets.
    """
    full = tuple(np.asarray(v).size for v, _ in axes.values()) if shape is None else shape
    names = list(axes)
    order = plot_order(full)
    nxdata = group(entry, name, "NXdata")
    nxdata.attrs["signal"] = signal
    nxdata.attrs["axes"] = [names[i] for i in order]
    for i, (axis, (values, unit)) in enumerate(axes.items()):
        values = np.asarray(values, dtype=float)
        if i in order:
            write_dataset(nxdata, axis, values, unit)
            nxdata.attrs[f"{axis}_indices"] = order.index(i)
        else:
            write_dataset(nxdata, axis, values.reshape(-1)[0], unit)
    plot_shape = tuple(full[i] for i in order)
    if data is None:
        # one chunk per line of the fastest axis, as a scan writes them
        chunks = (*([1] * (len(plot_shape) - 1)), max(1, plot_shape[-1]))
        ds = nxdata.create_dataset(signal, shape=plot_shape, dtype="f8", fillvalue=np.nan,
                                   chunks=chunks)
        ds.attrs["units"] = units
        if long_name:
            ds.attrs["long_name"] = long_name
    else:
        ds = write_dataset(nxdata, signal, to_plot(np.asarray(data, dtype=float), full), units,
                           long_name=long_name)
    entry.attrs["default"] = name
    return ds


def group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    """Create (or return) a child group with its NeXus class."""
    g = parent.require_group(name)
    g.attrs["NX_class"] = nx_class
    return g


def write_dataset(
    parent: h5py.Group,
    name: str,
    data: Any,
    units: str,
    *,
    long_name: str | None = None,
    **kwargs: Any,
) -> h5py.Dataset:
    """Write a dataset with a ``units`` attribute (``""`` for dimensionless)."""
    ds = parent.create_dataset(name, data=data, **kwargs)
    ds.attrs["units"] = units
    if long_name:
        ds.attrs["long_name"] = long_name
    return ds


def write_values(parent: h5py.Group, values: Mapping[str, tuple[Any, str]]) -> None:
    """Write scalar/array fields ``{name: (value, units)}`` into ``parent``; None is skipped."""
    for name, (value, units) in values.items():
        if value is None:
            continue
        if isinstance(value, str):
            parent.create_dataset(name, data=value, dtype=h5py.string_dtype())
        else:
            write_dataset(parent, name, np.asarray(value), units)


def write_experiment_metadata(entry: h5py.Group, exp: Experiment) -> None:
    """Write ``/entry/instrument`` and ``/entry/sample`` from an Experiment (SI, with units)."""
    inst = group(entry, "instrument", "NXinstrument")
    cant = group(inst, "cantilever", "NXcollection")
    c = exp.cantilever
    write_values(cant, {
        "spring_constant": (c.k, "N/m"),
        "resonance_frequency": (c.f0, "Hz"),
        "quality_factor": (c.Q, ""),
        "Q_total": (c.Q_total, ""),
        **{name: (q, "") for name, q in
           (c.damping.parts() if c.damping is not None else {"Q_intrinsic": c.Q}).items()},
        "temperature": (c.T, "K"),
        "peak_amplitude": (exp.amplitude, "m"),
        "force_noise_psd": (c.force_noise_psd(), "N^2/Hz"),
    })
    mag = group(inst, "magnet", "NXcollection")
    m = exp.magnet
    mag.create_dataset("shape", data=type(m).__name__, dtype=h5py.string_dtype())
    write_values(mag, {
        "params": (np.asarray(m.params), "m"),
        "polarization": (np.asarray(m.polarization), "T"),
    })
    write_values(group(inst, "field", "NXcollection"), {"B0": (exp.B0, "T")})
    write_values(group(inst, "rf", "NXcollection"), {
        "frequency": (exp.rf.frequency, "Hz"),
        "B1": (exp.rf.B1, "T"),
        "fm_depth": (exp.rf.fm_depth, "T"),
    })
    stage = group(inst, "stage", "NXcollection")
    write_values(stage, {
        "temperature": (exp.stage.temperature, "K"),
        "pressure": (exp.stage.pressure, "Pa"),
    })
    sample = group(entry, "sample", "NXsample")
    s = exp.sample
    sample.create_dataset("species", data=",".join(sorted(set(s.densities) | set(s.points))),
                          dtype=h5py.string_dtype())
    write_values(sample, {
        "voxel": (np.asarray(s.voxel), "m"),
        "origin": (np.asarray(s.origin), "m"),
        "grid_shape": (np.asarray(s.shape), ""),
    })
