"""Figures of merit of an experiment: noise floor, tip gradient, spin polarization.

Used by ``mrfm info`` and ``mrfm demo``. All values SI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mrfm.config import Experiment, Magnet

#: Gradient of a clinical MRI scanner's imaging gradient coils, T/m (API.md: 40 mT/m).
CLINICAL_GRADIENT = 0.04


@dataclass(frozen=True)
class SpeciesInfo:
    """Thermal polarization of one spin species at the stage temperature and B0."""

    name: str
    gamma: float  # rad/(s T)
    larmor_frequency: float  # Hz at B0
    polarization: float  # <I_z>/I
    spins: float  # number of spins in the sample (voxel densities plus point spins)


@dataclass(frozen=True)
class ExperimentSummary:
    """What ``mrfm info`` reports (API.md keys in :meth:`as_json`)."""

    name: str
    protocol: str
    force_noise_psd: float  # N^2/Hz, one-sided
    force_noise: float  # N/sqrt(Hz)
    thermal_rms: float  # m
    ringdown_time: float  # s
    tip_gradient_max: float  # T/m, largest |dBz/dx| in the sample plane at the smallest height
    tip_field_max: float  # T, largest |B_tip| in the same plane
    min_height: float  # m
    species: tuple[SpeciesInfo, ...]
    effective_q: float  # Q with gas damping, 1/Q = 1/Q_intrinsic + 1/Q_gas

    @property
    def gradient_vs_clinical(self) -> float:
        """Tip gradient divided by a clinical scanner's 0.04 T/m."""
        return self.tip_gradient_max / CLINICAL_GRADIENT

    def as_json(self) -> dict[str, object]:
        """The JSON object printed by ``mrfm info --json`` (SI values)."""
        return {
            "name": self.name,
            "protocol": self.protocol,
            "force_noise_psd_N2_per_Hz": self.force_noise_psd,
            "force_noise_N_per_rtHz": self.force_noise,
            "thermal_rms_m": self.thermal_rms,
            "ringdown_time_s": self.ringdown_time,
            "tip_gradient_max_T_per_m": self.tip_gradient_max,
            "gradient_vs_clinical": self.gradient_vs_clinical,
            "tip_field_max_T": self.tip_field_max,
            "min_height_m": self.min_height,
            "effective_q": self.effective_q,
            "species": [
                {
                    "name": s.name,
                    "gamma_rad_per_s_T": s.gamma,
                    "larmor_frequency_Hz": s.larmor_frequency,
                    "polarization": s.polarization,
                    "spins": s.spins,
                }
                for s in self.species
            ],
        }


def gradient_plane(
    magnet: Magnet, height: float, half_width: float, n: int = 201
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dBz/dx on the surface plane z = 0 with the magnet's lowest point ``height`` above it.

    Returns (x (n,), y (n,), dBz_dx (n, n) in T/m indexed [ix, iy], |B_tip| (n, n) in T).
    """
    x = np.linspace(-half_width, half_width, n)
    gx, gy = np.meshgrid(x, x, indexing="ij")
    centre_z = height + magnet.half_height
    rel = np.stack([gx, gy, np.full_like(gx, -centre_z)], axis=-1)
    grad = magnet.gradient(rel)
    field = magnet.field(rel)
    return x, x, grad[..., 2, 0], np.linalg.norm(field, axis=-1)


def summarize(exp: Experiment) -> ExperimentSummary:
    """Compute the :class:`ExperimentSummary` of an Experiment."""
    from mrfm.physics import SpinSpecies

    cant = exp.cantilever
    h = float(np.min(exp.scan.height))
    size = max(float(np.max(exp.magnet.params)), h)
    # The extreme of dBz/dx of a magnet lies within a few (size + h) of its axis.
    _, _, dbz_dx, bmag = gradient_plane(exp.magnet, h, 3.0 * (size + h), n=401)
    species = []
    names = list(dict.fromkeys(list(exp.sample.densities) + list(exp.sample.points)))
    for name in names:
        sp = SpinSpecies.from_name(name)
        species.append(
            SpeciesInfo(
                name=sp.name,
                gamma=sp.gamma,
                larmor_frequency=abs(sp.gamma) * abs(exp.B0) / (2 * np.pi),
                polarization=float(sp.polarization(abs(exp.B0), cant.T)),
                spins=float(exp.sample.spin_count(name)),
            )
        )
    q_eff = float(exp.stage.effective_q(cant))
    return ExperimentSummary(
        name=exp.name,
        protocol=exp.protocol.name,
        force_noise_psd=cant.force_noise_psd(),
        force_noise=cant.force_noise(1.0),
        thermal_rms=cant.thermal_rms(),
        ringdown_time=2 * cant.Q / cant.omega0,
        tip_gradient_max=float(np.max(np.abs(dbz_dx))),
        tip_field_max=float(np.max(bmag)),
        min_height=h,
        species=tuple(species),
        effective_q=q_eff,
    )
