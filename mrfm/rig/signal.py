"""The spin signal behind the virtual rig's lock-in: :class:`SignalModel`.

``SignalModel.signal_at(x, y, height, B0, f_rf, fm_depth, temperature)`` returns the
signal of an experiment (:class:`mrfm.config.Experiment`) at one tip position, one set
of instrument settings and the sample's temperature (the cryostat's: a Curie
polarization follows it). It always comes from :mod:`mrfm.solver` (the solver's
protocol, unit and sample; results are cached per rounded setting):

* **signal map**: while B0, f_rf, fm_depth and the temperature are the experiment's own
  (to :data:`SETTING_TOLERANCE`; the temperature to :data:`TEMPERATURE_DIGITS`
  significant digits, and any temperature for statistical polarization, whose variance
  does not depend on it), readings at tip positions inside the
  experiment's ``[scan]`` grid come from one ``simulate`` of that grid
  (:meth:`SignalModel.prepare_map`, the FFT path where the grid allows; the
  virtual rig computes it in its warm-up). On a grid node (to
  :data:`~mrfm.rig.gridmap.NODE_TOLERANCE`) the value is the map's, i.e. the
  solver's; between nodes it is interpolated where the grid resolves the signal
  (see :meth:`SignalModel.prepare_map`; :class:`~mrfm.rig.gridmap.GridMap` for
  the method and its error);
* **one point** otherwise: a one-point copy of the experiment is simulated
  (direct path). A conservative test first asks whether any spin can be in
  resonance (:meth:`SignalModel.may_resonate`, with the experiment's own magnet
  field and gradient from :mod:`mrfm.physics.magnets`); if none can, the value
  is 0 and the solver is not called, so it has no reason to warn that the slice
  misses the sample (no warning filter is touched: ``warnings.catch_warnings``
  swaps process-wide state and is not safe in the rig's server threads).

References: Rugar, Yannoni & Sidles, Nature 360, 563 (1992) (CAI);
Degen et al., PNAS 106, 1313 (2009) (CAI imaging, statistical polarization).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from mrfm.errors import UserError
from mrfm.physics import SpinSpecies
from mrfm.physics.spin_dynamics import force_per_moment
from mrfm.physics.spins import resonance_field
from mrfm.rig.gridmap import GridMap
from mrfm.solver import ResonanceOutsideSampleWarning, simulate

if TYPE_CHECKING:
    from mrfm.config import Experiment

#: B0, the resonance field 2 pi f_rf/|gamma| and fm_depth (T) within which a setting counts
#: as the experiment's own, so the signal map answers (float round trips through the
#: instruments' wire formats stay far below it; the slice is mT thick)
SETTING_TOLERANCE = 1e-9
#: significant digits of the sample temperature a reading is computed at (cache key and
#: solver input): a Curie signal moves by at most 5e-5 of itself
TEMPERATURE_DIGITS = 5
#: protocols whose signal needs a spin in the resonant slice / in the OSCAR sweep region
SLICE_PROTOCOLS = ("CAI", "CERMIT")
SWEEP_PROTOCOLS = ("OSCAR", "iOSCAR")


class SignalModel:
    """Signal of an experiment at one tip position and one RF/field setting.

    Parameters
    ----------
    experiment : mrfm.config.Experiment
        The experiment whose magnet, sample, temperature and protocol give the
        signal (through :func:`mrfm.solver.simulate`).
    use_map : bool
        Answer readings at the experiment's own settings inside its ``[scan]`` grid
        from one solver map (:meth:`prepare_map`, :class:`~mrfm.rig.gridmap.GridMap`);
        default True.
    map_timeout : float
        Longest wait (wall s) for a map another thread is computing before a
        reading uses the one-point solver instead.

    Attributes
    ----------
    unit : str
        The solver's unit of the signal: ``"N"`` (CAI force amplitude), ``"Hz"``
        for frequency-shift protocols, ``"N^2"`` for a force variance.
    gamma : float
        |gamma| of the sample's first species, rad s^-1 T^-1 (converts an FM
        deviation to field units).
    grid_map : GridMap or None
        The experiment's signal map once :meth:`prepare_map` has computed it.
    map_interpolates : bool
        Whether readings between the map's nodes are interpolated (see
        :meth:`prepare_map`) rather than computed by the one-point solver.
    map_error : str or None
        Why the map could not be computed (readings then use the one-point solver).
    """

    def __init__(
        self,
        experiment: Experiment,
        *,
        use_map: bool = True,
        map_timeout: float = 120.0,
    ) -> None:
        self.experiment = experiment
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, float] = OrderedDict()
        self._simulate = simulate
        self.unit = "N"
        self._magnet = experiment.magnet
        self._half_height = float(experiment.magnet.half_height)
        species = experiment.sample.species
        if not species:
            raise UserError(f"experiment {experiment.name!r}: the sample holds no spins")
        self.gamma = abs(species[0].gamma)
        self.use_map = bool(use_map)
        self.map_timeout = float(map_timeout)
        self.grid_map: GridMap | None = None
        self.map_interpolates = False
        self.map_error: str | None = None
        self._map_lock = threading.Lock()
        self._map_started = False
        self._map_done = threading.Event()
        self._cells: list[tuple[float, np.ndarray, np.ndarray]] | None = None
        self._statistical = experiment.protocol.polarization == "statistical"
        #: the experiment's temperature as readings round theirs (the map's)
        self._t_experiment = float(f"{float(experiment.cantilever.T):.{TEMPERATURE_DIGITS}g}")

    # ------------------------------------------------------------------ public
    def signal_at(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float,
        temperature: float | None = None,
    ) -> float:
        """Signal at tip position (x, y, height) m, field B0 T, RF f_rf Hz, FM depth
        fm_depth T and sample temperature ``temperature`` K (None: the experiment's).

        Returns the solver's signal in :attr:`unit` (N for CAI). Zero when
        ``fm_depth <= 0`` (no adiabatic sweep). The temperature is rounded to
        :data:`TEMPERATURE_DIGITS` significant digits (a Curie signal then moves by at
        most 5e-5 of itself) and ignored under statistical polarization.
        """
        if fm_depth <= 0.0 or f_rf <= 0.0:
            return 0.0
        t = self._temperature(temperature)
        key = (
            round(x * 1e10), round(y * 1e10), round(height * 1e10),
            round(B0 * 1e7), round(f_rf * 1e-1), round(fm_depth * 1e7), t,
        )
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = None
        if t == self._t_experiment:
            value = self._map_value(x, y, height, B0, f_rf, fm_depth)
        if value is None:
            value = self._solver_signal(x, y, height, B0, f_rf, fm_depth, t)
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 4096:
                self._cache.popitem(last=False)
        return value

    def is_experiment_setting(self, B0: float, f_rf: float, fm_depth: float) -> bool:
        """True when B0 (T), f_rf (Hz) and fm_depth (T) are the experiment's own.

        Compared in field units (the resonance field ``2 pi f_rf/|gamma|``) to
        :data:`SETTING_TOLERANCE`.
        """
        exp = self.experiment
        return (
            abs(B0 - float(exp.B0)) <= SETTING_TOLERANCE
            and resonance_field(f_rf - float(exp.rf.frequency), self.gamma) <= SETTING_TOLERANCE
            and abs(fm_depth - float(exp.rf.fm_depth)) <= SETTING_TOLERANCE
        )

    def prepare_map(self) -> bool:
        """Simulate the experiment over its own ``[scan]`` grid, once (thread-safe).

        The first caller computes (``simulate(experiment, method="auto")``: the
        FFT path where the grid is commensurate with the voxels); later callers
        wait for it, at most :attr:`map_timeout` s. Returns True when the map is
        available. A failure is kept in :attr:`map_error` and readings use the
        one-point solver instead.

        Readings on the map's nodes always come from it. Between nodes the map is
        interpolated (:class:`GridMap`) only when it resolves the signal: a sample
        of voxel densities alone (each voxel's kernel is averaged over the voxel,
        so the map varies on the voxel scale or slower) and grid steps no larger
        than the voxel pitch along x, y and z. A point spin's signal is a thin
        shell in tip position (the slice's thickness), which no grid resolves;
        then, and on coarser grids, readings between nodes use the one-point solver.
        """
        if not self.use_map:
            return False
        with self._map_lock:
            owner = not self._map_started
            self._map_started = True
        if not owner:
            self._map_done.wait(self.map_timeout)
            return self.grid_map is not None
        try:
            self.grid_map = self._compute_map()
        except Exception as exc:  # noqa: BLE001 - readings then use the one-point solver
            self.map_error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._map_done.set()
        return self.grid_map is not None

    def _compute_map(self) -> GridMap:
        exp = self.experiment
        scan = exp.scan
        axes = [np.asarray(a, dtype=float).reshape(-1) for a in (scan.x, scan.y, scan.height)]
        try:
            res = self._simulate(exp, progress=False)
        except ResonanceOutsideSampleWarning:
            # raised only where warnings are errors: the map is all zero, which is its value
            return GridMap(*axes, np.zeros(tuple(a.size for a in axes)))
        self.unit = str(res.unit)
        coords = [np.asarray(res.coords[k], dtype=float).reshape(-1) for k in ("x", "y", "z")]
        values = np.asarray(res.signal, dtype=float).reshape(tuple(c.size for c in coords))
        order = [np.argsort(c) for c in coords]  # the grid may be given in decreasing order
        values = values[np.ix_(*order)]
        self.map_interpolates = self._map_resolves_signal(coords)
        return GridMap(*(c[o] for c, o in zip(coords, order, strict=True)), values)

    def _map_resolves_signal(self, coords: list[np.ndarray]) -> bool:
        """Voxel densities only, and every grid step <= the voxel pitch on its axis."""
        s = self.experiment.sample
        if not s.densities or any(np.asarray(p).size for p in s.points.values()):
            return False
        voxel = np.asarray(s.voxel, dtype=float) * np.ones(3)
        for c, pitch in zip(coords, voxel, strict=True):
            if c.size > 1 and np.max(np.abs(np.diff(c))) > pitch * (1.0 + 1e-9):
                return False
        return True

    def _map_value(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> float | None:
        """The map's value at this reading, or None when the map does not apply."""
        if not self.use_map or not self.is_experiment_setting(B0, f_rf, fm_depth):
            return None
        grid_map = self.grid_map
        if grid_map is None:
            if not self.prepare_map():
                return None
            grid_map = self.grid_map
        return grid_map.value(x, y, height, nodes_only=not self.map_interpolates)

    def may_resonate(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> bool:
        """False only when no spin can be in the resonant slice (or OSCAR sweep region).

        A conservative version of the solver's own first test per voxel: a voxel
        (or point spin) may contribute when ``| |B| - 2 pi f_rf/|gamma| |`` at its
        centre is within ``fm_depth + 2 (span + sweep)``, where ``span`` is the
        linear spread of |B| across the voxel (``sum_j |d|B|/dx_j| a_j``) and, for
        OSCAR/iOSCAR, ``sweep = 2 (|d|B|/dx| x_pk + |second difference of |B| over
        +-x_pk|)`` is the excursion along the cantilever trajectory. |B| is taken
        both exactly and in the high-field form ``B0 + B_z``, with the experiment
        magnet's own ``field`` and ``gradient`` (:mod:`mrfm.physics.magnets`). Twice
        the solver's margin: a False here means the solver's signal is exactly 0.
        Protocols without a slice (force gradient) always return True.
        """
        exp = self.experiment
        name = str(exp.protocol.name)
        if name not in SLICE_PROTOCOLS + SWEEP_PROTOCOLS:
            return True
        amplitude = float(exp.amplitude) if name in SWEEP_PROTOCOLS else 0.0
        centre = np.array([x, y, height + self._half_height])
        b0 = np.array([0.0, 0.0, B0])
        for gamma, pos, edges in self._spin_cells():
            rel = pos - centre
            B, G = self._magnet.field_and_gradient(rel)  # one kernel pass for both
            b_res = resonance_field(f_rf, gamma)
            Bt = B + b0
            exact = np.sqrt(np.einsum("ij,ij->i", Bt, Bt))
            grad_exact = force_per_moment(Bt, G)  # grad |B|
            high = B0 + B[:, 2]
            grad_high = G[:, 2, :]
            for b, grad, form in ((exact, grad_exact, "exact"), (high, grad_high, "high")):
                margin = 2.0 * np.sum(np.abs(grad) * edges, axis=1)
                if amplitude > 0.0:
                    shift = np.array([amplitude, 0.0, 0.0])
                    bp = self._field_magnitude(rel - shift, B0, form)
                    bm = self._field_magnitude(rel + shift, B0, form)
                    curvature = np.abs(bp + bm - 2.0 * b)
                    excursion = np.maximum(np.abs(bp - b), np.abs(bm - b))
                    margin += 2.0 * (np.abs(grad[:, 0]) * amplitude + curvature + excursion)
                if np.any(np.abs(b - b_res) <= fm_depth + margin):
                    return True
        return False

    def _field_magnitude(self, rel: np.ndarray, B0: float, form: str) -> np.ndarray:
        """|B0 z + B_tip| (``form`` "exact") or B0 + B_tip,z ("high") at ``rel`` (n, 3), T."""
        B = np.array(self._magnet.field(rel), dtype=float)
        if form == "high":
            return B0 + B[:, 2]
        B[:, 2] += B0
        return np.sqrt(np.einsum("ij,ij->i", B, B))

    def _spin_cells(self) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """(|gamma|, positions (n, 3) m, cell edges (n, 3) m) per species: occupied voxels
        (edges = voxel) and point spins (edges 0)."""
        if self._cells is not None:
            return self._cells
        cells = []
        s = self.experiment.sample
        if s.densities:
            edge = np.asarray(s.voxel, dtype=float) * np.ones(3)
            grid = np.stack(np.meshgrid(*s.axes(), indexing="ij"), axis=-1)
            for name, dens in s.densities.items():
                keep = np.asarray(dens, dtype=float) != 0
                gamma = abs(SpinSpecies.from_name(name).gamma)
                cells.append((gamma, grid[keep], np.tile(edge, (int(keep.sum()), 1))))
        for name, pts in s.points.items():
            p = np.asarray(pts, dtype=float).reshape(-1, 3)
            if len(p):
                cells.append((abs(SpinSpecies.from_name(name).gamma), p, np.zeros_like(p)))
        self._cells = cells
        return cells

    def _temperature(self, temperature: float | None) -> float:
        """The sample temperature a reading is computed at, K: ``temperature`` to
        :data:`TEMPERATURE_DIGITS` significant digits; the experiment's where None or
        where the polarization is statistical."""
        if temperature is None or self._statistical:
            return self._t_experiment
        t = float(temperature)
        if not (math.isfinite(t) and t > 0):
            raise UserError(f"sample temperature {temperature!r} K must be > 0")
        return float(f"{t:.{TEMPERATURE_DIGITS}g}")

    # ----------------------------------------------------------------- solver
    def _solver_signal(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float,
        temperature: float,
    ) -> float:
        """One-point solver call at the sample temperature (K); 0 without calling it when
        no spin can resonate."""
        if not self.may_resonate(x, y, height, B0, f_rf, fm_depth):
            return 0.0
        exp = self.experiment
        one = np.array
        scan = dataclasses.replace(exp.scan, x=one([x]), y=one([y]), height=one([height]))
        rf = dataclasses.replace(exp.rf, frequency=float(f_rf), fm_depth=float(fm_depth))
        point = dataclasses.replace(exp, scan=scan, rf=rf, B0=float(B0))
        if temperature != float(exp.cantilever.T):
            # the solver's Curie polarization takes the sample temperature from the
            # cantilever's (they share the stage)
            point = dataclasses.replace(point, cantilever=dataclasses.replace(
                exp.cantilever, T=temperature))
        try:
            res = self._simulate(point, method="direct", progress=False)
        except UserError:
            return 0.0  # tip at or inside the sample surface: no resonance signal
        except ResonanceOutsideSampleWarning:
            # Only where warnings are errors (the slice passed within a voxel's |B| span
            # of the sample yet touched no spin): the signal is exactly 0.
            return 0.0
        self.unit = str(res.unit)
        return float(np.asarray(res.signal, dtype=float).reshape(-1)[0])


def curie_spin_noise_model(experiment: Experiment, enabled: bool) -> SignalModel | None:
    """The model of the statistical spin noise on a Curie CAI force: a :class:`SignalModel`
    of ``experiment`` under statistical polarization (its unit N^2: the force variance of
    the spins in the slice; Degen et al., PRL 99, 250601 (2007)); None where ``enabled``
    is False or the signal is not a Curie CAI force."""
    proto = experiment.protocol
    if not enabled or proto.name != "CAI" or proto.polarization != "curie":
        return None
    return SignalModel(experiment.under_polarization("statistical"))
