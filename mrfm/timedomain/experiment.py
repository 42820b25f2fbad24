"""Assemble the time-domain chain from a validated experiment and its ``[timeseries]`` section."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mrfm.errors import ConfigError, UserError
from mrfm.timedomain.parameters import ChainParameters, check_parameters
from mrfm.timedomain.settings import TimeseriesSettings, check_against
from mrfm.timedomain.slice_waveform import cai_waveform_from_solver
from mrfm.timedomain.spins import SpinSignal, spin_correlation_time, spin_signal_from_solver
from mrfm.timedomain.waveform import MAX_HARMONIC

if TYPE_CHECKING:
    from mrfm.config import Experiment

#: (protocol, polarization) -> (spin model of the chain, unit of the spin signal)
SPIN_MODELS = {
    ("CAI", "curie"): ("cai", "N"),
    ("CAI", "statistical"): ("cai-statistical", "N^2"),
    ("OSCAR", "curie"): ("shift", "Hz"),
    ("OSCAR", "statistical"): ("shift-telegraph", "Hz"),
    ("CERMIT", "curie"): ("shift", "Hz"),
    ("CERMIT", "statistical"): ("shift", "Hz"),
    ("force-gradient", "curie"): ("shift", "Hz"),
    ("force-gradient", "statistical"): ("shift", "Hz"),
}


def default_tip(exp: Experiment) -> tuple[float, float, float]:
    """The centre of the experiment's scan grid at its first height (x, y, height), m.

    Scan grids are usually centred on the sample, so the centre sees the spins where a
    corner of the grid often does not (a record there would hold no spin signal).
    """
    scan = exp.scan
    return (float(scan.x[len(scan.x) // 2]), float(scan.y[len(scan.y) // 2]),
            float(scan.height[0]))


def spin_signal(exp: Experiment, settings: TimeseriesSettings) -> SpinSignal | None:
    """The spin signal at the tip: ``settings.spin_signal`` if given, else from the solver."""
    if not settings.spins:
        return None
    key = (exp.protocol.name, exp.protocol.polarization)
    if key not in SPIN_MODELS:
        raise ConfigError(
            f"protocol.name: {exp.protocol.name} has no time-domain model; the time series "
            "supports CAI, OSCAR, CERMIT and force-gradient (or set timeseries.spins = false)"
        )
    _, unit = SPIN_MODELS[key]
    if settings.spin_signal is not None:
        return SpinSignal(protocol=key[0], polarization=key[1], value=settings.spin_signal,
                          unit=unit)
    tip = settings.tip if settings.tip is not None else default_tip(exp)
    sig = spin_signal_from_solver(exp, tip)
    if sig.unit != unit:
        raise UserError(f"the solver gave the {key[0]} signal in {sig.unit}; expected {unit}")
    return sig


def chain_parameters(exp: Experiment, settings: TimeseriesSettings,
                     *, duration: float | None = None) -> tuple[ChainParameters, int]:
    """Build the chain for ``exp``; returns (parameters, number of samples).

    Raises ConfigError for settings that under-sample the cantilever or cannot work.
    """
    cant = exp.cantilever
    check_against(settings, f0=cant.f0, Q=cant.Q_total)
    dt = settings.time_step(cant.f0)
    total = settings.duration if duration is None else duration
    if not total > 0 or not math.isfinite(total):
        raise ConfigError(f"--duration: value {total!r} s must be a positive number of seconds")
    n = max(1, int(round(total / dt)))
    sig = spin_signal(exp, settings)
    model, value, spin_time = "none", 0.0, math.inf
    if sig is not None:
        model, _ = SPIN_MODELS[(sig.protocol, sig.polarization)]
        value = sig.value
        spin_time = exp.protocol.T1rho  # a Curie lock with a given cai_loss: T1rho besides
        if model in ("cai-statistical", "shift-telegraph") or (
                model == "cai" and settings.cai_loss == 0.0):
            # the lock's lifetime, the virtual rig's law (passage losses included): the
            # statistical signal's correlation time, and the Curie lock's decay
            f_mod = settings.modulation_frequency or cant.f0
            spin_time = (settings.spin_correlation_time
                         or spin_correlation_time(exp, cant.f0 if model == "shift-telegraph"
                                                  else f_mod))
    waveform: tuple[float, ...] = ()
    if model in ("cai", "cai-statistical") and settings.spin_signal is None:
        # the slice's real inversion waveform: its harmonics below the Nyquist frequency
        f_mod = settings.modulation_frequency or cant.f0
        n_max = min(MAX_HARMONIC, int(0.5 / (dt * f_mod)))
        tip = settings.tip if settings.tip is not None else default_tip(exp)
        waveform = cai_waveform_from_solver(exp, tip, n_max)
    if settings.mode == "self-oscillating" and not exp.amplitude > 0:
        raise ConfigError("cantilever.amplitude: the self-oscillating mode needs a peak "
                          "amplitude > 0 m (e.g. '16 nm')")
    ifm, lk, adc, pll, drv = (settings.interferometer, settings.lockin, settings.adc,
                              settings.pll, settings.drive)
    params = ChainParameters(
        k=cant.k, f0=cant.f0, Q=cant.Q_total, temperature=cant.T, dt=dt, seed=settings.seed,
        mode=settings.mode, amplitude=exp.amplitude, agc_gain=settings.agc_gain,
        drive_amplitude=drv.amplitude, drive_frequency=drv.frequency or cant.f0,
        drive_phase=drv.phase, spin_model=model, spin_value=value, spin_time=spin_time,
        cai_loss=settings.cai_loss, cai_waveform=waveform,
        modulation_frequency=settings.modulation_frequency or cant.f0,
        power=ifm.power, visibility=ifm.visibility, wavelength=ifm.wavelength,
        phase_error=ifm.phase_error, efficiency=ifm.efficiency,
        detector_bandwidth=ifm.bandwidth or math.inf, gain=ifm.gain, heating=ifm.heating,
        shot_noise=ifm.shot_noise, adc_bits=adc.bits, adc_range=adc.range,
        lockin_frequency=lk.frequency, lockin_time_constant=lk.time_constant,
        lockin_slope=lk.slope, lockin_phase=lk.phase, lockin_sensitivity=lk.sensitivity,
        pll_bandwidth=pll.bandwidth, pll_detector_cutoff=pll.detector_cutoff,
    )
    try:
        check_parameters(params)
    except ConfigError:
        raise
    except UserError as exc:
        raise ConfigError(f"timeseries: {exc}") from None
    return params, n
