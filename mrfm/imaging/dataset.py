"""Synthetic scan datasets generated in parallel on dask.distributed.

Each item ``i`` of a set draws, from its own ``SeedSequence(seed, spawn_key=(i,))``
(so the arrays are byte-identical whatever the number of workers), a phantom and
the experiment parameters listed in ``[dataset] vary``; computes the noiseless
scan (FFT convolution with the item experiment's point-spread function, or the
solver), adds the noise of :mod:`mrfm.imaging.noise`, and writes one NeXus file
``item_000042.h5`` atomically::

    /entry                       mrfm_kind = "dataset_item"; attrs set_id, sha256, record
    /entry/config                the item's effective experiment (TOML, overrides applied)
    /entry/data                  NXdata: signal (noisy), signal_noiseless; axes x, y, height (m)
    /entry/ground_truth          NXdata: density (m^-3); axes x, y, z (voxel centres, m)
    /entry/imaging               origin, voxel, object_shape, tip_start, data_shape; noise_sigma
    /entry/parameters            drawn parameters (JSON text)
    /entry/plot                  NXdata, the default: the noisy signal as [height, y, x]
                                 (length-1 axes dropped; see mrfm.data.nexus)

Items carry no wall-clock time (no ``start_time``/``end_time``): equal seeds give
byte-identical files.

``manifest.jsonl`` indexes the set (one JSON object per item: file, index, seed,
phantom, parameters, snr, sha256, status, error). A rerun skips every item whose
file is present, belongs to the same set (configuration hash) and whose arrays
still match their stored SHA-256; the rest are generated again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from mrfm.errors import ConfigError, UserError

if TYPE_CHECKING:
    from mrfm.config import DatasetSettings, Experiment
    from mrfm.imaging.psf import ImagingGrid

MANIFEST = "manifest.jsonl"
SCHEDULER_TIMEOUT_S = 10.0


# ----------------------------------------------------------------------------- pure parts
def set_id(config_text: str) -> str:
    """Identity of a set: SHA-256 of the effective configuration text."""
    return hashlib.sha256(config_text.encode("utf-8")).hexdigest()


def item_name(index: int) -> str:
    """File name of item ``index``."""
    return f"item_{index:06d}.h5"


def item_rngs(seed: int, index: int) -> tuple[np.random.Generator, ...]:
    """Independent generators (phantom, parameters, noise) of item ``index`` of set ``seed``."""
    root = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(index),))
    return tuple(np.random.default_rng(s) for s in root.spawn(3))


def array_checksum(*arrays: np.ndarray) -> str:
    """SHA-256 over the shapes and float64 bytes of ``arrays``."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Item:
    """One generated dataset item (in memory)."""

    index: int
    phantom: str
    parameters: dict[str, float]
    experiment: Experiment
    grid: ImagingGrid
    density: np.ndarray
    noiseless: np.ndarray
    noisy: np.ndarray
    unit: str
    noise: dict[str, float]
    psf_source: str


@functools.lru_cache(maxsize=8)
def _experiment(text: str, overrides: tuple[tuple[str, float], ...] = ()) -> Experiment:
    from mrfm.config import loads

    return loads(text, overrides=dict(overrides) if overrides else None)


@functools.lru_cache(maxsize=4)
def _kernel(text: str, overrides: tuple, grid: ImagingGrid) -> tuple[np.ndarray, str, str]:
    from mrfm.imaging.psf import kernel_for_experiment

    return kernel_for_experiment(_experiment(text, overrides), grid)


def item_grid(exp: Experiment, settings: DatasetSettings) -> ImagingGrid:
    """Object and tip grids of an item: object centred laterally on x = y = 0."""
    from mrfm.imaging.psf import ImagingGrid

    voxel = tuple(float(v) for v in np.broadcast_to(np.asarray(exp.sample.voxel, float), (3,)))
    nx, ny, nz = settings.grid
    ox, oy = -(nx - 1) / 2 * voxel[0], -(ny - 1) / 2 * voxel[1]
    margin = settings.margin
    heights = settings.heights or nz
    return ImagingGrid(
        origin=(ox, oy, -(nz - 0.5) * voxel[2]),
        voxel=voxel,
        object_shape=(nx, ny, nz),
        tip_start=(ox - margin * voxel[0], oy - margin * voxel[1], float(exp.scan.height[0])),
        data_shape=(nx + 2 * margin, ny + 2 * margin, heights),
    )


def make_item(config_text: str, index: int, *, base_dir: str = ".") -> Item:
    """Generate item ``index`` of the set described by ``config_text`` (no file I/O but inputs).

    Raises
    ------
    ConfigError
        If a drawn parameter is invalid for the experiment.
    """
    from mrfm.imaging.noise import NoiseModel, add_noise
    from mrfm.imaging.operators import ConvolutionOperator
    from mrfm.imaging.phantoms import make_phantom
    from mrfm.physics.lockin import time_constant_for_enbw

    base = _experiment(config_text)
    settings = base.section("dataset")
    if settings is None:
        raise ConfigError("dataset: the experiment file has no [dataset] section")
    rng_phantom, rng_params, rng_noise = item_rngs(settings.seed, index)
    parameters = {key: float(rng_params.uniform(lo, hi)) if hi > lo else float(lo)
                  for key, (lo, hi) in sorted(settings.vary.items())}
    overrides = tuple(sorted(parameters.items()))
    exp = _experiment(config_text, overrides)
    grid = item_grid(exp, settings)
    kinds = settings.phantoms
    kind = kinds[int(rng_phantom.choice(len(kinds), p=settings.probabilities()))]
    ranges = settings.ranges
    if ranges.files:
        files = tuple(str(Path(base_dir, f)) for f in ranges.files)
        ranges = dataclasses.replace(ranges, files=files)
    density = make_phantom(kind, grid.object_shape, grid.voxel, ranges=ranges, rng=rng_phantom)
    kernel, unit, source = _kernel(config_text, overrides, grid)
    op = ConvolutionOperator(kernel, object_shape=grid.object_shape, data_shape=grid.data_shape)
    if settings.forward == "solver":
        noiseless, unit = _solver_signal(exp, grid, density)
    else:
        noiseless = op.forward(density)
    statistical = exp.protocol.polarization == "statistical"
    if settings.snr is None and unit not in ("N", "N^2"):
        raise ConfigError(
            f"dataset: the physical noise model covers force (N) and force-variance (N^2) "
            f"signals; this protocol gives {unit}: set dataset.snr"
        )
    bandwidth = exp.protocol.bandwidth
    tau = time_constant_for_enbw(bandwidth, settings.lockin_order)
    dwell = settings.dwell if settings.dwell is not None else 5.0 * tau
    model = NoiseModel(
        kind="variance" if statistical else "force",
        thermal_sigma=float(exp.cantilever.force_noise(bandwidth)),
        tau=tau,
        order=settings.lockin_order,
        dwell=dwell,
        tau_m=float(exp.protocol.tau_m or exp.protocol.T1rho),
        drift_rate=settings.drift_rate,
        snr=settings.snr,
    )
    spin_variance = None
    if settings.spin_noise and not statistical and settings.snr is None:
        spin_variance = _curie_spin_variance(exp, grid, kernel, density)
    noisy, info = add_noise(noiseless, model=model, spacing=grid.voxel, rng=rng_noise,
                            spin_variance=spin_variance)
    return Item(index=index, phantom=kind, parameters=parameters, experiment=exp, grid=grid,
                density=density, noiseless=noiseless, noisy=noisy, unit=unit, noise=info,
                psf_source=source)


def _curie_spin_variance(exp: Experiment, grid: ImagingGrid, kernel: np.ndarray, density: np.ndarray
                         ) -> np.ndarray:
    """Statistical force variance under a Curie signal: kernel K = V mu p G -> K^2/(p^2 V)."""
    from mrfm.imaging.operators import ConvolutionOperator
    from mrfm.physics import SpinSpecies

    names = sorted(exp.sample.densities) or sorted(exp.sample.points)
    species = SpinSpecies.from_name(names[0])
    b_res = 2 * np.pi * exp.rf.frequency / abs(species.gamma)
    p = float(species.polarization(b_res, exp.cantilever.T))
    volume = float(np.prod(grid.voxel))
    var_kernel = kernel**2 / (p**2 * volume)
    op = ConvolutionOperator(var_kernel, object_shape=grid.object_shape,
                             data_shape=grid.data_shape)
    return op.forward(density)


def _solver_signal(
    exp: Experiment, grid: ImagingGrid, density: np.ndarray
) -> tuple[np.ndarray, str]:
    from mrfm.config.sections import ScanGrid
    from mrfm.physics import Sample
    from mrfm.solver import simulate

    names = sorted(exp.sample.densities) or sorted(exp.sample.points)
    sample = Sample.from_array(density, voxel=np.asarray(grid.voxel),
                               origin=np.asarray(grid.origin), species=names[0])
    x, y, h = grid.data_axes()
    res = simulate(dataclasses.replace(exp, sample=sample, scan=ScanGrid(x=x, y=y, height=h)))
    return np.asarray(res.signal, dtype=float).reshape(grid.data_shape), str(res.unit)


# ------------------------------------------------------------------------------ file I/O
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
        settings = _experiment(config_text).section("dataset")
        seed = settings.seed
        item = make_item(config_text, index, base_dir=base_dir)
        return write_item(path, item, set_identity=identity, seed=seed)
    except Exception as exc:  # noqa: BLE001 - a failing item is recorded, the set goes on
        return {"file": None, "index": index, "seed": f"{seed}:{index}", "phantom": None,
                "parameters": None, "snr": None, "sha256": None, "status": "error",
                "error": f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"}


# ------------------------------------------------------------------------------ the set
def connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A dask Client: to ``scheduler`` (tcp://host:port) or to a new LocalCluster.

    Returns ``(client, cluster)``; ``cluster`` is None for an external scheduler.

    Raises
    ------
    UserError
        If the scheduler cannot be reached within :data:`SCHEDULER_TIMEOUT_S`.
    """
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        if "://" not in scheduler and ":" not in scheduler:
            raise UserError(f"--scheduler {scheduler!r}: expected an address such as "
                            "tcp://host:8786")
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s",
                            set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(
                f"--scheduler {scheduler}: cannot reach the dask scheduler within "
                f"{SCHEDULER_TIMEOUT_S:g} s ({exc.__class__.__name__}); is it running?"
            ) from None
        return client, None
    from mrfm.imaging.dataset_guard import LOOPBACK, sigint_ignored_in_children

    n = int(workers or os.cpu_count() or 1)
    with sigint_ignored_in_children():  # Ctrl-C goes to this process, which stops the workers
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0",
                               silence_logs=logging.CRITICAL)  # errors go to manifest
    return Client(cluster, set_as_default=False), cluster


def generate_dataset(
    config_path: str | Path,
    *,
    count: int,
    out_dir: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: bool | Callable[[int, int], None] = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Generate (or complete) a dataset of ``count`` items in ``out_dir``.

    Parameters
    ----------
    config_path : path
        Experiment file with a ``[dataset]`` section.
    count : int
        Number of items.
    out_dir : path
        Output folder (created if missing).
    scheduler : str, optional
        Address of an existing dask scheduler; default: a LocalCluster.
    workers : int, optional
        LocalCluster workers (default: one per core), one thread each, separate processes.
    client : distributed.Client, optional
        Use this client (tests share one cluster).
    progress : bool or callable
        Show a rich progress bar on stderr; a callable is called as
        ``progress(done, pending)`` instead (items finished of those to generate).

    Returns
    -------
    dict
        ``count``, ``generated``, ``skipped``, ``failed``, ``manifest`` (path), ``set_id``.
    """
    from mrfm.config import load
    from mrfm.imaging import dataset_guard as guard

    guard.check_count(count)
    guard.check_workers(workers)
    config_path = Path(config_path)
    exp = load(config_path)
    if exp.section("dataset") is None:
        raise ConfigError(f"{config_path}: no [dataset] section (phantoms, grid, seed ...)")
    guard.validate_vary(exp)
    guard.check_item_memory(exp, exp.section("dataset"),
                            1 if client is not None or scheduler else
                            int(workers or os.cpu_count() or 1))
    text = exp.source_text
    identity = set_id(text)
    out = guard.output_folder(out_dir, config_path)
    # temporary files of items (and the manifest) a killed run was writing: the items are
    # generated again below, so their partial copies are only clutter
    for stale in (*out.glob(".item_*.tmp"), *out.glob(f".{MANIFEST}*.tmp")):
        stale.unlink(missing_ok=True)
    records: dict[int, dict[str, Any]] = {}
    pending = []
    for i in range(count):
        record = verify_item(out / item_name(i), identity)
        if record is not None:
            records[i] = record
        else:
            pending.append(i)
    skipped = len(records)
    manifest = out / MANIFEST
    own = None
    dashboard = None
    if pending:
        if client is None:
            client, own = connect(scheduler, workers)
            owned_client = client
            dashboard = guard.dashboard_url(own) if own is not None else None
            if dashboard:
                print(f"mrfm dataset: dask dashboard at {dashboard}", file=sys.stderr)
        else:
            owned_client = None
        interrupted = False
        try:
            _run_pending(client, text, pending, out, config_path.parent.resolve(), records,
                         manifest, progress, on_record)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if owned_client is not None:
                owned_client.close()
            if own is not None:
                own.close()
            if interrupted:  # keep what finished: once the workers have stopped, the
                # manifest lists every whole item, including those whose result had not
                # reached this process yet
                for path in out.glob("item_*.h5"):
                    digits = path.stem.removeprefix("item_")
                    index = int(digits) if digits.isdigit() else -1
                    if 0 <= index < count and index not in records:
                        record = verify_item(path, identity)
                        if record is not None:
                            records[index] = record
                _write_manifest(manifest, [records[i] for i in sorted(records)])
    _write_manifest(manifest, [records[i] for i in range(count)])
    failed = sum(1 for r in records.values() if r["status"] != "ok")
    return {"count": count, "generated": len(pending) - failed, "skipped": skipped,
            "failed": failed, "manifest": str(manifest), "set_id": identity,
            "output": str(out), "dashboard": dashboard}


def _run_pending(client, text, pending, out, base_dir, records, manifest, progress, on_record):
    from distributed import as_completed
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    futures = [client.submit(run_item, text, i, str(out.resolve()), str(base_dir),
                             key=f"mrfm-item-{set_id(text)[:12]}-{i}", pure=False)
               for i in pending]
    console = Console(file=sys.stderr)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    report = progress if callable(progress) else None
    with Progress(*columns, console=console, disable=progress is not True) as bar, \
            open(manifest, "a", encoding="utf-8") as log:
        task = bar.add_task("items", total=len(pending))
        if report is not None:
            report(0, len(pending))
        for done, fut in enumerate(as_completed(futures, loop=client.loop), start=1):
            record = fut.result()
            records[int(record["index"])] = record
            log.write(json.dumps(record) + "\n")
            log.flush()
            if on_record is not None:
                on_record(record)
            bar.advance(task)
            if report is not None:
                report(done, len(pending))


def _write_manifest(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    os.replace(tmp, path)


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Records of a manifest (one JSON object per line)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
