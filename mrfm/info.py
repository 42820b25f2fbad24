"""Figures of merit of an experiment: noise floor, damping, tip gradient, spin polarization
and the spin dynamics of the protocol (adiabaticity over the resonant slice).

Used by ``mrfm info``, ``mrfm simulate`` (the adiabaticity warning) and ``mrfm demo``.
All values SI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mrfm.config import Experiment, Magnet

#: Gradient of a clinical MRI scanner's imaging gradient coils, T/m (API.md: 40 mT/m).
CLINICAL_GRADIENT = 0.04
#: Field evaluations allowed for the slice's adiabaticity (keeps ``mrfm info`` ~0.1 s).
SLICE_EVALUATIONS = 400_000
#: Protocols whose sweep is the cantilever motion (depth |d|B|/dx| x_pk at f0).
_MOTION_SWEPT = ("OSCAR", "iOSCAR", "CERMIT")


@dataclass(frozen=True)
class SpeciesInfo:
    """Thermal polarization of one spin species at the stage temperature and B0."""

    name: str
    gamma: float  # rad/(s T)
    larmor_frequency: float  # Hz at B0
    polarization: float  # <I_z>/I
    spins: float  # number of spins in the sample (voxel densities plus point spins)
    larmor_frequency_slice: float | None = None  # Hz at the resonant field (= rf frequency)
    polarization_slice: float | None = None  # <I_z>/I at the resonant field


@dataclass(frozen=True)
class SliceDynamics:
    """Adiabaticity of the protocol's sweep over the spins in the resonant slice.

    ``adiabaticity`` is the smallest A = |gamma| B1_eff^2 / |dB_offset/dt| over the spins
    in the slice at the evaluated tip positions (:mod:`mrfm.physics.spin_dynamics`);
    ``inversion_efficiency`` = 1 - exp(-pi A / 2) there. None when no spin is in a slice.
    """

    adiabaticity: float | None
    inversion_efficiency: float | None
    b1_eff: float | None  # T, at the worst spin
    spins_evaluated: int  # spins (voxels and point spins) in a slice at the tips evaluated
    tips_evaluated: int


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
    q_total: float  # 1/Q_total = sum of 1/Q_i over every loss channel
    q_parts: dict[str, float]  # Q_intrinsic, Q_gas (inf: no gas), Q_noncontact, Q_tip if set
    slice_dynamics: SliceDynamics | None  # None for force-gradient (no RF)

    @property
    def gradient_vs_clinical(self) -> float:
        """Tip gradient divided by a clinical scanner's 0.04 T/m."""
        return self.tip_gradient_max / CLINICAL_GRADIENT

    def as_json(self) -> dict[str, object]:
        """The JSON object printed by ``mrfm info --json`` (SI values)."""
        sd = self.slice_dynamics
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
            "Q_total": self.q_total,
            **self.q_parts,
            "adiabaticity": None if sd is None else sd.adiabaticity,
            "inversion_efficiency": None if sd is None else sd.inversion_efficiency,
            "species": [
                {
                    "name": s.name,
                    "gamma_rad_per_s_T": s.gamma,
                    "larmor_frequency_Hz": s.larmor_frequency,
                    "polarization": s.polarization,
                    "larmor_frequency_slice_Hz": s.larmor_frequency_slice,
                    "polarization_slice": s.polarization_slice,
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
    field, grad = magnet.field_and_gradient(rel + magnet.center)
    return x, x, grad[..., 2, 0], np.linalg.norm(field, axis=-1)


def _spin_positions(exp: Experiment, name: str, budget: int) -> np.ndarray:
    """Positions (n, 3) of one species' spins: occupied voxel centres (a regular subset
    when there are more than ``budget``) and the point spins."""
    parts = []
    rho = exp.sample.densities.get(name)
    if rho is not None:
        idx = np.argwhere(rho > 0)
        if len(idx) > budget:
            idx = idx[:: -(-len(idx) // budget)]
        ax = exp.sample.axes()
        parts.append(np.stack([ax[i][idx[:, i]] for i in range(3)], axis=-1))
    pts = exp.sample.points.get(name)
    if pts is not None and len(pts):
        parts.append(pts)
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def _tip_centres(exp: Experiment, n_spins: int) -> list[np.ndarray]:
    """Candidate magnet centres: the scan's centre first, then a grid within the budget."""
    x, y = exp.scan.x, exp.scan.y
    z = float(np.min(exp.scan.height)) + float(exp.magnet.half_height)
    centre = np.array([[0.5 * (x[0] + x[-1]), 0.5 * (y[0] + y[-1]), z]])
    per_axis = max(1, int(math.sqrt(SLICE_EVALUATIONS / max(n_spins, 1))))
    gx = x[:: -(-len(x) // per_axis)]
    gy = y[:: -(-len(y) // per_axis)]
    mx, my = np.meshgrid(gx, gy, indexing="ij")
    grid = np.stack([mx.ravel(), my.ravel(), np.full(mx.size, z)], axis=-1)
    return [centre, grid]


def slice_spin_dynamics(exp: Experiment) -> SliceDynamics | None:
    """Worst adiabaticity over the spins in the resonant slice (None without RF).

    For each species the resonant field is B_res = 2 pi f_rf / |gamma|; a spin at the total
    field B = B0 z + B_tip (magnet at the scan's centre and smallest height) is in the slice
    when |s| < 1, s = (|B| - B_res) / depth, with the sweep depth ``rf.fm_depth`` (CAI) or
    |d|B|/dx| x_pk (OSCAR, iOSCAR, CERMIT with an amplitude; CERMIT without one uses
    fm_depth) at the cantilever frequency. B1_eff is the part of an x-directed B1
    perpendicular to B. Under ``protocol.high_field`` |B|, its gradient and B1_eff take the
    solver's high-field forms (B0 + B_z, grad B_z and B1;
    :mod:`mrfm.physics.spin_dynamics`). When no spin is in the slice at the centre, a grid
    of tip positions
    from the scan is tried. Voxels are subsampled to about ``SLICE_EVALUATIONS`` field
    evaluations.
    """
    from mrfm.physics import SpinSpecies
    from mrfm.physics import spin_dynamics as sd
    from mrfm.physics.spins import resonance_field

    rf = exp.rf
    if exp.protocol.name == "force-gradient" or rf.frequency <= 0 or rf.B1 <= 0:
        return None
    motion = exp.protocol.name in _MOTION_SWEPT and exp.amplitude > 0
    high = bool(exp.protocol.high_field)
    f0 = exp.cantilever.f0
    b0 = np.array([0.0, 0.0, exp.B0])
    worst, worst_b1 = math.inf, math.nan
    in_slice = tips_used = 0
    names = list(dict.fromkeys(list(exp.sample.densities) + list(exp.sample.points)))
    per_species = SLICE_EVALUATIONS // max(len(names), 1)
    for name in names:
        gamma = SpinSpecies.from_name(name).gamma
        b_res = resonance_field(float(rf.frequency), gamma)
        pos = _spin_positions(exp, name, per_species)
        if len(pos) == 0:
            continue
        for centres in _tip_centres(exp, len(pos)):
            rel = (pos[None, :, :] - centres[:, None, :]).reshape(-1, 3)
            field = exp.magnet.field(rel) + b0
            bmag = sd.field_magnitude(field, high)
            if motion:
                dbdx = sd.force_per_moment(field, exp.magnet.gradient(rel), high)[:, 0]
                depth = np.abs(dbdx) * exp.amplitude
            else:
                depth = np.full(len(rel), rf.fm_depth)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (bmag - b_res) / depth
            hit = np.abs(s) < 1.0
            tips_used += len(centres)
            if not np.any(hit):
                continue
            b1e = np.atleast_1d(sd.b1_effective(rf.B1, field[hit], high_field=high))
            a = np.atleast_1d(sd.adiabaticity(gamma, b1e, sd.sweep_rate(depth[hit], f0,
                                                                          s[hit])))
            i = int(np.argmin(a))
            in_slice += int(hit.sum())
            if a[i] < worst:
                worst, worst_b1 = float(a[i]), float(b1e[i])
            break
    if not in_slice:
        return SliceDynamics(None, None, None, 0, tips_used)
    return SliceDynamics(adiabaticity=worst,
                         inversion_efficiency=float(sd.flip_probability(worst)),
                         b1_eff=worst_b1, spins_evaluated=in_slice, tips_evaluated=tips_used)


def summarize(exp: Experiment) -> ExperimentSummary:
    """Compute the :class:`ExperimentSummary` of an Experiment."""
    from mrfm.physics import SpinSpecies

    cant = exp.cantilever
    h = float(np.min(exp.scan.height))
    size = max(float(np.max(exp.magnet.params)), h)
    # The extreme of dBz/dx of a magnet lies within a few (size + h) of its axis.
    _, _, dbz_dx, bmag = gradient_plane(exp.magnet, h, 3.0 * (size + h), n=401)
    has_rf = exp.rf.frequency > 0
    species = []
    names = list(dict.fromkeys(list(exp.sample.densities) + list(exp.sample.points)))
    for name in names:
        sp = SpinSpecies.from_name(name)
        b_res = sp.resonance_field(float(exp.rf.frequency))
        species.append(
            SpeciesInfo(
                name=sp.name,
                gamma=sp.gamma,
                larmor_frequency=sp.larmor_frequency(float(exp.B0)),
                polarization=float(sp.polarization(abs(exp.B0), cant.T)),
                spins=float(exp.sample.spin_count(name)),
                larmor_frequency_slice=sp.larmor_frequency(b_res) if has_rf
                else None,
                polarization_slice=float(sp.polarization(b_res, cant.T)) if has_rf else None,
            )
        )
    q_eff = float(exp.stage.effective_q(cant))
    damping = cant.damping
    parts = {"Q_intrinsic": cant.Q, "Q_gas": exp.stage.gas_q(cant.f0)}
    if damping is not None:
        parts["Q_gas"] = damping.gas
        parts.update({k: v for k, v in damping.parts().items()
                      if k in ("Q_noncontact", "Q_tip")})
    return ExperimentSummary(
        name=exp.name,
        protocol=exp.protocol.name,
        force_noise_psd=cant.force_noise_psd(),
        force_noise=cant.force_noise(1.0),
        thermal_rms=cant.thermal_rms(),
        ringdown_time=cant.ringdown_time,
        tip_gradient_max=float(np.max(np.abs(dbz_dx))),
        tip_field_max=float(np.max(bmag)),
        min_height=h,
        species=tuple(species),
        effective_q=q_eff,
        q_total=cant.Q_total,
        q_parts=parts,
        slice_dynamics=slice_spin_dynamics(exp),
    )


def adiabaticity_warning(exp: Experiment) -> str | None:
    """One line when the worst adiabaticity in the slice is below 3 (``mrfm simulate``)."""
    from mrfm.physics.spin_dynamics import ADIABATICITY_WARNING

    sd = slice_spin_dynamics(exp)
    if sd is None or sd.adiabaticity is None or sd.adiabaticity >= ADIABATICITY_WARNING:
        return None
    note = ""
    if exp.protocol.name == "CERMIT" and exp.protocol.cermit_mode == "saturate":
        note = "; CERMIT saturate relies on non-adiabatic passages, so this may be intended"
    return (f"adiabaticity A = {sd.adiabaticity:.3g} < {ADIABATICITY_WARNING:g} in the "
            f"resonant slice: only {100 * sd.inversion_efficiency:.1f} % of the passages "
            "invert (Landau-Zener 1 - exp(-pi A/2)) and the signal assumes full inversion; "
            f"raise rf.B1 or lower the sweep rate{note}")
