"""One item of a synthetic dataset, in memory: its seeds, phantom, parameters and scans.

Item ``i`` of a set draws, from its own ``SeedSequence(seed, spawn_key=(i,))``, a
phantom and the experiment parameters listed in ``[dataset] vary``; computes the
noiseless scan (FFT convolution with the item experiment's point-spread function, or
the solver) and adds the noise of :mod:`mrfm.imaging.noise`. No file I/O here but the
inputs: :mod:`mrfm.imaging.dataset_io` writes and verifies item files and
:mod:`mrfm.imaging.dataset` generates whole sets.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mrfm.errors import ConfigError

if TYPE_CHECKING:
    from mrfm.config import DatasetSettings, Experiment
    from mrfm.imaging.psf import ImagingGrid


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
def cached_experiment(text: str, overrides: tuple[tuple[str, float], ...] = ()) -> Experiment:
    """The experiment of ``text`` with ``overrides`` applied (cached per process)."""
    from mrfm.config import loads

    return loads(text, overrides=dict(overrides) if overrides else None)


@functools.lru_cache(maxsize=4)
def _kernel(text: str, overrides: tuple, grid: ImagingGrid,
            polarization: str | None = None) -> tuple[np.ndarray, str, str]:
    """The point-spread function of the experiment (``polarization``: under that
    polarization instead of its own), cached per process."""
    from mrfm.imaging.psf import kernel_for_experiment

    exp = cached_experiment(text, overrides)
    if polarization is not None:
        exp = exp.under_polarization(polarization)
    return kernel_for_experiment(exp, grid)


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
    from mrfm.timedomain.spins import spin_correlation_time

    base = cached_experiment(config_text)
    settings = base.section("dataset")
    if settings is None:
        raise ConfigError("dataset: the experiment file has no [dataset] section")
    rng_phantom, rng_params, rng_noise = item_rngs(settings.seed, index)
    parameters = {key: float(rng_params.uniform(lo, hi)) if hi > lo else float(lo)
                  for key, (lo, hi) in sorted(settings.vary.items())}
    overrides = tuple(sorted(parameters.items()))
    exp = cached_experiment(config_text, overrides)
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
    spin_noise = settings.snr is None and (statistical or settings.spin_noise)
    tau_m = spin_correlation_time(exp) if spin_noise else float(exp.protocol.T1rho)
    if not tau_m > 0:
        raise ConfigError(
            "dataset: the passages do not keep the spins locked (correlation time 0 s: "
            "adiabaticity too low; raise rf.B1 or lower rf.fm_depth)")
    bandwidth = exp.protocol.bandwidth
    tau = time_constant_for_enbw(bandwidth, settings.lockin_order)
    dwell = settings.dwell if settings.dwell is not None else 5.0 * tau
    model = NoiseModel(
        kind="variance" if statistical else "force",
        thermal_sigma=float(exp.cantilever.force_noise(bandwidth)),
        tau=tau,
        order=settings.lockin_order,
        dwell=dwell,
        tau_m=tau_m,
        drift_rate=(float(exp.stage.drift_rate) if settings.drift_rate is None
                    else settings.drift_rate),
        snr=settings.snr,
    )
    spin_variance = None
    if spin_noise and not statistical:
        spin_variance = curie_spin_variance(config_text, overrides, grid, density)
    noisy, info = add_noise(noiseless, model=model, spacing=grid.voxel, rng=rng_noise,
                            spin_variance=spin_variance)
    return Item(index=index, phantom=kind, parameters=parameters, experiment=exp, grid=grid,
                density=density, noiseless=noiseless, noisy=noisy, unit=unit, noise=info,
                psf_source=source)


def curie_spin_variance(config_text: str, overrides: tuple, grid: ImagingGrid,
                        density: np.ndarray) -> np.ndarray:
    """Statistical variance of the signal at each tip position under a Curie signal (the
    Curie signal's unit squared): the density through the solver's point-spread function
    of the same experiment under statistical polarization (each spin's
    Var(mu_z) = hbar^2 gamma^2 I(I+1)/3 times its kernel squared, averaged over each voxel
    by the solver as the Curie kernel is)."""
    from mrfm.imaging.operators import ConvolutionOperator

    kernel, _, _ = _kernel(config_text, overrides, grid, "statistical")
    op = ConvolutionOperator(kernel, object_shape=grid.object_shape,
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
