"""The demo behind ``mrfm demo``: a whole virtual experiment, every step a file to open.

Steps (each writes into the output folder):

1. figures of merit of ``configs/demo.toml`` (noise floor, tip gradient);
2. the ideal signal map from the solver (``signal_map.h5``, ``signal_map.png``);
3. a scan of the same experiment on the virtual rig, in this process, through the
   pyvisa drivers over loopback sockets (``scan.h5``, ``scan.png``);
4. a 3-D reconstruction of the scan beside the phantom (``reconstruction.h5``,
   ``reconstruction.png``);
5. a short time series of the cantilever with its spectrum against the thermal
   Lorentzian (``timeseries.h5``, ``psd.png``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mrfm.errors import UserError
from mrfm.resources import data_dir

#: files the demo writes (removed first, so a second run starts clean)
OUTPUTS = (
    "signal_map.h5", "signal_map.png", "scan.h5", "scan.png", "reconstruction.h5",
    "reconstruction.png", "timeseries.h5", "psd.png", "tip_gradient.png",
)


def demo_config_path() -> Path:
    """The demo preset shipped with mrfm."""
    return data_dir("configs") / "demo.toml"


def plot_gradient_map(exp, path: Path) -> None:
    """PNG of the tip's dBz/dx on the sample surface at the smallest scan height."""
    from mrfm.info import gradient_plane
    from mrfm.plotting.style import figure, save
    from mrfm.unit_format import engineering_scale

    h = float(np.min(exp.scan.height))
    size = max(float(np.max(exp.magnet.params)), h)
    x, y, g, _ = gradient_plane(exp.magnet, h, 2.5 * (size + h), n=301)
    lscale, lprefix = engineering_scale(float(np.max(np.abs(x))))
    fig, ax = figure(figsize=(6.0, 5.0), layout="constrained")
    gmax = float(np.max(np.abs(g)))
    im = ax.pcolormesh(x * lscale, y * lscale, g.T, cmap="RdBu_r", vmin=-gmax, vmax=gmax,
                       shading="auto")
    fig.colorbar(im, ax=ax, label="dB$_z$/dx (T/m)")
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({lprefix}m)")
    ax.set_ylabel(f"y ({lprefix}m)")
    ax.set_title(f"Tip field gradient on the sample surface\n"
                 f"{type(exp.magnet).__name__}, {h * 1e9:.0f} nm above, max {gmax:.3g} T/m")
    save(fig, path)


def phantom_on_grid(exp, grid) -> np.ndarray:
    """The sample's density resampled onto an imaging grid (m^-3, shape grid.object_shape).

    Each imaging voxel gets the mean density of the sample voxels whose centres fall
    inside it (sub-voxel sampling on the sample's own grid); layers below the imaging
    grid's depth are folded into its deepest layer so that spin numbers are kept when
    the reconstruction is shallower than the sample.
    """
    truth = np.zeros(grid.object_shape)
    sample = exp.sample
    xs, ys, zs = sample.axes()
    ox, oy, oz = grid.origin
    vx, vy, vz = grid.voxel
    nx, ny, nz = grid.object_shape
    ix = np.floor((xs - ox) / vx + 0.5).astype(int)
    iy = np.floor((ys - oy) / vy + 0.5).astype(int)
    iz = np.clip(np.floor((zs - oz) / vz + 0.5).astype(int), 0, nz - 1)
    cell = float(np.prod(sample.voxel)) / (vx * vy * vz)
    for density in sample.densities.values():
        gx, gy, gz = np.meshgrid(ix, iy, iz, indexing="ij")
        inside = (gx >= 0) & (gx < nx) & (gy >= 0) & (gy < ny)
        np.add.at(truth, (gx[inside], gy[inside], gz[inside]), density[inside] * cell)
    return truth


def _scan_snr(path: Path) -> float:
    """Peak |signal| over the rms of lock-in Y far from the peak (noise estimate)."""
    import h5py

    with h5py.File(path, "r") as fh:
        data = fh["entry/data"]
        name = data.attrs["signal"]
        signal = np.abs(data[name][()])
        x = data["lockin_x"][()]
        y = data["lockin_y"][()]
    r = np.hypot(x, y)
    quiet = r <= np.quantile(r, 0.25)  # the quarter of points with the least signal
    noise = float(np.std(y[quiet])) if quiet.any() else float(np.std(y))
    x_peak = float(np.max(np.abs(x)))
    return x_peak / noise if noise > 0 else float("inf") if signal.any() else 0.0


def plot_reconstruction(recon_path: Path, out_png: Path) -> None:
    """The reconstruction beside the phantom: x-y maps with nm axes and colour bars."""
    import h5py

    from mrfm.plotting.style import figure, save

    with h5py.File(recon_path, "r") as fh:
        density = fh["entry/data/density"][()]
        x = fh["entry/data/x"][()]
        y = fh["entry/data/y"][()]
        truth = fh["entry/ground_truth/density"][()] if "entry/ground_truth" in fh else None
        corr = (float(fh["entry/reconstruction/correlation"][()])
                if "entry/reconstruction/correlation" in fh else None)
    panels = [("phantom (ground truth)", truth)] if truth is not None else []
    panels.append(("reconstruction", density))
    fig, axes = figure(1, len(panels), figsize=(5.6 * len(panels), 4.8), layout="constrained",
                       squeeze=False)
    extent = [x[0] * 1e9, x[-1] * 1e9, y[0] * 1e9, y[-1] * 1e9]
    vmax = max(float(np.max(v.sum(axis=2))) for _, v in panels) or 1.0
    for ax, (label, volume) in zip(axes[0], panels, strict=True):
        column = volume.sum(axis=2)  # sum over depth layers
        im = ax.imshow(column.T, origin="lower", extent=extent, vmin=0, vmax=vmax,
                       cmap="magma", aspect="equal")
        fig.colorbar(im, ax=ax, label="spin density (m$^{-3}$), summed over depth")
        ax.set_xlabel("x (nm)")
        ax.set_ylabel("y (nm)")
        ax.set_title(label)
    if corr is not None:
        fig.suptitle(f"3-D reconstruction of the virtual scan (correlation {corr:.2f})")
    save(fig, out_png)


def run_demo(out: Path, log: Callable[[str], None] = print,
             progress: Callable[[str, str], Callable[[int, int], None]] | None = None
             ) -> dict[str, object]:
    """Run the demo experiment into folder ``out``; returns a JSON-able summary.

    ``progress(label, unit)``, if given, returns the ``callback(done, total)`` of one long
    step (``"simulate"``, ``"scan"``, ``"timeseries"``; see :mod:`mrfm.cli.progress`).
    """
    from mrfm.cli.info_cmd import render_table
    from mrfm.config import load
    from mrfm.imaging.pipeline import reconstruct_file
    from mrfm.imaging.psf import grid_for_scan
    from mrfm.imaging.reconstruct import ReconstructionSettings
    from mrfm.info import summarize
    from mrfm.plotting import scan as scan_plot
    from mrfm.plotting import signal_map as signal_plot
    from mrfm.plotting import timeseries as ts_plot
    from mrfm.scan import run_scan
    from mrfm.solver import simulate
    from mrfm.timedomain.experiment import chain_parameters
    from mrfm.timedomain.stream import write_timeseries
    from mrfm.unit_format import format_quantity

    t0 = time.perf_counter()
    for name in OUTPUTS:
        (out / name).unlink(missing_ok=True)
    config = demo_config_path()
    exp = load(config)
    info = summarize(exp)
    log(render_table(info))

    # 1-2: tip gradient and the ideal signal map
    plot_gradient_map(exp, out / "tip_gradient.png")
    log("[1/5] solver: ideal signal map ...")
    res = simulate(exp, progress=progress("simulate", "work units") if progress else False)
    res.to_hdf5(out / "signal_map.h5")
    signal_plot.plot(out / "signal_map.h5", out / "signal_map.png")

    # 3: the same experiment scanned on the virtual rig (drivers over loopback sockets)
    log("[2/5] virtual rig: scanning the phantom through the pyvisa drivers ...")
    scanned = run_scan(exp, "virtual", out / "scan.h5",
                       notify=lambda message: log(f"      {message}"),
                       progress=progress("scan", "points") if progress else None)
    if scanned.fault is not None:
        raise scanned.fault
    if not scanned.complete:
        raise UserError(f"demo: the virtual scan stopped ({scanned.status}) after "
                        f"{scanned.points_measured} of {scanned.points_total} points")
    scan_plot.plot(out / "scan.h5", out / "scan.png")
    snr = _scan_snr(out / "scan.h5")

    # 4: reconstruction beside the phantom
    log("[3/5] reconstruction (FISTA with positivity, FFT operators) ...")
    voxel = np.broadcast_to(np.asarray(exp.sample.voxel, float), (3,))
    depth = int(np.ceil(np.ptp(exp.sample.axes()[2]) / voxel[2])) + 1
    grid = grid_for_scan(x=exp.scan.x, y=exp.scan.y, height=exp.scan.height,
                         depth_voxels=depth, voxel_depth=float(voxel[2]))
    settings = ReconstructionSettings(depth_voxels=depth, resolution_test=True)
    recon = reconstruct_file(out / "scan.h5", out / "reconstruction.h5", settings=settings,
                             truth=phantom_on_grid(exp, grid))
    plot_reconstruction(out / "reconstruction.h5", out / "reconstruction.png")

    # 5: a short time series at the signal's peak, and its spectrum
    log("[4/5] time series of the cantilever at the signal peak ...")
    peak = np.unravel_index(int(np.argmax(np.abs(res.signal))), res.signal.shape)
    tip = [f"{res.coords[a][i] * 1e9:.6g} nm" for a, i in zip("xyz", peak, strict=True)]
    ts_exp = exp.with_overrides({"timeseries.tip": tip, "timeseries.duration": "2 s",
                                 "timeseries.seed": 1})
    params, n = chain_parameters(ts_exp, ts_exp.section("timeseries"))
    write_timeseries(out / "timeseries.h5", params, n_samples=n, chunk=2**18,
                     channels=ts_exp.section("timeseries").channels,
                     config_text=ts_exp.source_text, experiment=ts_exp,
                     progress=progress("timeseries", "samples") if progress else False)
    ts_plot.plot(out / "timeseries.h5", out / "psd.png")

    log("[5/5] done")
    resolution = [recon.get(f"resolution_{a}_m") for a in "xy"]
    reached = [r for r in resolution if r is not None]
    summary = info.as_json()
    summary.update({
        "signal_peak_N": float(res.peak),
        "scan_snr": snr,
        "reconstruction_correlation": recon.get("correlation"),
        "resolution_m": max(reached) if reached else None,
        "folder": str(out),
        "files": [str(out / name) for name in OUTPUTS],
        "elapsed_s": time.perf_counter() - t0,
    })
    lines = [
        "",
        f"noise floor          {format_quantity(info.force_noise, 'N')}/√Hz at "
        f"{exp.cantilever.T:g} K",
        f"tip gradient         {info.tip_gradient_max:.3g} T/m = "
        f"{info.gradient_vs_clinical:.3g} x a clinical MRI scanner",
        f"peak signal          {format_quantity(float(res.peak), res.unit)} (solver); "
        f"scan SNR {snr:.0f}",
    ]
    if summary["reconstruction_correlation"] is not None:
        lines.append(f"reconstruction       correlation with the phantom "
                     f"{summary['reconstruction_correlation']:.2f}")
    if reached:
        lines.append(f"resolution reached   {format_quantity(max(reached), 'm')} "
                     "(two points resolved, x and y)")
    lines.append(f"files in             {out}/ ({', '.join(OUTPUTS)})")
    lines.append(f"elapsed              {summary['elapsed_s']:.1f} s")
    for line in lines:
        log(line)
    return summary
