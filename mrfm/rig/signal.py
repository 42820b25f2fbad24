"""The spin signal behind the virtual rig's lock-in: :class:`SignalModel`.

``SignalModel.signal_at(x, y, height, B0, f_rf, fm_depth)`` returns the signal
of the experiment at one tip position and one set of instrument settings:

* When :mod:`mrfm.solver` provides ``simulate`` and the rig names an
  experiment, the solver gives the signal (the solver's protocol, unit and
  sample; results are cached per rounded setting):

  - **signal map**: while B0, f_rf and fm_depth are the experiment's own (to
    :data:`SETTING_TOLERANCE`), readings at tip positions inside the
    experiment's ``[scan]`` grid come from one ``simulate`` of that grid
    (:meth:`SignalModel.prepare_map`, the FFT path where the grid allows; the
    virtual rig computes it in its warm-up thread). On a grid node (to
    :data:`NODE_TOLERANCE`) the value is the map's, i.e. the solver's; between
    nodes it is interpolated where the grid resolves the signal (see
    :meth:`SignalModel.prepare_map`; :class:`GridMap` for the method and its error);
  - **one point** otherwise: a one-point copy of the experiment is simulated
    (direct path). A conservative test first asks whether any spin can be in
    resonance (:meth:`SignalModel.may_resonate`); if none can, the value is 0
    and the solver is not called, so it has no reason to warn that the slice
    misses the sample (no warning filter is touched: ``warnings.catch_warnings``
    swaps process-wide state and is not safe in the rig's server threads).
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

import dataclasses
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import constants as sc

#: B0, the resonance field 2 pi f_rf/|gamma| and fm_depth (T) within which a setting counts
#: as the experiment's own, so the signal map answers (float round trips through the
#: instruments' wire formats stay far below it; the slice is mT thick)
SETTING_TOLERANCE = 1e-9
#: a tip coordinate within this distance (m) of a grid coordinate is on it
NODE_TOLERANCE = 1e-12
#: protocols whose signal needs a spin in the resonant slice / in the OSCAR sweep region
SLICE_PROTOCOLS = ("CAI", "CERMIT")
SWEEP_PROTOCOLS = ("OSCAR", "iOSCAR")

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


class GridMap:
    """A signal map on a rectilinear tip grid, read at any position inside it.

    Parameters
    ----------
    x, y, height : ndarray, shapes (nx,), (ny,), (nh,)
        Increasing grid coordinates, m.
    values : ndarray, shape (nx, ny, nh)
        The signal at the nodes (any unit).

    Notes
    -----
    On a node (every coordinate within :data:`NODE_TOLERANCE` of a grid value)
    the node's value is returned unchanged. Between nodes each height plane is
    interpolated laterally by the interpolating tensor-product spline of degree
    ``min(3, n - 1)`` per axis (``scipy.interpolate.RectBivariateSpline`` with
    ``s = 0``; along a single lateral axis ``make_interp_spline``), and linearly
    between the two nearest planes. An axis with one coordinate accepts only that
    coordinate. For smooth maps a cubic spline's error falls as h^4 (h the grid
    step); CAI maps are only piecewise smooth (a slice about one grid step thick
    cuts the sample), so the error is set by the slice edges: on
    ``configs/demo.toml`` (4 nm steps, a 2.7 nm thick slice) it is at most 2 % of
    the map's peak |signal| (0.4 % r.m.s.) at random positions between nodes,
    against the solver evaluated at each position (``tests/rig/test_signal.py``
    holds it to 3 %). Bilinear interpolation is about twice as far off (4.5 %, 0.9 %
    r.m.s.). Between height planes the error is that of linear interpolation,
    (h_z^2 / 8) max |d2S/dz2|.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, height: np.ndarray,
                 values: np.ndarray) -> None:
        from scipy.interpolate import RectBivariateSpline, make_interp_spline

        self.axes = tuple(np.asarray(a, dtype=float).reshape(-1) for a in (x, y, height))
        shape = tuple(a.size for a in self.axes)
        self.values = np.asarray(values, dtype=float).reshape(shape)
        for name, a in zip(("x", "y", "height"), self.axes, strict=True):
            if a.size == 0 or np.any(np.diff(a) <= 0):
                raise ValueError(f"GridMap: {name} must be non-empty and increasing")
        peak = float(np.max(np.abs(self.values)))
        #: the splines work on values / scale (O(1) numbers, whatever the unit's size)
        self.scale = peak if peak > 0 else 1.0
        xa, ya, _ = self.axes
        self._planes = []
        for k in range(shape[2]):
            plane = self.values[:, :, k] / self.scale
            if xa.size > 1 and ya.size > 1:
                f2 = RectBivariateSpline(xa, ya, plane, kx=min(3, xa.size - 1),
                                         ky=min(3, ya.size - 1), s=0)
                self._planes.append(lambda px, py, f=f2: float(f(px, py, grid=False)))
            elif xa.size > 1:
                fx = make_interp_spline(xa, plane[:, 0], k=min(3, xa.size - 1))
                self._planes.append(lambda px, py, f=fx: float(f(px)))
            elif ya.size > 1:
                fy = make_interp_spline(ya, plane[0, :], k=min(3, ya.size - 1))
                self._planes.append(lambda px, py, f=fy: float(f(py)))
            else:
                self._planes.append(lambda px, py, v=float(plane[0, 0]): v)

    @staticmethod
    def _locate(a: np.ndarray, q: float) -> tuple[int, bool] | None:
        """(index, on_node) of ``q`` on axis ``a``: the node it sits on, else the one below.

        None when ``q`` is outside the axis by more than :data:`NODE_TOLERANCE`.
        """
        if q < a[0] - NODE_TOLERANCE or q > a[-1] + NODE_TOLERANCE:
            return None
        i = min(max(int(np.searchsorted(a, q, side="right")) - 1, 0), a.size - 1)
        if abs(q - a[i]) <= NODE_TOLERANCE:
            return i, True
        if i + 1 < a.size and abs(a[i + 1] - q) <= NODE_TOLERANCE:
            return i + 1, True
        return i, False

    def value(self, x: float, y: float, height: float, *,
              nodes_only: bool = False) -> float | None:
        """The signal at tip position (x, y, height), m.

        None outside the grid, and between nodes when ``nodes_only``.
        """
        where = [self._locate(a, q) for a, q in zip(self.axes, (x, y, height), strict=True)]
        if any(w is None for w in where):
            return None
        (i, on_x), (j, on_y), (k, on_h) = where
        if on_x and on_y and on_h:
            return float(self.values[i, j, k])
        if nodes_only:
            return None
        xa, ya, ha = self.axes
        px = min(max(x, xa[0]), xa[-1])
        py = min(max(y, ya[0]), ya[-1])

        def plane(kk: int) -> float:
            if on_x and on_y:
                return float(self.values[i, j, kk]) / self.scale
            return self._planes[kk](px, py)

        if on_h:
            return plane(k) * self.scale
        t = (height - ha[k]) / (ha[k + 1] - ha[k])
        return ((1.0 - t) * plane(k) + t * plane(k + 1)) * self.scale


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
    use_map : bool
        Answer readings at the experiment's own settings inside its ``[scan]`` grid
        from one solver map (:meth:`prepare_map`, :class:`GridMap`); default True.
    map_timeout : float
        Longest wait (wall s) for a map another thread is computing before a
        reading falls back to the one-point solver.

    Attributes
    ----------
    unit : str
        ``"N"`` (CAI force amplitude) or the solver's unit (``"Hz"`` for
        frequency-shift protocols, ``"N^2"`` for force variance).
    backend : str
        ``"solver"`` or ``"dipole"`` (the built-in model).
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
        experiment: Any = None,
        *,
        fallback: FallbackPhysics | None = None,
        use_solver: bool = True,
        window_factor: float = 4.0,
        max_voxels: int = 120_000,
        use_map: bool = True,
        map_timeout: float = 120.0,
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
        self.use_map = bool(use_map) and self._simulate is not None
        self.map_timeout = float(map_timeout)
        self.grid_map: GridMap | None = None
        self.map_interpolates = False
        self.map_error: str | None = None
        self._map_lock = threading.Lock()
        self._map_started = False
        self._map_done = threading.Event()
        self._cells: list[tuple[float, np.ndarray, np.ndarray]] | None = None

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
        value = self._map_value(x, y, height, B0, f_rf, fm_depth)
        if value is None and self._simulate is not None:
            value = self._solver_signal(x, y, height, B0, f_rf, fm_depth)
        elif value is None:
            value = self._dipole_signal(x, y, height, B0, f_rf, fm_depth)
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
        if exp is None:
            return False
        two_pi_over_gamma = 2.0 * math.pi / self.gamma
        return (
            abs(B0 - float(exp.B0)) <= SETTING_TOLERANCE
            and abs(f_rf - float(exp.rf.frequency)) * two_pi_over_gamma <= SETTING_TOLERANCE
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
        except Exception as exc:  # noqa: BLE001 - the one-point solver is always there
            self.map_error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._map_done.set()
        return self.grid_map is not None

    def _compute_map(self) -> GridMap:
        from mrfm.solver import ResonanceOutsideSampleWarning

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
        densities = getattr(s, "densities", {}) or {}
        points = getattr(s, "points", {}) or {}
        if not densities or any(np.asarray(p).size for p in points.values()):
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
        if self.grid_map is None and not self.prepare_map():
            return None
        return self.grid_map.value(x, y, height, nodes_only=not self.map_interpolates)

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
        both exactly and in the high-field form ``B0 + B_z``. Twice the solver's
        margin: a False here means the solver's signal is exactly 0. Protocols
        without a slice (force gradient) always return True.
        """
        exp = self.experiment
        if exp is None:
            return True
        name = str(exp.protocol.name)
        if name not in SLICE_PROTOCOLS + SWEEP_PROTOCOLS:
            return True
        amplitude = float(getattr(exp, "amplitude", 0.0)) if name in SWEEP_PROTOCOLS else 0.0
        centre = np.array([x, y, height + self._half_height])
        b0 = np.array([0.0, 0.0, B0])
        for gamma, pos, edges in self._spin_cells():
            rel = pos - centre
            B, G = self._field_gradient(rel)
            b_res = 2.0 * math.pi * f_rf / gamma
            Bt = B + b0
            exact = np.sqrt(np.einsum("ij,ij->i", Bt, Bt))
            grad_exact = np.einsum("ni,nij->nj", Bt, G) / exact[:, None]
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
        B, _ = self._field_gradient(rel)
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
        densities = getattr(s, "densities", {}) or {}
        if densities:
            edge = np.asarray(s.voxel, dtype=float) * np.ones(3)
            grid = np.stack(np.meshgrid(*s.axes(), indexing="ij"), axis=-1)
            for name, dens in densities.items():
                keep = np.asarray(dens, dtype=float) != 0
                cells.append((_species(name)[0], grid[keep], np.tile(edge, (int(keep.sum()), 1))))
        for name, pts in (getattr(s, "points", {}) or {}).items():
            p = np.asarray(pts, dtype=float).reshape(-1, 3)
            if len(p):
                cells.append((_species(name)[0], p, np.zeros_like(p)))
        self._cells = cells
        return cells

    # ----------------------------------------------------------------- solver
    def _solver_signal(
        self, x: float, y: float, height: float, B0: float, f_rf: float, fm_depth: float
    ) -> float:
        """One-point solver call; 0 without calling it when no spin can resonate."""
        from mrfm.errors import UserError
        from mrfm.solver import ResonanceOutsideSampleWarning

        if not self.may_resonate(x, y, height, B0, f_rf, fm_depth):
            return 0.0
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
            res = self._simulate(point, method="direct", progress=False)
        except UserError:
            return 0.0  # tip at or inside the sample surface: no resonance signal
        except ResonanceOutsideSampleWarning:
            # Only where warnings are errors (the slice passed within a voxel's |B| span
            # of the sample yet touched no spin): the signal is exactly 0.
            return 0.0
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
