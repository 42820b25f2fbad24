"""Checks of the ``[timeseries]`` settings against the cantilever they will simulate.

The settings themselves are declared with the experiment schema in
:mod:`mrfm.config.timeseries` (re-exported here); :func:`check_against` refuses
settings that cannot work for a given cantilever (under-sampling, Nyquist limits,
filter settings).
"""

from __future__ import annotations

from mrfm.config.timeseries import (
    CHANNELS,
    MIN_SAMPLES_PER_PERIOD,
    MODES,
    ADCSettings,
    DriveSettings,
    InterferometerSettings,
    LockinSettings,
    PLLSettings,
    TimeseriesSettings,
)
from mrfm.errors import ConfigError


def check_against(settings: TimeseriesSettings, *, f0: float, Q: float,
                  path: str = "timeseries") -> None:
    """Refuse settings that cannot work for this cantilever (ConfigError naming the field).

    - a time step larger than T0/3 under-samples the cantilever (the message gives the
      largest allowed step);
    - lock-in reference / drive / PLL filters above the Nyquist frequency, a lock-in time
      constant shorter than the step, a PLL bandwidth above a quarter of its detector cutoff.
    """
    from mrfm.errors import UserError
    from mrfm.timedomain import lockin, pll
    from mrfm.timedomain.oscillator import check_quality_factor

    dt = settings.time_step(f0)
    largest = 1.0 / (MIN_SAMPLES_PER_PERIOD * f0)
    if dt > largest * (1 + 1e-12):
        key = "dt" if settings.dt is not None else "sample_rate"
        raise ConfigError(
            f"{path}.{key}: a step of {dt:.4g} s under-samples the cantilever (f0 = {f0:g} Hz); "
            f"the largest allowed step is T0/{MIN_SAMPLES_PER_PERIOD} = {largest:.4g} s "
            f"(sample rate >= {1 / largest:.6g} Hz)"
        )
    nyquist = 0.5 / dt
    try:
        check_quality_factor(Q)
        if settings.drive.frequency is not None and settings.drive.frequency >= nyquist:
            raise UserError(f"drive.frequency {settings.drive.frequency:g} Hz is above the "
                            f"Nyquist frequency {nyquist:g} Hz")
        lk = settings.lockin
        lockin.check_settings(dt=dt, frequency=lk.frequency or f0,
                              time_constant=lk.time_constant, slope_db=lk.slope)
        if settings.mode == "self-oscillating":
            p = settings.pll
            pll.check_settings(dt=dt, bandwidth=p.bandwidth,
                               detector_cutoff=p.detector_cutoff or 10 * p.bandwidth)
        bw = settings.interferometer.bandwidth
        if bw is not None and bw < f0:
            raise UserError(f"interferometer.bandwidth {bw:g} Hz is below f0 = {f0:g} Hz; "
                            "the photodiode would not see the cantilever")
    except ConfigError:
        raise
    except UserError as exc:
        raise ConfigError(f"{path}: {exc}") from None


__all__ = [
    "ADCSettings", "CHANNELS", "DriveSettings", "InterferometerSettings", "LockinSettings",
    "MIN_SAMPLES_PER_PERIOD", "MODES", "PLLSettings", "TimeseriesSettings", "check_against",
]
