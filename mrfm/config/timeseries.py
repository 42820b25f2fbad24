"""The ``[timeseries]`` section of the experiment file (read by :mod:`mrfm.timedomain`).

Frozen dataclasses whose fields carry :func:`mrfm.config.schema.spec` metadata,
so :func:`mrfm.config.schema.parse_section` validates them (units, ranges,
unknown keys). Nested tables (``drive``, ``lockin``, ``interferometer``,
``adc``, ``pll``) are parsed by :meth:`TimeseriesSettings.from_config`.
Checks that need the cantilever (under-sampling, Nyquist limits, filter
settings) are in :func:`mrfm.timedomain.settings.check_against`. Example::

    [timeseries]
    sample_rate = "200 kHz"
    duration = "10 s"
    seed = 1
    mode = "self-oscillating"
    [timeseries.lockin]
    time_constant = "30 ms"
    slope = 24
    [timeseries.interferometer]
    wavelength = "1550 nm"
    power = "1 uW"
    [timeseries.adc]
    bits = 16
    range = "10 V"
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mrfm.config.schema import parse_section, spec
from mrfm.config.schema import quantity as _q
from mrfm.errors import ConfigError

#: the least number of samples per cantilever period (T0/3 is the largest allowed step)
MIN_SAMPLES_PER_PERIOD = 3
CHANNELS = ("displacement", "force", "photodiode", "lockin_x", "lockin_y", "frequency_shift",
            "spin")
MODES = ("driven", "self-oscillating")


@dataclass(frozen=True)
class DriveSettings:
    """``[timeseries.drive]``: sinusoidal drive force F cos(2 pi f t + phase) (driven mode)."""

    amplitude: float = _q("force", 0.0, min=0, max=1e-3, doc="drive force amplitude")
    frequency: float | None = _q("frequency", min=0, min_exclusive=True,
                                 doc="drive frequency (default: f0)")
    phase: float = _q("angle", 0.0, doc="drive phase")


@dataclass(frozen=True)
class LockinSettings:
    """``[timeseries.lockin]``: SR830-like lock-in on the photodiode voltage."""

    frequency: float | None = _q("frequency", min=0, min_exclusive=True,
                                 doc="reference frequency (default: drive/modulation/f0)")
    time_constant: float = _q("time", 0.03, min=0, min_exclusive=True, max=3e4,
                              doc="filter time constant")
    slope: int = field(default=24, metadata=spec("int", min=6, max=24,
                                                 doc="filter slope, 6/12/18/24 dB/oct"))
    sensitivity: float = _q("voltage", 1.0, min=0, min_exclusive=True, max=1.0,
                            doc="full-scale output (overload above)")
    phase: float = _q("angle", 0.0, doc="reference phase")

    def __post_init__(self) -> None:
        if self.slope not in (6, 12, 18, 24):
            raise ValueError(f"slope = {self.slope} dB/oct is not available; use 6, 12, 18 or 24")


@dataclass(frozen=True)
class InterferometerSettings:
    """``[timeseries.interferometer]``: fibre interferometer at quadrature."""

    wavelength: float = _q("length", 1550e-9, min=1e-7, max=1e-5, doc="laser wavelength")
    power: float = _q("power", 1e-6, min=0, min_exclusive=True, max=1e-1,
                      doc="mean detected optical power P0")
    visibility: float = _q("dimensionless", 0.5, min=0, min_exclusive=True, max=1.0,
                           doc="fringe visibility V")
    phase_error: float = _q("angle", 0.0, doc="offset of the operating point from quadrature")
    efficiency: float = _q("dimensionless", 0.8, min=0, min_exclusive=True, max=1.0,
                           doc="photodiode quantum efficiency")
    bandwidth: float | None = _q("frequency", min=0, min_exclusive=True,
                                 doc="photodiode bandwidth (first order; default: unlimited)")
    gain: float = _q("dimensionless", 1e6, min=0, min_exclusive=True,
                     doc="responsivity x transimpedance, V/W")
    heating: float = _q("dimensionless", 0.0, min=0,
                        doc="laser heating of the cantilever, K/W")
    shot_noise: bool = field(default=True, metadata=spec("bool", doc="add shot noise"))


@dataclass(frozen=True)
class ADCSettings:
    """``[timeseries.adc]``: converter resolution and input range (bits = 0: ideal)."""

    bits: int = field(default=16, metadata=spec("int", min=0, max=32, doc="resolution"))
    range: float = _q("voltage", 10.0, min=0, min_exclusive=True, max=1e3,
                      doc="full scale R, input span [-R, R]")


@dataclass(frozen=True)
class PLLSettings:
    """``[timeseries.pll]``: the phase-locked loop of the self-oscillating mode."""

    bandwidth: float = _q("frequency", 10.0, min=0, min_exclusive=True, doc="loop bandwidth")
    detector_cutoff: float | None = _q("frequency", min=0, min_exclusive=True,
                                       doc="phase-detector cutoff (default 10 x bandwidth)")


@dataclass(frozen=True)
class TimeseriesSettings:
    """``[timeseries]``: what to record, how long, and the readout chain.

    Attributes
    ----------
    sample_rate, dt : float or None
        Give one (Hz or s); default 20 samples per cantilever period.
    duration : float
        Record length, s.
    seed : int
        Seed of every random stream (the record does not depend on ``chunk``).
    mode : str
        "driven" (thermal motion + drive + spin force) or "self-oscillating"
        (velocity feedback holds the peak amplitude ``cantilever.amplitude``; PLL readout).
    chunk : int
        Samples generated and written at a time (memory use ~ 100 bytes x chunk).
    channels : tuple of str
        Datasets to record, from :data:`CHANNELS` (displacement is always recorded).
    tip : (x, y, height) or None
        Tip position for the spin signal, m (default: the scan grid's centre, first height).
    spin_signal : float or None
        The spin signal in the solver's unit (CAI: N, statistical CAI: N^2, OSCAR and
        gradient protocols: Hz); default: computed with mrfm.solver at ``tip``.
    spin_correlation_time : float or None
        Correlation time of statistical polarization, s, and the lifetime of a Curie CAI
        lock where ``cai_loss`` is 0 (default
        :func:`mrfm.timedomain.spins.spin_correlation_time`: protocol.tau_m, else the
        lock's lifetime with the passage losses, else T1rho).
    cai_loss : float
        Fraction of the magnetization lost per adiabatic inversion; when given (> 0) a
        Curie CAI lock decays by it and by T1rho, instead of by the lock's lifetime.
    modulation_frequency : float or None
        CAI frequency-modulation rate, Hz (default f0).
    agc_gain : float
        Proportional gain of the amplitude loop (self-oscillating mode).
    spins : bool
        Include the spin signal (false: cantilever and readout only).
    """

    sample_rate: float | None = _q("frequency", min=0, min_exclusive=True, doc="sample rate")
    dt: float | None = _q("time", min=0, min_exclusive=True, doc="time step")
    duration: float = _q("time", 1.0, min=0, min_exclusive=True, max=1e7, doc="record length")
    seed: int = field(default=0, metadata=spec("int", min=0, max=2**63 - 1))
    mode: str = field(default="driven", metadata=spec("choice", choices=MODES))
    chunk: int = field(default=2**20, metadata=spec("int", min=1024, max=2**26,
                                                    doc="samples per chunk"))
    channels: tuple[str, ...] = field(default=CHANNELS, metadata=spec("str_list"))
    tip: tuple[float, float, float] | None = field(
        default=None, metadata=spec("vector", dimension="length", length=3))
    spin_signal: float | None = field(default=None, metadata=spec("raw"))
    spin_correlation_time: float | None = _q("time", min=0, min_exclusive=True)
    cai_loss: float = _q("dimensionless", 0.0, min=0, max=0.99)
    modulation_frequency: float | None = _q("frequency", min=0, min_exclusive=True)
    agc_gain: float = _q("dimensionless", 10.0, min=0, min_exclusive=True, max=1e4)
    spins: bool = field(default=True, metadata=spec("bool"))
    drive: DriveSettings = field(default_factory=DriveSettings)
    lockin: LockinSettings = field(default_factory=LockinSettings)
    interferometer: InterferometerSettings = field(default_factory=InterferometerSettings)
    adc: ADCSettings = field(default_factory=ADCSettings)
    pll: PLLSettings = field(default_factory=PLLSettings)

    def __post_init__(self) -> None:
        if self.sample_rate is not None and self.dt is not None:
            raise ValueError("give sample_rate or dt, not both")
        for name in self.channels:
            if name not in CHANNELS:
                raise ValueError(
                    f"channels: unknown channel {name!r}; known: {', '.join(CHANNELS)}")
        if self.spin_signal is not None and (
            isinstance(self.spin_signal, bool) or not isinstance(self.spin_signal, (int, float))
            or not math.isfinite(self.spin_signal)
        ):
            raise ValueError(f"spin_signal = {self.spin_signal!r} must be a finite number (SI)")

    @classmethod
    def from_config(cls, table: object, path: str = "timeseries") -> TimeseriesSettings:
        """Validate the ``[timeseries]`` table (with its nested tables) into settings."""
        if table is None:
            table = {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: expected a table of settings, got {table!r}")
        nested = ("drive", "lockin", "interferometer", "adc", "pll")
        flat = {k: v for k, v in table.items() if k not in nested}
        base = parse_section(cls, flat, path)
        return replace(
            base,
            spin_signal=None if base.spin_signal is None else float(base.spin_signal),
            drive=parse_section(DriveSettings, table.get("drive"), f"{path}.drive"),
            lockin=parse_section(LockinSettings, table.get("lockin"), f"{path}.lockin"),
            interferometer=parse_section(InterferometerSettings, table.get("interferometer"),
                                         f"{path}.interferometer"),
            adc=parse_section(ADCSettings, table.get("adc"), f"{path}.adc"),
            pll=parse_section(PLLSettings, table.get("pll"), f"{path}.pll"),
        )

    def time_step(self, f0: float) -> float:
        """The sample interval, s (default T0/20)."""
        if self.dt is not None:
            return self.dt
        if self.sample_rate is not None:
            return 1.0 / self.sample_rate
        return 1.0 / (20.0 * f0)

    def sample_count(self, f0: float) -> int:
        """Number of samples in ``duration``."""
        return max(1, int(round(self.duration / self.time_step(f0))))


__all__ = [
    "ADCSettings", "CHANNELS", "DriveSettings", "InterferometerSettings", "LockinSettings",
    "MIN_SAMPLES_PER_PERIOD", "MODES", "PLLSettings", "TimeseriesSettings",
]
