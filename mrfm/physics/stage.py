"""The cryostat stage: temperature, vacuum (gas damping), piezo scan range and drift.

Small, documented models; each states where it comes from and what is assumed.

Gas damping (free-molecular regime, mean free path >> cantilever width)
    A plate of thickness h and density rho oscillating at f0 in a gas of molar mass M at
    pressure P and temperature T_gas has (Christian, Vacuum 16, 175 (1966), in the form
    given by Bianco et al., J. Vac. Sci. Technol. B 24, 1803 (2006))

        Q_gas = (pi/2)^(3/2) rho h f0 sqrt(R T_gas / M) / P,

    i.e. 1/Q_gas grows linearly with pressure. Per unit area both faces together give the
    drag coefficient 4 P sqrt(2 M / (pi R T)) (momentum transfer of specularly reflected
    Maxwellian molecules); Q_gas = rho h omega0 / that coefficient. Blom et al.,
    J. Vac. Sci. Technol. B 10, 19 (1992) use the same pressure scaling with a different
    geometric prefactor. The effective quality factor is 1/Q = 1/Q_intrinsic + 1/Q_gas.
    Defaults: single-crystal silicon (rho = 2329 kg/m^3), 100 nm thick (the IBM
    ultrasoft cantilevers, Rugar et al., Nature 430, 329 (2004)), helium exchange gas
    (M = 4.0026 g/mol) at the stage temperature.

Piezo scan range
    The piezoelectric coefficient of PZT falls on cooling: at cryogenic temperatures it is
    about 20-30 % of its room-temperature value (Physik Instrumente, "Piezo tutorial:
    temperature effects"), 1/5 to 1/6 for the tube scanners of low-temperature SPMs. The
    model scales the 300 K range by a fraction that is 1 at T >= 300 K, ``piezo_fraction_4K``
    (default 0.2, a factor 5) at T <= 4.2 K and linear in T in between (an interpolation,
    not a measured curve).

Thermal drift
    drift = L alpha(T) |dT/dt| + residual: thermal expansion of a tip-sample mechanical
    loop of length L (default 1 cm) under the stage's temperature fluctuation rate, plus a
    residual creep rate. alpha(T) = alpha_300 g(T)/g(300 K) with
    g(T) = t^3 / (1 + t^3), t = T / T_knee: the Debye/Grueneisen T^3 law at low T
    (alpha proportional to the lattice heat capacity) and a plateau near room temperature;
    defaults for titanium (alpha_300 = 8.6e-6 /K, T_knee = 84 K ~ Theta_D / 5). The
    residual (default 1 nm/h) and the temperature fluctuation rate (default 10 mK/h) are
    assumptions typical of a thermalized low-temperature microscope, not measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from scipy import constants

from mrfm.physics._checks import positive
from mrfm.physics.cantilever import Cantilever

_HOUR = 3600.0
#: the temperatures between which a piezo's range is interpolated, K (liquid helium, room)
PIEZO_LOW_TEMPERATURE = 4.2
PIEZO_ROOM_TEMPERATURE = 300.0


def piezo_fraction_at(temperature: float, fraction_4K: float) -> float:
    """A piezo's range (its displacement per volt) at ``temperature`` (K) relative to its
    300 K value: ``fraction_4K`` at 4.2 K and below, 1 at 300 K and above, linear between
    (the piezoelectric coefficients of PZT fall to a fifth to a third on cooling; the
    stage's ``piezo_fraction_4K`` or a virtual rig's ``low_temperature_fraction``)."""
    lo, hi = PIEZO_LOW_TEMPERATURE, PIEZO_ROOM_TEMPERATURE
    if temperature >= hi:
        return 1.0
    if temperature <= lo:
        return fraction_4K
    return fraction_4K + (1.0 - fraction_4K) * (temperature - lo) / (hi - lo)


@dataclass(frozen=True)
class Stage:
    """Cryostat stage: temperature, vacuum, piezo scanners, drift.

    Parameters
    ----------
    temperature : float
        Stage (and cantilever) temperature, K (> 0).
    pressure : float
        Residual gas pressure, Pa (>= 0; 0 means no gas damping).
    piezo_range_300K : float
        Full scan range of the fine piezo scanner at 300 K, m (> 0).
    piezo_fraction_4K : float
        Range at <= 4.2 K as a fraction of the 300 K range (0 < f <= 1).
    cantilever_thickness : float
        m, for gas damping (default 100 nm).
    cantilever_density : float
        kg/m^3, for gas damping (default single-crystal Si, 2329).
    cantilever_f0 : float
        Hz; used by :meth:`effective_q` when no frequency is given.
    gas_molar_mass : float
        kg/mol (default helium, 4.002602e-3).
    gas_temperature : float or None
        K; None means the stage temperature.
    loop_length : float
        Length of the tip-sample mechanical loop, m (default 1 cm).
    expansion_300K : float
        Linear thermal expansion coefficient of the loop at 300 K, 1/K (titanium 8.6e-6).
    expansion_knee : float
        Temperature scale T_knee of alpha(T), K.
    temperature_rate : float
        Typical |dT/dt| of the stage, K/s (default 10 mK/h).
    residual_drift : float
        Drift not caused by temperature changes (creep), m/s (default 1 nm/h).
    """

    temperature: float
    pressure: float = 1e-5
    piezo_range_300K: float = 30e-6
    piezo_fraction_4K: float = 0.2
    cantilever_thickness: float = 100e-9
    cantilever_density: float = 2329.0
    cantilever_f0: float = 5.0e3
    gas_molar_mass: float = 4.002602e-3
    gas_temperature: float | None = None
    loop_length: float = 1e-2
    expansion_300K: float = 8.6e-6
    expansion_knee: float = 84.0
    temperature_rate: float = 0.01 / _HOUR
    residual_drift: float = 1e-9 / _HOUR

    def __post_init__(self) -> None:
        nonneg = {"pressure", "temperature_rate", "residual_drift", "expansion_300K"}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "gas_temperature":
                continue
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"Stage.{f.name}: expected a number, got {value!r}") from None
            if not math.isfinite(x) or x < 0.0 or (x == 0.0 and f.name not in nonneg):
                need = ">= 0" if f.name in nonneg else "> 0"
                raise ValueError(f"Stage.{f.name}: value {value!r} must be finite and {need}")
            object.__setattr__(self, f.name, x)
        if self.piezo_fraction_4K > 1.0:
            raise ValueError(
                f"Stage.piezo_fraction_4K: value {self.piezo_fraction_4K!r} must be <= 1"
            )

    # ---------------------------------------------------------------- gas damping
    def gas_q(self, f0: float | None = None) -> float:
        """Gas-damping quality factor in the free-molecular regime (inf at zero pressure).

        Parameters
        ----------
        f0 : float, optional
            Cantilever frequency, Hz; default ``cantilever_f0``.
        """
        f = self.cantilever_f0 if f0 is None else positive(f0, "f0")
        if self.pressure == 0.0:
            return math.inf
        t_gas = self.temperature if self.gas_temperature is None else self.gas_temperature
        v = math.sqrt(constants.R * t_gas / self.gas_molar_mass)
        return ((math.pi / 2.0) ** 1.5 * self.cantilever_density * self.cantilever_thickness
                * f * v / self.pressure)

    def effective_q(self, q_intrinsic: float | Cantilever, f0: float | None = None) -> float:
        """Quality factor with gas damping: 1/Q = 1/Q_intrinsic + 1/Q_gas.

        Parameters
        ----------
        q_intrinsic : float or Cantilever
            Intrinsic Q (> 0), or a Cantilever (its intrinsic Q and f0 are used; a
            Cantilever with a damping budget also has the total, ``Q_total``).
        f0 : float, optional
            Cantilever frequency, Hz (default: the Cantilever's, else ``cantilever_f0``).
        """
        if isinstance(q_intrinsic, Cantilever):
            if f0 is None:
                f0 = q_intrinsic.f0
            q_intrinsic = q_intrinsic.Q
        qi = positive(q_intrinsic, "q_intrinsic")
        return 1.0 / (1.0 / qi + 1.0 / self.gas_q(f0))

    # ---------------------------------------------------------------- piezo range
    def piezo_fraction(self, temperature: float | None = None) -> float:
        """Piezo range at ``temperature`` (default: the stage's) relative to 300 K."""
        t = self.temperature if temperature is None else positive(temperature, "temperature")
        return piezo_fraction_at(t, self.piezo_fraction_4K)

    def piezo_range(self, range_300K: float | None = None) -> float:
        """Scan range at the stage temperature, m, from the 300 K range (default the stage's)."""
        r = self.piezo_range_300K if range_300K is None else positive(range_300K, "range_300K")
        return r * self.piezo_fraction()

    # ---------------------------------------------------------------- drift
    def thermal_expansion(self, temperature: float | None = None) -> float:
        """Linear thermal expansion coefficient alpha(T) of the mechanical loop, 1/K."""
        t = self.temperature if temperature is None else positive(temperature, "temperature")
        return self.expansion_300K * self._expansion_shape(t) / self._expansion_shape(300.0)

    def _expansion_shape(self, temperature: float) -> float:
        """g(T) = t^3 / (1 + t^3), t = T / T_knee: alpha(T) / alpha_300 up to g(300 K)."""
        u = (temperature / self.expansion_knee) ** 3
        return u / (1.0 + u)

    def thermal_strain(self, t_from: float, t_to: float) -> float:
        """Strain of the mechanical loop between two temperatures, int alpha(T) dT
        (dimensionless; negative on cooling).

        With t = T / T_knee, int g dT = T_knee (t - I(t)), I(t) = int_0^t du / (1 + u^3) =
        ln(1 + t)/3 - ln(1 - t + t^2)/6 + (arctan((2t - 1)/sqrt 3) + pi/6)/sqrt 3
        (partial fractions); for t < 0.25 the series sum_k (-1)^k t^(3k+4) / (3k+4),
        k <= 12, avoids the cancellation of t - I(t) (tested against quadrature)."""
        a = positive(t_from, "t_from", "K")
        b = positive(t_to, "t_to", "K")
        knee = self.expansion_knee
        g300 = self._expansion_shape(300.0)

        def antiderivative(temperature: float) -> float:
            t = temperature / knee
            if t < 0.25:
                t3 = t**3
                acc = 0.0
                for k in range(12, -1, -1):  # smallest terms first
                    acc = acc * -t3 + 1.0 / (3 * k + 4)
                return knee * t * t3 * acc
            s3 = math.sqrt(3.0)
            i = (math.log1p(t) / 3.0 - math.log(1.0 - t + t * t) / 6.0
                 + (math.atan((2.0 * t - 1.0) / s3) + math.pi / 6.0) / s3)
            return knee * (t - i)

        return self.expansion_300K / g300 * (antiderivative(b) - antiderivative(a))

    @property
    def drift_rate(self) -> float:
        """Tip-sample drift speed, m/s: L alpha(T) |dT/dt| + residual."""
        return (self.loop_length * self.thermal_expansion() * self.temperature_rate
                + self.residual_drift)
