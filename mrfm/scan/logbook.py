"""The scan's logbook: every instrument's settings, read back and written into the scan file.

At the start of a scan (after the rig file's settings were applied) each instrument is
asked for its settings through its driver (``logbook()``: lock-in reference frequency,
phase, time constant, slope and sensitivity; RF frequency, power, output and FM;
field and ramp rate; temperature set-point and heater; scanner servo states and
positions; interferometer state; ...) and its identification. They are written as::

    /entry/instrument/<instrument name>/<setting>    scalar dataset, attribute ``units``
    /entry/instrument/<instrument name>/idn          *IDN? (or the model's equivalent)

(a resumed session writes its own under ``/entry/sessions/session_<n>/instrument``).
Whenever the scan changes an instrument afterwards (RF switched on at its level, RF off
while paused, the safe state at the end), that instrument is read back again and its
datasets are overwritten with what it reports then. The datasets are made before the
file enters SWMR mode; a later read-back only rewrites their values.
"""

from __future__ import annotations

from collections.abc import Mapping

import h5py
import numpy as np

from mrfm.drivers.base import Logged

#: longest text setting kept, bytes (fixed-length strings can be rewritten in SWMR mode)
TEXT_LEN = 256

#: instrument name -> setting name -> value and unit
Settings = Mapping[str, Mapping[str, Logged]]


def _value(value: float | int | bool | str) -> np.ndarray:
    if isinstance(value, str):
        return np.array(value.encode("utf-8")[:TEXT_LEN], dtype=f"S{TEXT_LEN}")
    if isinstance(value, (bool, np.bool_)):
        return np.array(bool(value))
    if isinstance(value, (int, np.integer)):
        return np.array(int(value), dtype="i8")
    return np.array(float(value), dtype="f8")


def write_logbook(parent: h5py.Group, settings: Settings) -> None:
    """Create ``<parent>/<instrument>/<setting>`` datasets (before SWMR mode starts)."""
    for name, values in settings.items():
        group = parent.require_group(name)
        group.attrs["NX_class"] = "NXcollection"
        for key, logged in values.items():
            ds = group.create_dataset(key, data=_value(logged.value))
            ds.attrs["units"] = logged.unit


def update_logbook(parent: h5py.Group, name: str, values: Mapping[str, Logged]) -> None:
    """Overwrite the datasets of instrument ``name`` with a new read-back (SWMR-safe:
    settings without a dataset from the start are skipped)."""
    if name not in parent:
        return
    group = parent[name]
    for key, logged in values.items():
        if key in group:
            ds = group[key]
            ds[()] = _value(logged.value).astype(ds.dtype)
            ds.flush()


def read_logbook(parent: h5py.Group) -> dict[str, dict[str, Logged]]:
    """The logbook under ``parent`` (``/entry/instrument``) as written (text decoded)."""
    out: dict[str, dict[str, Logged]] = {}
    for name, group in parent.items():
        if not isinstance(group, h5py.Group):
            continue
        values = {}
        for key, ds in group.items():
            v = ds[()]
            if isinstance(v, bytes):
                v = v.decode("utf-8")
            elif isinstance(v, np.generic):
                v = v.item()
            values[key] = Logged(v, str(ds.attrs.get("units", "")))
        out[name] = values
    return out
