"""The spin signal behind the virtual rig's lock-in: :class:`SignalModel`.

``SignalModel.signal_at(x, y, height, B0, f_rf, fm_depth)`` returns the signal
of the experiment at one tip position and one set of instrument settings:

* When :mod:`mrfm.solver` provides ``simulate`` and the rig names an
  experiment, a one-point copy of that experiment is simulated (the solver's
  protocol, unit and sample; results are cached per rounded setting).
* Otherwise the built-in model below is used. It is a complete (if simple)
  cyclic-adiabatic-inversion (CAI) model, kept as the fallback:

  - the tip is a uniformly magnetized sphere, i.e. exactly a point dipole
    ``m = J V / mu0`` outside it (or, when the experiment's magnet object is
    available, that magnet's own ``field``/``gradient``);
  - the sample is a voxel grid of spin densities (the experiment's
    :class:`~mrfm.physics.Sample` if loaded, else a uniform slab) plus point spins;
  - the spins in the resonant slice ``| |B| - 2 pi f_rf/|gamma| | < fm_depth``
    (``B = B0 z + B_tip``) are inverted once per cantilever half cycle, and the
    in-phase force amplitude along x is the exact
    ``F = sum_slice mu_par d|B|/dx`` with ``mu_par = N mu P(|B|, T)`` the Curie
    moment (Brillouin polarization ``P``); with ``polarization = "statistical"``
    the r.m.s. force ``sqrt(sum N mu^2 (d|B|/dx)^2)`` is returned instead
    (Degen et al., PRL 99, 250601 (2007)).

References: Rugar, Yannoni & Sidles, Nature 360, 563 (1992) (CAI);
Degen et al., PNAS 106, 1313 (2009) (CAI imaging, statistical polarization);
Jackson, *Classical Electrodynamics*, 3rd ed., Eq. 5.56 (dipole field).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import constants as sc

#: |gamma| (rad s^-1 T^-1) and spin I of common species; electron and proton from CODATA
#: (scipy.constants), the others from Harris et al., Pure Appl. Chem. 73, 1795 (2001).
SPECIES_TABLE: dict[str, tuple[float, float]] = {
    "electron": (sc.physical_constants["electron gyromag. ratio"][0], 0.5),
    "1H": (sc.physical_constants["proton gyromag. ratio"][0], 0.5),
    "2H": (4.1066279e7, 1.0),
    "13C": (6.728284e7, 0.5),
    "15N": (2.7126188e7, 0.5),
    "19F": (25.18148e7, 0.5),
    "29Si": (5.3190e7, 0.5),
    "31P": (10.8394e7, 0.5),
}
_ALIASES = {"e": "electron", "proton": "1H", "H": "1H"}


def brillouin(spin: float, x: np.ndarray) -> np.ndarray:
    """Brillouin function B_I(x) = <I_z>/I for x = I hbar |gamma| B / (kB T) (arrays OK)."""
    x = np.asarray(x, dtype=float)
    a = (2.0 * spin + 1.0) / (2.0 * spin)
    b = 1.0 / (2.0 * spin)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / np.tanh(a * x) - b / np.tanh(b * x)
    small = np.abs(x) < 1e-6
    return np.where(small, (spin + 1.0) / (3.0 * spin) * x, out)


def dipole_field_gradient(
    moment: float, rel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Field and gradient of a point dipole ``moment * z`` (J/T) at points ``rel`` (m).

    Parameters
    ----------
    moment : float
        Dipole moment along +z, J/T.
    rel : ndarray, shape (n, 3)
        Observation points relative to the dipole, m.

    Returns
    -------
    B : ndarray, shape (n, 3)
        Field, T: ``mu0 m / (4 pi) (3 z r / r^5 - z_hat / r^3)``.
    G : ndarray, shape (n, 3, 3)
        ``G[:, i, j] = dB_i/dx_j``, T/m (differentiated analytically).
    """
    r = np.asarray(rel, dtype=float)
    c = sc.mu_0 * moment / (4.0 * math.pi)
    r2 = np.einsum("ij,ij->i", r, r)
    rn = np.sqrt(r2)
    inv3 = 1.0 / rn**3
    inv5 = inv3 / r2
    inv7 = inv5 / r2
    z = r[:, 2]
    B = c * (3.0 * z[:, None] * r * inv5[:, None])
    B[:, 2] -= c * inv3
    eye = np.eye(3)
    ez = eye[2]
    # d/dx_j [3 z x_i / r^5 - delta_iz / r^3]
    #   = 3 (delta_jz x_i + z delta_ij) / r^5 - 15 z x_i x_j / r^7 + 3 delta_iz x_j / r^5
    G = 3.0 * (ez[None, None, :] * r[:, :, None] + z[:, None, None] * eye[None])
    G *= inv5[:, None, None]
    G -= 15.0 * z[:, None, None] * r[:, :, None] * r[:, None, :] * inv7[:, None, None]
    G += 3.0 * ez[None, :, None] * r[:, None, :] * inv5[:, None, None]
    return B, c * G


@dataclass(frozen=True)
class SlabSample:
    """A uniform slab of spins under the surface z = 0 (the fallback sample).

    Attributes
    ----------
    species : str
        Spin species name (key of :data:`SPECIES_TABLE`).
    density : float
        Spin density, m^-3.
    thickness : float
        Slab thickness, m (the slab fills -thickness <= z <= 0).
    size : tuple of float
        Lateral extent (lx, ly), m, centred on x = y = 0.
    voxel : float
        Voxel edge used to discretize it, m.
    """

    species: str = "1H"
    density: float = 5.0e28
    thickness: float = 50e-9
    size: tuple[float, float] = (200e-9, 200e-9)
    voxel: float = 4e-9


@dataclass(frozen=True)
class FallbackPhysics:
    """Parameters of the built-in CAI model when no experiment file is loaded (SI).

    The defaults describe a 200 nm x 200 nm x 50 nm pad of a proton-rich polymer
    under a 100 nm-radius FeCo-like sphere at 4 K, in the spirit of the CAI
    experiments of Degen et al. (2009). (A laterally infinite uniform film gives
    no CAI force at all: the slice is symmetric about the tip, so an image needs
    structure such as the pad's edges.)
    """

    magnet_radius: float = 100e-9
    magnet_polarization: float = 1.8
    temperature: float = 4.0
    polarization: str = "curie"
    sample: SlabSample = field(default_factory=SlabSample)


def _species(name: str) -> tuple[float, float]:
    """|gamma| and spin of ``name``, from mrfm.physics when present, else the table."""
    try:
        from mrfm.physics import SpinSpecies  # type: ignore[attr-defined]

        s = SpinSpecies.from_name(name)
        return abs(float(s.gamma)), float(s.spin)
    except (ImportError, AttributeError, KeyError, ValueError):
        key = _ALIASES.get(name, name)
        if key not in SPECIES_TABLE:
            raise ValueError(
                f"unknown spin species {name!r}; known: {sorted(SPECIES_TABLE)}"
            ) from None
        return SPECIES_TABLE[key]


@dataclass
class _Voxels:
    """Spin content as point weights: positions (n, 3) m and spin counts (n,) per species."""

    positions: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    sizes: dict[str, np.ndarray]


class SignalModel:
    """Signal of an experiment at one tip position and one RF/field setting.

    Parameters
    ----------
    experiment : mrfm.config.Experiment, optional
        The experiment whose magnet, sample, temperature and protocol back the
        physics. None uses :class:`FallbackPhysics`.
    fallback : FallbackPhysics, optional
        Parameters of the built-in model when ``experiment`` is None.
    use_solver : bool
        Use :func:`mrfm.solver.simulate` when it is importable and an experiment
        is given (default True).
    window_factor : float
        The built-in model sums spins within ``window_factor * (height + 2 R)``
        of the tip laterally and in depth (the dipole gradient falls as r^-4).
    max_voxels : int
        Voxels in the window are merged into coarser blocks above this count.

    Attributes
    ----------
    unit : str
        ``"N"`` (CAI force amplitude) or the solver's unit (``"Hz"`` for
        frequency-shift protocols, ``"N^2"`` for force variance).
    backend : str
        ``"solver"`` or ``"dipole"`` (the built-in model).
    """

    def __init__(
        self,
        experiment: Any = None,
        *,
        fallback: FallbackPhysics | None = None,
        use_solver: bool = True,
        window_factor: float = 4.0,
        max_voxels: int = 120_000,
    ) -> None:
        self.experiment = experiment
        self.fallback = fallback or FallbackPhysics()
        self.window_factor = float(window_factor)
        self.max_voxels = int(max_voxels)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, float] = OrderedDict()
        self._simulate = None
        if experiment is not None and use_solver:
            try:
                from mrfm.solver import simulate  # type: ignore[attr-defined]

                self._simulate = simulate
            except ImportError:
                self._simulate = None
        self.backend = "solver" if self._simulate is not None else "dipole"
        self.unit = "N"
        if experiment is not None:
            self.temperature = float(experiment.cantilever.T)
            self.polarization = str(getattr(experiment.protocol, "polarization", "curie"))
            self._magnet = experiment.magnet
            self._half_height = float(experiment.magnet.half_height)
        else:
            fb = self.fallback
            self.temperature = fb.temperature
            self.polarization = fb.polarization
            self._magnet = None
            self._half_height = fb.magnet_radius
            self._moment = fb.magnet_polarization * (4.0 / 3.0) * math.pi * fb.magnet_radius**3
            self._moment /= sc.mu_0
        self._voxels: _Voxels | None = None
        names = (
            list(experiment.sample.densities) + list(getattr(experiment.sample, "points", {}))
            if experiment is not None
            else [self.fallback.sample.species]
        )
        #: |gamma| of the first species, rad s^-1 T^-1 (converts an FM deviation to field units)
        self.gamma = _species(names[0])[0] if names else SPECIES_TABLE["1H"][0]

    # ------------------------------------------------------------------ public
    def signal_at(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> float:
        """Signal at tip position (x, y, height) m, field B0 T, RF f_rf Hz, FM depth fm_depth T.

        Returns the force amplitude in N (CAI, built-in model) or the solver's
        signal in :attr:`unit`. Zero when ``fm_depth <= 0`` (no adiabatic sweep).
        """
        if fm_depth <= 0.0 or f_rf <= 0.0:
            return 0.0
        key = (
            round(x * 1e10), round(y * 1e10), round(height * 1e10),
            round(B0 * 1e7), round(f_rf * 1e-1), round(fm_depth * 1e7),
        )
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if self._simulate is not None:
            value = self._solver_signal(x, y, height, B0, f_rf, fm_depth)
        else:
            value = self._dipole_signal(x, y, height, B0, f_rf, fm_depth)
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 4096:
                self._cache.popitem(last=False)
        return value

    # ----------------------------------------------------------------- solver
    def _solver_signal(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> float:
        import dataclasses
        import warnings

        from mrfm.errors import UserError

        exp = self.experiment
        one = np.array
        try:
            scan = dataclasses.replace(exp.scan, x=one([x]), y=one([y]), height=one([height]))
            rf = dataclasses.replace(exp.rf, frequency=float(f_rf), fm_depth=float(fm_depth))
            point = dataclasses.replace(exp, scan=scan, rf=rf, B0=float(B0))
        except TypeError:  # not dataclasses: go through the validated overrides
            point = exp.with_overrides(
                {"scan.x": x, "scan.y": y, "scan.height": height, "field.B0": B0,
                 "rf.frequency": f_rf, "rf.fm_depth": fm_depth}
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty slice is a legitimate zero here
                res = self._simulate(point, method="direct", progress=False)
        except UserError:
            return 0.0  # tip at or inside the sample surface: no resonance signal
        self.unit = str(res.unit)
        return float(np.asarray(res.signal, dtype=float).reshape(-1)[0])

    # --------------------------------------------------------- built-in model
    def _field_gradient(self, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tip field and gradient at points ``rel`` relative to the magnet centre."""
        if self._magnet is not None and hasattr(self._magnet, "gradient"):
            return (
                np.asarray(self._magnet.field(rel), dtype=float),
                np.asarray(self._magnet.gradient(rel), dtype=float),
            )
        if self._magnet is not None:  # an experiment magnet without field methods: its dipole
            moment = float(np.asarray(self._magnet.moment, dtype=float).reshape(-1)[-1])
            return dipole_field_gradient(moment, rel)
        return dipole_field_gradient(self._moment, rel)

    def _sample_voxels(self) -> _Voxels:
        if self._voxels is not None:
            return self._voxels
        positions: dict[str, np.ndarray] = {}
        counts: dict[str, np.ndarray] = {}
        sizes: dict[str, np.ndarray] = {}
        if self.experiment is not None:
            s = self.experiment.sample
            densities = getattr(s, "densities", {}) or {}
            edge = np.asarray(s.voxel, dtype=float) * np.ones(3)
            dv = float(np.prod(edge))
            grid = np.stack(np.meshgrid(*s.axes(), indexing="ij"), axis=-1) if densities else None
            for name, dens in densities.items():
                d = np.asarray(dens, dtype=float)
                keep = d > 0
                positions[name] = grid[keep]
                counts[name] = d[keep] * dv
                sizes[name] = np.full(int(keep.sum()), float(edge.max()))
            for name, pts in getattr(s, "points", {}).items():
                p = np.asarray(pts, dtype=float).reshape(-1, 3)
                if len(p):
                    positions[name] = np.concatenate([positions.get(name, np.empty((0, 3))), p])
                    counts[name] = np.concatenate([counts.get(name, np.empty(0)), np.ones(len(p))])
                    sizes[name] = np.concatenate([sizes.get(name, np.empty(0)), np.zeros(len(p))])
        self._voxels = _Voxels(positions, counts, sizes)
        return self._voxels

    def _window(
        self, x: float, y: float, height: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Spins near the tip: species -> (positions (n,3) m, counts (n,), cell edges (n,) m).

        Cells are merged into coarser blocks when the window holds too many.
        """
        vox = self._sample_voxels()
        w = self.window_factor * (height + 2.0 * self._half_height)
        out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if self.experiment is None:
            slab = self.fallback.sample
            depth = min(slab.thickness, w)
            cell = max(slab.voxel, (4.0 * w * w * depth / self.max_voxels) ** (1.0 / 3.0))
            gx, fx = _cells(x - w, x + w, cell, -slab.size[0] / 2, slab.size[0] / 2)
            gy, fy = _cells(y - w, y + w, cell, -slab.size[1] / 2, slab.size[1] / 2)
            gz, fz = _cells(-depth, 0.0, cell, -slab.thickness, 0.0)
            frac = (fx[:, None, None] * fy[None, :, None] * fz[None, None, :]).reshape(-1)
            pts = np.stack(np.meshgrid(gx, gy, gz, indexing="ij"), axis=-1).reshape(-1, 3)
            keep = frac > 0
            counts = slab.density * cell**3 * frac[keep]
            out[slab.species] = (pts[keep], counts, np.full(int(keep.sum()), cell))
            return out
        for name, pos in vox.positions.items():
            near = (
                (np.abs(pos[:, 0] - x) <= w) & (np.abs(pos[:, 1] - y) <= w) & (pos[:, 2] >= -w)
            )
            p, c, e = pos[near], vox.counts[name][near], vox.sizes[name][near]
            if len(p) > self.max_voxels:
                p, c, e = _coarsen(p, c, self.max_voxels)
            out[name] = (p, c, e)
        return out

    def _dipole_signal(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> float:
        centre = np.array([x, y, height + self._half_height])
        total = 0.0
        variance = 0.0
        for name, (pts, count, edge) in self._window(x, y, height).items():
            if len(pts) == 0:
                continue
            gamma, spin = _species(name)
            Bt, G = self._field_gradient(pts - centre)
            B = Bt.copy()
            B[:, 2] += B0
            Bmag = np.sqrt(np.einsum("ij,ij->i", B, B))
            grad_mag = np.einsum("ni,nij->nj", B, G) / Bmag[:, None]  # grad |B|, exact
            # Fraction of each cell inside the slice, |B| taken linear across the cell.
            half = 0.5 * edge * np.sum(np.abs(grad_mag), axis=1)
            b_res = 2.0 * math.pi * f_rf / gamma
            frac = _slice_fraction(Bmag - b_res, half, fm_depth)
            keep = frac > 0
            if not np.any(keep):
                continue
            count = count[keep] * frac[keep]
            Bmag, dBdx = Bmag[keep], grad_mag[keep, 0]
            mu = gamma * sc.hbar * spin
            if self.polarization == "statistical":
                variance += float(np.sum(count * mu**2 * dBdx**2))
            else:
                xb = spin * sc.hbar * gamma * Bmag / (sc.k * self.temperature)
                total += float(np.sum(count * mu * brillouin(spin, xb) * dBdx))
        if self.polarization == "statistical":
            return math.sqrt(variance)
        return total


def _slice_fraction(offset: np.ndarray, half: np.ndarray, depth: float) -> np.ndarray:
    """Fraction of [offset - half, offset + half] inside [-depth, depth] (half >= 0)."""
    lo = np.maximum(offset - half, -depth)
    hi = np.minimum(offset + half, depth)
    width = np.maximum(hi - lo, 0.0)
    point = half <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(point, (np.abs(offset) < depth).astype(float), width / (2.0 * half))
    return np.clip(frac, 0.0, 1.0)


def _cells(
    start: float, stop: float, cell: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of cells tiling [start, stop] symmetrically, and each cell's overlap with [lo, hi].

    Returns (centres (n,), fractions (n,) in [0, 1]).
    """
    n = max(1, int(math.ceil((stop - start) / cell)))
    mid = 0.5 * (start + stop)
    centres = mid + (np.arange(n) - (n - 1) / 2.0) * cell
    overlap = np.minimum(centres + cell / 2, hi) - np.maximum(centres - cell / 2, lo)
    return centres, np.clip(overlap / cell, 0.0, 1.0)


def _coarsen(
    p: np.ndarray, c: np.ndarray, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge point weights into cubic blocks until at most ~``limit`` remain (count-weighted)."""
    span = np.ptp(p, axis=0).max()
    cells = max(1, int(round(limit ** (1.0 / 3.0))))
    size = span / cells if span > 0 else 1.0
    idx = np.floor((p - p.min(axis=0)) / size).astype(np.int64)
    keys, inverse = np.unique(idx, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    w = np.bincount(inverse, weights=c)
    safe = np.where(w > 0, w, 1.0)
    centre = np.stack(
        [np.bincount(inverse, weights=c * p[:, k]) / safe for k in range(3)], axis=1
    )
    del keys
    return centre, w, np.full(len(w), size)
