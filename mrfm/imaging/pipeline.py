"""Reconstruct an mrfm file (scan, signal map or dataset item) into a density volume file.

Output layout (``mrfm_kind = "reconstruction"``)::

    /entry/config                the experiment configuration of the input
    /entry/data                  NXdata: density (m^-3); axes x, y, z (voxel centres, m)
    /entry/ground_truth          NXdata: density (m^-3), when the input had one
    /entry/imaging               the grid (origin, voxel, shapes), psf_source
    /entry/reconstruction        method, stopping_rule, stopped_by, iterations,
                                 residual_norm, residual_history, target_residual, metrics
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mrfm import resources
from mrfm.data.nexus import now_iso
from mrfm.errors import ConfigError, UserError
from mrfm.imaging.operators import ConvolutionOperator
from mrfm.imaging.reconstruct import (
    ReconstructionSettings,
    correlation,
    normalized_error,
    reconstruct,
    two_point_resolution,
)

#: file kinds ``mrfm reconstruct`` reads
READABLE = ("scan", "signal_map", "dataset_item")


def _read_input(path: Path) -> dict[str, Any]:
    """Signal, grid, configuration text, noise level and ground truth of an input file."""
    from mrfm.data.nexus import FileFormatError, open_mrfm_file, read_config_text, read_kind
    from mrfm.imaging.dataset_io import read_grid

    with open_mrfm_file(path, kinds=READABLE) as fh:
        kind = read_kind(fh)
        try:
            config_text = read_config_text(fh)
        except FileFormatError:
            raise FileFormatError(
                f"{path}: no experiment configuration in /entry/config; cannot build the "
                "point-spread function"
            ) from None
        entry = fh["entry"]
        if "data" not in entry:
            raise FileFormatError(f"{path}: no /entry/data")
        data = entry["data"]
        name = data.attrs.get("signal", "signal")
        name = name.decode() if isinstance(name, bytes) else str(name)
        if name not in data:
            raise FileFormatError(f"{path}: /entry/data has no signal dataset {name!r}")
        out: dict[str, Any] = {
            "kind": kind, "config_text": config_text,
            "signal": np.asarray(data[name][()], dtype=float),
            "unit": str(data[name].attrs.get("units", "")),
        }
        if "measured" in data:
            measured = np.asarray(data["measured"][()], dtype=bool)
            if not measured.all():
                raise UserError(f"{path}: the scan is incomplete ({int((~measured).sum())} "
                                "points not measured); finish it with --resume first")
        if "imaging" in entry:
            out["grid"] = read_grid(entry["imaging"])
            if "noise_sigma" in entry["imaging"]:
                out["noise_sigma"] = float(entry["imaging/noise_sigma"][()])
            if "spin_capture" in entry["imaging"]:
                out["spin_capture"] = float(entry["imaging/spin_capture"][()])
        else:
            axes = {}
            for key, aliases in (("x", ("x",)), ("y", ("y",)), ("height", ("height", "z"))):
                for alias in aliases:
                    if alias in data:
                        axes[key] = np.atleast_1d(np.asarray(data[alias][()], dtype=float))
                        break
                else:
                    raise FileFormatError(f"{path}: /entry/data has no {key} axis")
            out["axes"] = axes
        if "ground_truth" in entry:
            out["truth"] = np.asarray(entry["ground_truth/density"][()], dtype=float)
    return out


#: separations (2 .. 8 voxels) tried per axis by the two-point resolution test
RESOLUTION_SEPARATIONS = 7


class _IterationCounter:
    """Iterations of consecutive reconstructions as one ``progress(done, total)`` count."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int):
        self.progress = progress
        self.total = total
        self.base = 0  # iterations of the reconstructions finished before the current one
        self.last = 0  # the current reconstruction's latest iteration

    def tick(self, k: int, _budget: int) -> None:
        if k <= self.last:  # a new reconstruction started (k counts from 1 in each)
            self.base += self.last
        self.last = k
        if self.progress is not None:
            self.progress(min(self.base + k, self.total), self.total)

    def revise(self, *, done: int, total: int | None = None) -> None:
        """Count ``done`` iterations as finished (skipped ones included), of ``total``."""
        self.total = self.total if total is None else total
        self.base, self.last = done, 0
        if self.progress is not None:
            self.progress(min(done, self.total), self.total)


def reconstruct_file(
    path: str | Path,
    out_path: str | Path,
    *,
    settings: ReconstructionSettings | None = None,
    truth: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Reconstruct ``path`` and write ``out_path``; returns the summary (JSON-ready, SI).

    ``truth`` (m^-3, on the imaging grid of the scan) is the known density to compare
    with, for inputs that do not carry their own ``/entry/ground_truth`` (a scan of a
    known phantom); it is stored in the output beside the reconstruction.

    ``progress(done, total)`` counts iterations: those of the reconstruction (at most
    ``iterations``) and, with a ground truth and ``resolution_test``, those of the
    two-point reconstructions (:data:`RESOLUTION_SEPARATIONS` per axis, each as many
    iterations as the reconstruction took; the total is revised when it stops).
    """
    from mrfm.config import loads
    from mrfm.imaging.psf import grid_for_scan, kernel_for_experiment

    t0 = time.perf_counter()
    started = now_iso()
    path, out_path = Path(path), Path(out_path)
    if not out_path.parent.exists():
        raise UserError(f"-o {out_path}: folder {out_path.parent} does not exist")
    try:
        src = _read_input(path)
    except UserError:
        raise
    except (KeyError, IndexError, ValueError, TypeError, OSError) as exc:
        raise UserError(f"{path}: content does not match an mrfm {', '.join(READABLE)} file "
                        f"({exc.__class__.__name__}: {exc})") from None
    try:
        exp = loads(src["config_text"], origin=f"{path}:/entry/config")
    except ConfigError as exc:
        raise ConfigError(f"{path}: stored configuration is invalid: {exc}") from None
    s = settings or exp.section("reconstruction") or ReconstructionSettings()
    if "grid" in src:
        grid = src["grid"]
    else:
        axes = src["axes"]
        voxel = np.broadcast_to(np.asarray(exp.sample.voxel, float), (3,))
        depth = s.depth_voxels or max(len(axes["height"]), 1)
        try:
            grid = grid_for_scan(x=axes["x"], y=axes["y"], height=axes["height"],
                                 depth_voxels=depth, voxel_depth=float(voxel[2]))
        except ValueError as exc:
            raise UserError(f"{path}: cannot reconstruct this scan: {exc}") from None
    if src["unit"] == "V":
        raise UserError(
            f"{path}: the scan recorded uncalibrated lock-in volts only; give the lock-in's "
            "force_per_volt (or frequency_per_volt) in the rig file so scans record the force"
        )
    if src["signal"].size != int(np.prod(grid.data_shape)):
        raise UserError(f"{path}: the signal holds {src['signal'].size} values but the imaging "
                        f"grid has {' x '.join(map(str, grid.data_shape))} tip positions")
    if not np.all(np.isfinite(src["signal"])):
        raise UserError(f"{path}: the signal has "
                        f"{int(np.count_nonzero(~np.isfinite(src['signal'])))} non-finite "
                        "value(s); cannot reconstruct")
    shape = " x ".join(map(str, grid.object_shape))
    resources.check(resources.reconstruction_bytes(grid.object_shape, grid.data_shape),
                    what=f"reconstruction of {shape} voxels",
                    setting="a coarser sample.voxel or reconstruction.depth_voxels")
    signal = src["signal"].reshape(grid.data_shape)
    if s.psf == "dipole":
        raise UserError('reconstruction.psf = "dipole": the analytic dipole point-spread '
                        'function was removed, the solver computes it for every tip; '
                        'use "auto" or "solver"')
    kernel, unit, source = kernel_for_experiment(exp, grid)
    if unit == "N^2" and "spin_capture" in src:
        # a synthetic variance measurement reads the captured spin variance g sigma^2
        # (mrfm.imaging.noise): the forward model does too
        kernel = kernel * src["spin_capture"]
    op = ConvolutionOperator(kernel, object_shape=grid.object_shape, data_shape=grid.data_shape)
    sigma = s.noise_sigma if s.noise_sigma is not None else src.get("noise_sigma")
    truth = src.get("truth") if truth is None else np.asarray(truth, dtype=float)
    compare = truth is not None and truth.shape == grid.object_shape
    runs = 1 + (3 * RESOLUTION_SEPARATIONS if compare and s.resolution_test else 0)
    counter = _IterationCounter(progress, s.iterations * runs)
    result = reconstruct(op, signal, settings=s, noise_sigma=sigma, progress=counter.tick)
    metrics: dict[str, Any] = {}
    if compare:
        metrics["correlation"] = correlation(result.density, truth)
        metrics["normalized_error"] = normalized_error(result.density, truth)
        if s.resolution_test:
            amplitude = float(np.max(truth)) if np.max(truth) > 0 else 1.0
            fixed = ReconstructionSettings(
                method=s.method, stopping="fixed", iterations=max(result.iterations, 1),
                relaxation=s.relaxation, subsample=s.subsample,
            )
            per_axis = RESOLUTION_SEPARATIONS * fixed.iterations
            counter.revise(done=result.iterations, total=result.iterations + 3 * per_axis)
            for axis, label in ((0, "x"), (1, "y"), (2, "z")):
                metrics[f"resolution_{label}_m"] = two_point_resolution(
                    op, axis=axis, voxel=grid.voxel[axis], amplitude=amplitude,
                    settings=fixed, noise_sigma=sigma,
                    max_separation=RESOLUTION_SEPARATIONS + 1, progress=counter.tick,
                )
                counter.revise(done=result.iterations + (axis + 1) * per_axis)
    counter.revise(done=counter.total)
    summary = {
        "input": str(path), "output": str(out_path), "input_kind": src["kind"],
        "method": result.method, "stopping_rule": result.stopping_rule,
        "stopped_by": result.stopped_by, "iterations": result.iterations,
        "residual_norm": result.residual_norm, "target_residual": result.target_residual,
        "signal_unit": unit, "psf_source": source, "noise_sigma": sigma,
        "object_shape": list(grid.object_shape), "voxel_m": list(grid.voxel),
        "density_max_m3": float(np.max(result.density)), "note": result.note,
        **metrics,
    }
    if not np.all(np.isfinite(result.density)):
        raise UserError(f"{path}: the reconstruction has non-finite values (the signal or the "
                        "stored configuration is out of range); nothing written")
    _write(out_path, exp, grid, result, summary, truth, source, started)
    summary["elapsed_s"] = time.perf_counter() - t0
    return summary


def _write(out_path, exp, grid, result, summary, truth, source, started) -> None:
    from mrfm.cli.jsonout import dumps
    from mrfm.data.nexus import (
        atomic_h5,
        create_entry,
        finish_entry,
        group,
        write_dataset,
        write_plot,
    )
    from mrfm.imaging.dataset_io import write_grid, write_nxdata

    with atomic_h5(out_path) as fh:
        entry = create_entry(fh, kind="reconstruction", config_text=exp.source_text,
                             title=f"mrfm reconstruction ({summary['method']})",
                             start_time=started)
        data = write_nxdata(entry, "data", "density", ("x", "y", "z"), grid.object_axes())
        write_dataset(data, "density", result.density, "m^-3", long_name="reconstructed density")
        write_plot(entry, "density", result.density, "m^-3",
                   {k: (v, "m") for k, v in zip("xyz", grid.object_axes(), strict=True)},
                   long_name="reconstructed density")
        if truth is not None and truth.shape == grid.object_shape:
            gt = write_nxdata(entry, "ground_truth", "density", ("x", "y", "z"),
                              grid.object_axes())
            write_dataset(gt, "density", truth, "m^-3", long_name="ground-truth density")
        im = group(entry, "imaging", "NXcollection")
        write_grid(im, grid)
        im.create_dataset("psf_source", data=source, dtype=h5py.string_dtype())
        rec = group(entry, "reconstruction", "NXprocess")
        for key in ("method", "stopping_rule", "stopped_by", "note"):
            rec.create_dataset(key, data=str(summary[key]), dtype=h5py.string_dtype())
        write_dataset(rec, "iterations", result.iterations, "")
        write_dataset(rec, "residual_norm", result.residual_norm, summary["signal_unit"])
        write_dataset(rec, "residual_history", result.residual_history, summary["signal_unit"])
        if result.target_residual is not None:
            write_dataset(rec, "target_residual", result.target_residual, summary["signal_unit"])
        metrics = {k: v for k, v in summary.items()
                   if k in ("correlation", "normalized_error") or k.startswith("resolution_")}
        for key, value in metrics.items():
            if value is not None:
                write_dataset(rec, key, value, "m" if key.endswith("_m") else "")
        rec.create_dataset("summary", data=dumps(summary), dtype=h5py.string_dtype())
        finish_entry(entry)
