"""The parsed form of a rig file: its instruments, safety limits, virtual-rig physics and
injected faults, as typed frozen dataclasses (SI units). :mod:`mrfm.rigdef.rigfile` reads
the TOML into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mrfm.errors import ConfigError

FAULT_MODES = ("timeout", "drop", "garbage", "stuck")


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument of a rig.

    Attributes
    ----------
    name : str
        The rig's name for it (``"lockin"``).
    driver : str
        ``maker.model`` (a key of :data:`mrfm.rigdef.registry.REGISTRY`).
    resource : str or None
        VISA resource string of a real rig; None for a virtual instrument until served.
    port : int
        Virtual rig: TCP port on 127.0.0.1 (0 lets the OS choose a free one).
    read_termination, write_termination : str or None
        Terminations as the *client* sets them; None means the model's default.
    options : dict
        Further keys, those the model's registry entry allows
        (:meth:`mrfm.rigdef.registry.DriverEntry.allowed_options`: ``timeout``, the
        ``password`` of an ANC300, the lock-in's ``time_constant``, ...).
    """

    name: str
    driver: str
    resource: str | None = None
    port: int = 0
    read_termination: str | None = None
    write_termination: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultSpec:
    """A fault injected into one virtual instrument.

    ``mode``: ``timeout`` (stop answering), ``drop`` (close the connection),
    ``garbage`` (answer junk), ``stuck`` (readings frozen). The fault fires on
    a command once ``after`` commands have been handled, with ``probability``
    per command; ``timeout`` and ``stuck`` stay on once fired (until cleared),
    ``drop`` and ``garbage`` act on the command that fired them.
    """

    mode: str
    after: int = 0
    probability: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ConfigError(f"faults: mode {self.mode!r} not one of {', '.join(FAULT_MODES)}")
        if self.after < 0:
            raise ConfigError(f"faults: after = {self.after} must be >= 0")
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"faults: probability = {self.probability} must be in [0, 1]")


@dataclass(frozen=True)
class RigLimits:
    """Safety limits a lab sets (SI: m, K, s, dBm, T, T/s, V), the ``[limits]`` table.

    The one definition of the limits: :class:`mrfm.scan.safety.SafetyLimits` is this
    class with the scan's checks added (see :meth:`safety_kwargs`).
    ``x_range``/``y_range`` are the tip positions reachable by the fine scanner at
    the stage temperature; ``height_range`` the allowed tip–surface gaps.
    ``piezo_voltage`` is a table of (temperature K, maximum piezo voltage V),
    interpolated linearly in temperature and held constant outside it.
    """

    x_range: tuple[float, float] = (-5e-6, 5e-6)
    y_range: tuple[float, float] = (-5e-6, 5e-6)
    height_range: tuple[float, float] = (1e-9, 20e-6)
    max_temperature: float = 10.0
    temperature_wait: float = 600.0
    max_rf_power_dbm: float = 10.0
    max_field: float = 9.0
    max_field_rate: float = 0.01
    piezo_voltage: tuple[tuple[float, float], ...] = ((4.0, 250.0), (300.0, 120.0))

    def piezo_voltage_limit(self, temperature: float) -> float:
        """Largest piezo drive voltage allowed at ``temperature`` (K), V."""
        table = sorted(self.piezo_voltage)
        if temperature <= table[0][0]:
            return table[0][1]
        for (t0, v0), (t1, v1) in zip(table, table[1:], strict=False):
            if temperature <= t1:
                return v0 + (v1 - v0) * (temperature - t0) / (t1 - t0)
        return table[-1][1]

    def safety_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`mrfm.scan.safety.SafetyLimits` (every field)."""
        return {f.name: getattr(self, f.name) for f in fields(RigLimits)}


@dataclass(frozen=True)
class VirtualSettings:
    """Physics parameters of the virtual rig (SI), the ``[virtual]`` table.

    Attributes
    ----------
    base_temperature : float or None
        Cryostat base temperature, K (None: the experiment's stage temperature, else 4.2 K).
    thermal_time_constant : float
        First-order time constant of the stage temperature, s.
    heater_max_temperature : tuple of 3 floats
        Highest stage temperature reachable on heater range low/medium/high, K.
    fine_range_300K : tuple of 3 floats
        Fine-piezo travel of the x, y, z axes at 300 K, m.
    low_temperature_fraction : float
        Piezo gain at 4.2 K and below relative to 300 K (ranges "shrink several-fold"),
        linear in between (:func:`mrfm.physics.stage.piezo_fraction_at`).
    hysteresis : float
        Fraction of the piezo response that goes through the play (backlash) operator.
    play_width : float
        Half-width of the play operator, as a fraction of the voltage span.
    creep : float
        Logarithmic creep per decade of time, as a fraction of the last step.
    creep_time : float
        Creep time constant tau_c, s.
    servo_time : float
        Closed-loop settling time constant, s.
    sensor_noise : float
        Capacitive position-sensor noise (r.m.s.), m.
    coarse_step_per_volt : float
        ANC300 step size per volt of step amplitude at 300 K, m/V.
    coarse_range : float
        Coarse travel from the start position in each direction, m.
    volts_per_meter : float
        Displacement detector plus preamplifier transduction into the lock-in, V/m.
    volts_per_hertz : float
        PLL output transduction (frequency-shift protocols), V/Hz.
    detector_noise : float
        Displacement noise floor of the detector, m/sqrt(Hz).
    feedback_Q : float or None
        Closed-loop quality factor under velocity feedback ("cold damping": the response
        and ring time 2Q/omega0 use it, the thermal force noise stays that of the
        cantilever's own damping; Bruland et al., J. Appl. Phys. 83, 3972 (1998);
        Poggio et al., PRL 99, 017201 (2007)); None: no feedback.
    coil_constant : float
        Magnet coil constant, T/A.
    initial_field : float or None
        Field at start, T (None: the experiment's B0, persistent; else 0).
    initial_height : float
        Fine z position (tip-surface gap with the coarse z at its start) at power-on, m.
    seed : int or None
        Seed of the noise generators (None: fresh entropy).
    drift : bool
        Tip-sample drift from the experiment's stage law (thermal expansion of the loop
        as the cryostat's temperature changes, residual creep); default False (opt in:
        at a rig's time scale the creep soon dominates the scan, and readings off the
        signal map's nodes need the one-point solver).
    spin_noise : bool
        Under a Curie CAI signal, add the spins' statistical fluctuation (the force
        variance of the experiment under statistical polarization, correlated over the
        lock's lifetime) to the lock-in's input, as datasets do; default True.
    """

    base_temperature: float | None = None
    thermal_time_constant: float = 20.0
    heater_max_temperature: tuple[float, float, float] = (10.0, 50.0, 320.0)
    fine_range_300K: tuple[float, float, float] = (50e-6, 50e-6, 10e-6)
    low_temperature_fraction: float = 0.2
    hysteresis: float = 0.15
    play_width: float = 0.05
    creep: float = 0.02
    creep_time: float = 0.1
    servo_time: float = 2e-3
    sensor_noise: float = 0.05e-9
    coarse_step_per_volt: float = 1.5e-9
    coarse_range: float = 2.5e-3
    volts_per_meter: float = 1.0e7
    volts_per_hertz: float = 1.0e-3
    detector_noise: float = 1.0e-13
    feedback_Q: float | None = None  # noqa: N815 - the physics symbol
    coil_constant: float = 0.1
    initial_field: float | None = None
    initial_height: float = 1e-6
    seed: int | None = None
    drift: bool = False
    spin_noise: bool = True


@dataclass(frozen=True)
class RigFile:
    """A parsed rig file."""

    name: str
    path: Path | None
    instruments: tuple[InstrumentSpec, ...]
    limits: RigLimits
    experiment: Path | None
    faults: Mapping[str, tuple[FaultSpec, ...]]
    time_scale: float
    virtual: VirtualSettings
    source_text: str

    def instrument(self, name: str) -> InstrumentSpec:
        """The instrument called ``name`` (KeyError if absent)."""
        for spec in self.instruments:
            if spec.name == name:
                return spec
        raise KeyError(name)
