"""``simulate``: the solver's entry point (tip grid, method choice, memory check, progress)
over the direct and FFT paths; importable from :mod:`mrfm.solver`."""


from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from mrfm.errors import UserError
from mrfm.physics import Sample, SpinSpecies
from mrfm.solver import direct, memory
from mrfm.solver import fft as fftpath
from mrfm.solver import kernels as K
from mrfm.solver.protocols import ProtocolInfo, SolverSettings, build_params, protocol_info
from mrfm.solver.result import SignalMap

if TYPE_CHECKING:
    from mrfm.config import Experiment

METHODS = ("auto", "direct", "fft")

# rough cost of one kernel evaluation (s) per protocol family, for the progress-bar decision
_EVAL_COST = {0: 1.5e-7, 1: 2e-5, 2: 4e-6, 3: 4e-6}


class ResonanceOutsideSampleWarning(UserWarning):
    """The resonant slice (or the OSCAR sweep region) misses every spin: the map is all zero."""


def sample_top(sample: Sample) -> float:
    """Highest z (m) reached by any spin: top face of the highest occupied voxel, or a point."""
    top = -math.inf
    for rho in sample.densities.values():
        rho = np.asarray(rho)
        if rho.size == 0:
            continue
        # from the top layer down, stopping at the first occupied one: a slab touches one
        # layer of its voxels, not all of them (1 ms per call on a 1 M-voxel grid before)
        for k in range(rho.shape[-1] - 1, -1, -1):
            if np.any(rho[..., k]):
                top = max(top, float(sample.origin[2]) + (k + 0.5) * float(sample.voxel[2]))
                break
    for pts in sample.points.values():
        pts = np.asarray(pts, dtype=float).reshape(-1, 3)
        if pts.shape[0]:
            top = max(top, float(pts[:, 2].max()))
    return top


def choose_method(exp: Experiment, method: str) -> str:
    """Resolve ``"auto"``: FFT when the tip grid is commensurate with the voxel grid and the
    FFT path needs fewer kernel evaluations than direct summation; otherwise direct."""
    if method not in METHODS:
        raise UserError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    sample = exp.sample
    densities = sample.densities
    scan = exp.scan
    voxel = np.asarray(sample.voxel, dtype=float)
    ok = bool(densities) and fftpath.compatible(scan.x, scan.y, voxel)
    if method == "fft":
        if not densities:
            raise UserError("method 'fft': the sample has no voxel densities (points only)")
        if not ok:
            raise UserError(
                "method 'fft': the tip grid steps must be integer multiples of the voxel pitch "
                f"({voxel[0]:.3g} m, {voxel[1]:.3g} m); use method 'direct' or 'auto'"
            )
        return "fft"
    if method == "direct" or not ok:
        return "direct"
    shape = next(iter(densities.values())).shape
    n_tips = scan.x.size * scan.y.size * scan.height.size
    direct_cost = n_tips * math.prod(shape)
    fft_cost = fftpath.layer_cost(scan.x, scan.y, shape, voxel) * shape[2] * scan.height.size
    return "fft" if fft_cost <= direct_cost else "direct"


@contextmanager
def _progress(total: int, enabled: bool | Callable[[int, int], None], description: str):
    if not enabled or total <= 0:
        yield None
        return
    if callable(enabled):  # the caller's own display: progress(done, total)
        report, done = enabled, [0]
        report(0, total)

        def tick(n: int) -> None:
            done[0] += n
            report(done[0], total)

        yield tick
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def simulate(exp: Experiment, method: str = "auto", *, settings: SolverSettings | None = None,
             progress: bool | Callable[[int, int], None] | None = None,
             memory_limit: int | None = None) -> SignalMap:
    """Simulate the experiment's protocol over its tip grid.

    Parameters
    ----------
    exp : Experiment
        From :func:`mrfm.config.load` (or any object with the same attributes).
    method : {"auto", "direct", "fft"}
        Evaluation path; "auto" uses FFT where the tip grid allows and it is cheaper.
    settings : SolverSettings, optional
        Numerical settings (trajectory points, slice refinement).
    progress : bool or callable, optional
        Show a progress bar on stderr; None shows one when the job looks longer than ~2 s.
        A callable is called as ``progress(done, total)`` instead (work units: tip
        positions per species on the direct path, depth layers per species on the FFT
        path), first with ``done = 0``, last with ``done = total``.
    memory_limit : int, optional
        Bytes; default ``MRFM_MEMORY_LIMIT`` or 80 % of physical memory.

    Returns
    -------
    SignalMap
        ``signal`` of shape (nx, ny, n_heights) in N (CAI Curie), N^2 (CAI
        statistical), Hz (OSCAR, iOSCAR, CERMIT, force-gradient) or Hz^2
        (their statistical variances).

    Raises
    ------
    UserError
        Tip inside the sample, unknown protocol or method.
    ResourceLimitError
        The job would not fit in memory.

    Warns
    -----
    ResonanceOutsideSampleWarning
        When the resonant slice misses every spin (the map is all zero).
    """
    t_start = time.perf_counter()
    settings = settings or SolverSettings()
    info = protocol_info(exp.protocol.name)
    magnet = exp.magnet
    sample = exp.sample
    scan = exp.scan
    x = np.asarray(scan.x, dtype=float).reshape(-1)
    y = np.asarray(scan.y, dtype=float).reshape(-1)
    heights = np.asarray(scan.height, dtype=float).reshape(-1)
    top = sample_top(sample)
    if math.isfinite(top) and heights.min() <= top:
        raise UserError(
            f"tip inside the sample: the lowest tip height {heights.min():.4g} m is not above "
            f"the sample's top at z = {top:.4g} m; raise scan.height"
        )
    min_gap = heights.min() - (top if math.isfinite(top) else 0.0)
    chosen = choose_method(exp, method)
    densities = sample.densities
    points = sample.points
    voxel = np.asarray(sample.voxel, dtype=float) if densities else np.ones(3)
    origin = np.asarray(sample.origin, dtype=float) if densities else np.zeros(3)
    n_tips = x.size * y.size * heights.size
    shape = next(iter(densities.values())).shape if densities else (0, 0, 0)
    n_points = sum(np.asarray(p).reshape(-1, 3).shape[0] for p in points.values())

    from numba import get_num_threads

    threads = get_num_threads()
    if chosen == "fft":
        p = fftpath.plan(x, y, shape, voxel)
        need = memory.fft_bytes(n1=p["n1"], n2=p["n2"], lx=p["lx"], ly=p["ly"],
                                n_heights=heights.size, n_tips=n_tips)
        evals = p["lx"] * p["ly"] * shape[2] * heights.size * len(densities)
    else:
        need = memory.direct_bytes(n_tips=n_tips, n_voxels=math.prod(shape), n_points=n_points,
                                   threads=threads)
        evals = n_tips * math.prod(shape) * len(densities)
    memory.check(need, memory_limit, what=f"simulate ({chosen} path)")
    est_seconds = evals * _EVAL_COST[info.kernel_id] / max(threads, 1)
    show = ((est_seconds > 2.0) if progress is None else
            progress if callable(progress) else bool(progress))

    tips = np.stack(np.meshgrid(x, y, heights, indexing="ij"), axis=-1).reshape(-1, 3)
    centres = tips.copy()
    centres[:, 2] += float(magnet.half_height)
    signal = np.zeros((x.size, y.size, heights.size))
    total_units = 0
    if densities:
        total_units = (shape[2] if chosen == "fft" else n_tips) * len(densities)
    with _progress(total_units, show, f"{info.name} ({chosen})") as tick:
        for name, rho in densities.items():
            species = SpinSpecies.from_name(name)
            pp = build_params(exp, species, info, settings, min_gap)
            rho = np.asarray(rho, dtype=float)
            if chosen == "fft":
                signal += fftpath.fft_signal(info.kernel_id, magnet, rho=rho, origin=origin,
                                             voxel=voxel, x=x, y=y, heights=heights, pp=pp,
                                             progress=tick)
            else:
                values = direct.voxel_signal(info.kernel_id, magnet, centres, rho, origin, voxel,
                                             pp, progress=tick)
                signal += values.reshape(signal.shape)
    for name, pts in points.items():
        species = SpinSpecies.from_name(name)
        pp = build_params(exp, species, info, settings, min_gap)
        values = direct.point_signal(info.kernel_id, magnet, centres, np.asarray(pts, float), pp)
        signal += values.reshape(signal.shape)

    unit = info.module.UNITS[exp.protocol.polarization]
    if info.uses_slice and not np.any(signal) and not _odd_force_cancels(exp, info, chosen,
                                                                          settings):
        warnings.warn(
            f"{info.name}: the resonance slice does not reach any spin of the sample at any tip "
            "position (check rf.frequency, field.B0 and scan.height); the signal map is all zero",
            ResonanceOutsideSampleWarning,
            stacklevel=2,
        )
    return SignalMap(signal=signal, unit=unit, coords={"x": x, "y": y, "z": heights},
                     protocol=info.name, polarization=exp.protocol.polarization, method=chosen,
                     elapsed_s=time.perf_counter() - t_start, experiment=exp)


def _odd_force_cancels(exp: Experiment, info: ProtocolInfo, method: str,
                       settings: SolverSettings) -> bool:
    """Whether an all-zero CAI Curie map is a cancellation rather than a slice that misses
    every spin: the Curie force is odd in x (:func:`mrfm.solver.mirror.mirror_parity`), so at
    a tip on a mirror plane of a symmetric sample it is exactly 0 (the direct path leaves
    out the cancelling pairs), while the statistical variance, (d|B|/dx)^2 >= 0 over the
    same slice, is not. Evaluated only for an all-zero Curie map."""
    if info.kernel_id != K.CAI or exp.protocol.polarization != "curie":
        return False
    stat = dataclasses.replace(exp, protocol=dataclasses.replace(exp.protocol,
                                                                 polarization="statistical"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResonanceOutsideSampleWarning)
        variance = simulate(stat, method=method, settings=settings, progress=False)
    return bool(np.any(variance.signal))


__all__ = ["METHODS", "ResonanceOutsideSampleWarning", "choose_method", "sample_top", "simulate"]
