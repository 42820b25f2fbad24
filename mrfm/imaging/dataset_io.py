"""Dataset item files: writing one atomically, verifying it, and the task a worker runs.

The layout of an item file is described in :mod:`mrfm.imaging.dataset`; the item
itself is computed by :mod:`mrfm.imaging.dataset_item`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from mrfm.errors import UserError
from mrfm.imaging.dataset_item import (
    Item,
    array_checksum,
    cached_experiment,
    item_name,
    make_item,
    set_id,
)

if TYPE_CHECKING:
    from mrfm.imaging.psf import ImagingGrid


def write_item(path: Path, item: Item, *, set_identity: str, seed: int) -> dict[str, Any]:
    """Write ``item`` atomically to ``path``; returns its manifest record."""
    from mrfm.data.nexus import atomic_h5, create_entry, group, write_dataset, write_plot

    for label, array in (("density", item.density), ("noiseless scan", item.noiseless),
                         ("noisy scan", item.noisy)):
        if not np.all(np.isfinite(array)):
            raise UserError(f"item {item.index}: the {label} has non-finite values "
                            f"(parameters {item.parameters}); not written")
    checksum = array_checksum(item.density, item.noiseless, item.noisy)
    record = {
        "file": path.name, "index": item.index, "seed": f"{seed}:{item.index}",
        "phantom": item.phantom, "parameters": item.parameters,
        "snr": _finite(item.noise["snr"]), "noise_sigma": item.noise["sigma"],
        "unit": item.unit, "psf": item.psf_source, "sha256": checksum,
        "status": "ok", "error": None,
    }
    g = item.grid
    with atomic_h5(path) as fh:
        # no wall-clock time (start_time/end_time omitted): items are byte-identical for
        # equal seeds; the files' modification times say when they were made
        entry = create_entry(fh, kind="dataset_item", config_text=item.experiment.source_text,
                             title=f"mrfm dataset item {item.index} ({item.phantom})",
                             timestamps=False)
        entry.attrs["set_id"] = set_identity
        entry.attrs["sha256"] = checksum
        entry.attrs["record"] = json.dumps(record)
        data = write_nxdata(entry, "data", "signal", ("x", "y", "height"), g.data_axes())
        write_dataset(data, "signal", item.noisy, item.unit, long_name="noisy scan")
        write_dataset(data, "signal_noiseless", item.noiseless, item.unit,
                      long_name="noiseless scan")
        write_plot(entry, "signal", item.noisy, item.unit,
                   {k: (v, "m") for k, v in zip(("x", "y", "height"), g.data_axes(),
                                                 strict=True)}, long_name="noisy scan")
        truth = write_nxdata(entry, "ground_truth", "density", ("x", "y", "z"), g.object_axes())
        write_dataset(truth, "density", item.density, "m^-3", long_name="spin density")
        write_grid(group(entry, "imaging", "NXcollection"), g)
        imaging = entry["imaging"]
        write_dataset(imaging, "noise_sigma", item.noise["sigma"], item.unit)
        for key in ("thermal_sigma", "spin_sigma_rms"):
            write_dataset(imaging, key, item.noise[key], "N" if key == "thermal_sigma"
                          else item.unit)
        write_dataset(imaging, "drift_rms", item.noise["drift_rms"], "m")
        write_dataset(imaging, "drift_rate", item.noise["drift_rate"], "m/s")
        write_dataset(imaging, "spin_capture", item.noise["spin_capture"], "1")
        imaging.create_dataset("psf_source", data=item.psf_source, dtype=h5py.string_dtype())
        params = entry.create_dataset("parameters", data=json.dumps(
            {"phantom": item.phantom, "seed": f"{seed}:{item.index}", **item.parameters}),
            dtype=h5py.string_dtype())
        params.attrs["units"] = "SI"
    return record


def write_nxdata(entry: h5py.Group, name: str, signal: str, labels: tuple[str, ...],
                 axes: Any) -> h5py.Group:
    """Create the NXdata group ``entry/name`` whose ``signal`` lies on ``axes`` (m).

    One dataset per axis, named by ``labels``, with the NeXus ``axes`` and
    ``<label>_indices`` attributes; the caller writes the signal dataset itself.
    """
    from mrfm.data.nexus import group, write_dataset

    data = group(entry, name, "NXdata")
    data.attrs["signal"] = signal
    data.attrs["axes"] = list(labels)
    for i, (label, axis) in enumerate(zip(labels, axes, strict=True)):
        write_dataset(data, label, axis, "m")
        data.attrs[f"{label}_indices"] = i
    return data


def write_grid(parent: h5py.Group, grid: ImagingGrid) -> None:
    """Store an :class:`~mrfm.imaging.psf.ImagingGrid` as datasets with units."""
    from mrfm.data.nexus import write_dataset

    write_dataset(parent, "origin", np.asarray(grid.origin), "m")
    write_dataset(parent, "voxel", np.asarray(grid.voxel), "m")
    write_dataset(parent, "object_shape", np.asarray(grid.object_shape), "")
    write_dataset(parent, "tip_start", np.asarray(grid.tip_start), "m")
    write_dataset(parent, "data_shape", np.asarray(grid.data_shape), "")


def read_grid(parent: h5py.Group) -> ImagingGrid:
    """Inverse of :func:`write_grid`."""
    from mrfm.imaging.psf import ImagingGrid

    return ImagingGrid(
        origin=tuple(parent["origin"][()]), voxel=tuple(parent["voxel"][()]),
        object_shape=tuple(int(n) for n in parent["object_shape"][()]),
        tip_start=tuple(parent["tip_start"][()]),
        data_shape=tuple(int(n) for n in parent["data_shape"][()]),
    )


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def verify_item(path: Path, set_identity: str) -> dict[str, Any] | None:
    """The manifest record of a complete, intact item of this set at ``path``, else None."""
    from mrfm.data.nexus import to_plot

    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as fh:
            entry = fh["entry"]
            if entry.attrs.get("set_id") != set_identity:
                return None
            stored = entry.attrs["sha256"]
            signal = entry["data/signal"][()]
            actual = array_checksum(entry["ground_truth/density"][()],
                                    entry["data/signal_noiseless"][()], signal)
            if actual != stored:
                return None
            # the default plot is a copy of the signal: it must be intact too
            if not np.array_equal(entry["plot/signal"][()], to_plot(signal, signal.shape)):
                return None
            fh.visititems(_read_back)  # every object and attribute (metadata checksums)
            return json.loads(entry.attrs["record"])
    except (OSError, KeyError, ValueError, RuntimeError):
        return None


def _read_back(name: str, obj: h5py.Group | h5py.Dataset) -> None:
    """Read ``obj``'s attributes and values (raises on damaged metadata or data)."""
    for key in obj.attrs:
        obj.attrs[key]
    if isinstance(obj, h5py.Dataset):
        obj[()]


def run_item(config_text: str, index: int, out_dir: str, base_dir: str) -> dict[str, Any]:
    """Generate and write item ``index`` (the task each dask worker runs).

    Never raises for a bad item: the error goes into the returned manifest record.
    """
    identity = set_id(config_text)
    path = Path(out_dir) / item_name(index)
    seed = 0
    try:
        settings = cached_experiment(config_text).section("dataset")
        seed = settings.seed
        item = make_item(config_text, index, base_dir=base_dir)
        return write_item(path, item, set_identity=identity, seed=seed)
    except Exception as exc:  # noqa: BLE001 - a failing item is recorded, the set goes on
        return {"file": None, "index": index, "seed": f"{seed}:{index}", "phantom": None,
                "parameters": None, "snr": None, "sha256": None, "status": "error",
                "error": f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"}
