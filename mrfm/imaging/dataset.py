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

This module runs the set (the dask client, the manifest); one item is computed in
:mod:`mrfm.imaging.dataset_item` and written and verified in :mod:`mrfm.imaging.dataset_io`,
whose names are importable from here too.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mrfm.errors import ConfigError, UserError
from mrfm.imaging.dataset_io import (
    read_grid,
    run_item,
    verify_item,
    write_grid,
    write_item,
    write_nxdata,
)
from mrfm.imaging.dataset_item import (
    Item,
    array_checksum,
    item_grid,
    item_name,
    item_rngs,
    make_item,
    set_id,
)

__all__ = [
    "MANIFEST", "SCHEDULER_TIMEOUT_S", "Item", "array_checksum", "connect", "generate_dataset",
    "item_grid", "item_name", "item_rngs", "make_item", "read_grid", "read_manifest",
    "run_item", "set_id", "verify_item", "worker_kernel_threads", "write_grid", "write_item",
    "write_nxdata",
]

MANIFEST = "manifest.jsonl"
SCHEDULER_TIMEOUT_S = 10.0


def _usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks on this platform
        return os.cpu_count() or 1


def _local_workers(workers: int | None) -> int:
    """Worker processes of a LocalCluster: ``workers``, else one per usable core."""
    return int(workers or _usable_cores())


def worker_kernel_threads(workers: int) -> int:
    """Threads of numba's parallel kernels in each of ``workers`` local worker processes:
    the usable cores shared out, at least 1.

    Every worker process would otherwise start as many kernel threads as there are cores:
    two workers on two cores then ran 0.7x the items per second of one worker (four
    spinning threads on two cores; 4 December 2026), and 1.7x with one thread each.
    """
    return max(1, _usable_cores() // max(1, int(workers)))


def connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A dask Client: to ``scheduler`` (tcp://host:port) or to a new LocalCluster.

    A LocalCluster has ``workers`` processes (default: one per core) of one thread each,
    whose numba kernels share the cores (:func:`worker_kernel_threads`). Workers of an
    external scheduler keep their own settings (start them with ``NUMBA_NUM_THREADS`` set
    to their share of the cores).

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

    n = _local_workers(workers)
    with sigint_ignored_in_children():  # Ctrl-C goes to this process, which stops the workers
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0",
                               env={"NUMBA_NUM_THREADS": str(worker_kernel_threads(n))},
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
                            _local_workers(workers))
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

    # keys unique to this call: the client answers a submission whose key it still holds
    # a future of (an earlier call's, not yet released) with that future, so the item
    # would get the old record and file instead of running
    prefix = f"mrfm-item-{set_id(text)[:12]}-{uuid.uuid4().hex[:8]}"
    futures = [client.submit(run_item, text, i, str(out.resolve()), str(base_dir),
                             key=f"{prefix}-{i}", pure=False)
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
