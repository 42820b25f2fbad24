"""Stream long time series to HDF5 in chunks (NeXus layout, API.md "Files").

Layout::

    /entry                     NXentry  mrfm_kind = "timeseries"
    /entry/config              experiment TOML text
    /entry/samples_written     int64, updated after every chunk
    /entry/status              "running" | "complete" | "interrupted"
    /entry/data                NXdata   attrs: signal = "displacement", axes = "time",
                                        sample_rate (Hz), dt (s); the entry's default plot
    /entry/data/time           float64, s  (sample i at i*dt; gzip+shuffle, ~0.3 byte/sample)
    /entry/data/displacement   float64, m
    /entry/data/force          float64, N   (spin + drive + feedback force)
    /entry/data/photodiode     float32, V   (ADC output)
    /entry/data/lockin_x, lockin_y   float32, V (RMS)
    /entry/data/frequency_shift      float32, Hz (PLL; self-oscillating mode)
    /entry/data/spin           float32, spin signal (N, or Hz for frequency-shift protocols)
    /entry/instrument/timeseries     the chain's parameters, each with units

The file is written in SWMR mode and flushed after every chunk: a run that is
stopped leaves a readable file holding the samples written so far (every
dataset has exactly ``samples_written`` entries). Memory use is about
200 bytes per chunk sample, whatever the record length.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from mrfm.errors import ResourceLimitError, UserError
from mrfm.timedomain.chain import ChainParameters, ChainSimulator
from mrfm.timedomain.settings import CHANNELS

if TYPE_CHECKING:
    from mrfm.config import Experiment

#: channel -> (units, dtype, description)
CHANNEL_INFO: dict[str, tuple[str, str, str]] = {
    "displacement": ("m", "f8", "cantilever displacement x"),
    "force": ("N", "f8", "external force on the cantilever (spin + drive + feedback)"),
    "photodiode": ("V", "f4", "photodiode voltage after the ADC (DC level removed)"),
    "lockin_x": ("V", "f4", "lock-in in-phase output X (RMS)"),
    "lockin_y": ("V", "f4", "lock-in quadrature output Y (RMS)"),
    "frequency_shift": ("Hz", "f4", "PLL frequency minus f0"),
    "spin": ("", "f4", "spin signal (force amplitude N, or frequency shift Hz)"),
}
HEADROOM = 1.05
OVERHEAD_BYTES = 4 * 2**20


def estimate_bytes(n_samples: int, channels: Sequence[str]) -> int:
    """Disk space the record needs, bytes (data plus 5 % and 4 MiB of overhead)."""
    per_sample = sum(np.dtype(CHANNEL_INFO[c][1]).itemsize for c in channels)
    return int(n_samples * per_sample * HEADROOM) + OVERHEAD_BYTES


def check_disk_space(path: str | Path, n_samples: int, channels: Sequence[str]) -> int:
    """Raise ResourceLimitError (with the estimate) if the record would not fit on disk."""
    need = estimate_bytes(n_samples, channels)
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise UserError(f"{path}: output folder {folder} does not exist")
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ResourceLimitError(
            f"{path}: the time series needs about {need / 1e9:.3g} GB "
            f"({n_samples} samples x {len(channels)} channels) but {folder} has "
            f"{free / 1e9:.3g} GB free; shorten the duration, lower the sample rate or "
            "record fewer channels"
        )
    return need


def _channel_list(channels: Sequence[str], mode: str) -> list[str]:
    chosen = ["displacement"] + [c for c in channels if c != "displacement"]
    if mode != "self-oscillating" and "frequency_shift" in chosen:
        chosen.remove("frequency_shift")
    return [c for c in CHANNELS if c in chosen]


class _Stats:
    """Running sums for the summary (mean/rms of the recorded channels)."""

    def __init__(self) -> None:
        self.n = 0
        self.sum_x2 = 0.0
        self.sum_df = 0.0
        self.last: dict[str, float] = {}

    def add(self, out: dict[str, np.ndarray]) -> None:
        self.n += out["displacement"].size
        self.sum_x2 += float(np.dot(out["displacement"], out["displacement"]))
        self.sum_df += float(out["frequency_shift"].sum())
        self.last = {"lockin_x": float(out["lockin_x"][-1]),
                     "lockin_y": float(out["lockin_y"][-1])}


def _progress(total: int, enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("timeseries"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                    TimeRemainingColumn(), console=Console(file=sys.stderr),
                    disable=not enabled, transient=True)


def write_timeseries(
    path: str | Path,
    params: ChainParameters,
    *,
    n_samples: int,
    chunk: int = 2**20,
    channels: Sequence[str] = CHANNELS,
    config_text: str | None = None,
    experiment: Experiment | None = None,
    progress: bool | Callable[[int, int], None] = False,
) -> dict[str, Any]:
    """Simulate ``n_samples`` samples of the chain and write them to ``path`` chunk by chunk.

    Parameters
    ----------
    path : str or Path
        HDF5 file to create (overwritten).
    params : ChainParameters
        The chain (SI).
    n_samples : int
        Record length in samples.
    chunk : int
        Samples per chunk (memory ~ 200 bytes x chunk; the data do not depend on it).
    channels : sequence of str
        Channels to record (displacement always; frequency_shift only when self-oscillating).
    config_text : str, optional
        Experiment TOML stored in /entry/config.
    experiment : mrfm.config.Experiment, optional
        Adds /entry/instrument and /entry/sample metadata.
    progress : bool or callable
        Show a rich progress bar on stderr; a callable is called as
        ``progress(samples_written, n_samples)`` instead, at the start and after every chunk.

    Returns
    -------
    dict
        Summary (SI): samples_written, sample_rate_Hz, duration_s, displacement_rms_m,
        thermal_rms_m, frequency_shift_mean_Hz, lockin_x_V, lockin_y_V, adc_clipped,
        lockin_overloads, elapsed_s, samples_per_s, output, status.
    """
    from mrfm.data.nexus import (
        create_entry,
        finish_entry,
        group,
        reserve_end_time,
        write_experiment_metadata,
        write_values,
    )

    if n_samples < 1:
        raise UserError(f"a time series needs at least one sample, got {n_samples}")
    chans = _channel_list(channels, params.mode)
    check_disk_space(path, n_samples, chans)
    sim = ChainSimulator(params)
    stats = _Stats()
    t_start = time.perf_counter()
    status = "running"
    h5_chunk = int(min(chunk, 2**18, n_samples))
    with h5py.File(path, "w", libver="latest") as fh:
        entry = create_entry(fh, kind="timeseries", config_text=config_text)
        if experiment is not None:
            write_experiment_metadata(entry, experiment)
        inst = group(entry, "instrument", "NXinstrument")
        ts = group(inst, "timeseries", "NXcollection")
        _write_parameters(ts, params, write_values)
        data = group(entry, "data", "NXdata")
        data.attrs["signal"] = "displacement"
        data.attrs["axes"] = ["time"]
        data.attrs["time_indices"] = 0
        if len(chans) > 1:
            data.attrs["auxiliary_signals"] = [c for c in chans if c != "displacement"]
        # the time axis of an evenly sampled record compresses ~25x (inside the estimate's
        # headroom); the channels themselves stay uncompressed for speed
        time_ds = data.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8",
                                      chunks=(h5_chunk,), compression="gzip",
                                      compression_opts=1, shuffle=True)
        time_ds.attrs["units"] = "s"
        time_ds.attrs["long_name"] = "time since the start of the record"
        data.attrs["sample_rate"] = 1.0 / params.dt
        data.attrs["dt"] = params.dt
        data.attrs["volts_per_metre"] = params.volts_per_metre
        dsets = {}
        for name in chans:
            unit, dtype, desc = CHANNEL_INFO[name]
            ds = data.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                     chunks=(h5_chunk,))
            ds.attrs["units"] = unit
            ds.attrs["long_name"] = desc
        dsets = {name: data[name] for name in chans}
        written = entry.create_dataset("samples_written", data=np.int64(0))
        written.attrs["units"] = ""
        state = entry.create_dataset("status", data=np.bytes_(status.ljust(16)), dtype="S16")
        reserve_end_time(entry)
        fh.swmr_mode = True
        fh.flush()
        try:
            report = progress if callable(progress) else None
            with _progress(n_samples, progress is True) as bar:
                task = bar.add_task("timeseries", total=n_samples)
                done = 0
                if report is not None:
                    report(0, n_samples)
                while done < n_samples:
                    n = min(chunk, n_samples - done)
                    out = sim.run(n)
                    stats.add(out)
                    for name, ds in dsets.items():
                        ds.resize((done + n,))
                        ds[done:done + n] = out[name]
                    time_ds.resize((done + n,))
                    time_ds[done:done + n] = np.arange(done, done + n) * params.dt
                    done += n
                    written[()] = done
                    fh.flush()
                    bar.update(task, completed=done)
                    if report is not None:
                        report(done, n_samples)
            status = "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            state[()] = np.bytes_(status.ljust(16))
            finish_entry(entry)
            fh.flush()
    elapsed = time.perf_counter() - t_start
    return _summary(params, sim, stats, elapsed, path, status)


def _write_parameters(parent: h5py.Group, c: ChainParameters, write_values: Any) -> None:
    units = {"k": "N/m", "f0": "Hz", "Q": "", "temperature": "K", "dt": "s", "amplitude": "m",
             "drive_amplitude": "N", "drive_frequency": "Hz", "drive_phase": "rad",
             "spin_time": "s", "modulation_frequency": "Hz", "power": "W", "wavelength": "m",
             "detector_bandwidth": "Hz", "gain": "V/W", "heating": "K/W", "adc_range": "V",
             "lockin_frequency": "Hz", "lockin_time_constant": "s", "lockin_phase": "rad",
             "lockin_sensitivity": "V", "pll_bandwidth": "Hz", "pll_detector_cutoff": "Hz",
             "lockin_slope": "dB/octave", "visibility": "", "efficiency": "", "seed": "",
             "agc_gain": "", "cai_loss": "", "adc_bits": "", "spin_value": "",
             "phase_error": "rad", "modulation_phase": "rad"}
    values = {}
    for f in dataclasses.fields(c):
        value = getattr(c, f.name)
        if f.name == "extra" or value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float) and math.isinf(value):
            value = np.inf
        values[f.name] = (value, units.get(f.name, ""))
    values["reference_frequency"] = (c.reference_frequency, "Hz")
    values["effective_temperature"] = (c.effective_temperature, "K")
    write_values(parent, values)


def _summary(c: ChainParameters, sim: ChainSimulator, stats: _Stats, elapsed: float,
             path: Any, status: str) -> dict[str, Any]:
    n = max(stats.n, 1)
    return {
        "samples_written": stats.n,
        "sample_rate_Hz": 1.0 / c.dt,
        "duration_s": stats.n * c.dt,
        "mode": c.mode,
        "spin_model": c.spin_model,
        "displacement_rms_m": math.sqrt(stats.sum_x2 / n),
        "thermal_rms_m": c.thermal_rms,
        "frequency_shift_mean_Hz": stats.sum_df / n if c.mode == "self-oscillating" else None,
        "lockin_x_V": stats.last.get("lockin_x"),
        "lockin_y_V": stats.last.get("lockin_y"),
        "volts_per_metre": c.volts_per_metre,
        "adc_clipped": sim.adc_clipped,
        "lockin_overloads": sim.lockin_overloads,
        "elapsed_s": elapsed,
        "samples_per_s": stats.n / elapsed if elapsed > 0 else None,
        "output": str(path),
        "status": status,
    }


def read_timeseries(path: str | Path, *, start: int = 0, count: int | None = None
                    ) -> dict[str, Any]:
    """Read a time-series file back: channels (within [start, start+count)) and attributes."""
    from mrfm.data.nexus import open_mrfm_file, units_of

    with open_mrfm_file(path, kinds=("timeseries",)) as fh:
        data = fh["entry/data"]
        written = int(fh["entry/samples_written"][()])
        stop = written if count is None else min(written, start + count)
        channels = {name: np.asarray(data[name][start:stop]) for name in data
                    if isinstance(data[name], h5py.Dataset) and name != "time"}
        units = {name: units_of(data[name]) for name in channels}
        params = {name: ds[()] for name, ds in fh["entry/instrument/timeseries"].items()}
        status = fh["entry/status"][()].decode().strip()
        return {"channels": channels, "units": units,
                "sample_rate": float(data.attrs["sample_rate"]), "samples_written": written,
                "parameters": params, "status": status}
