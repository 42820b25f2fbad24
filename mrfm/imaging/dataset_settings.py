"""``[dataset]`` section of the experiment file: how ``mrfm dataset`` draws its items.

Example
-------
.. code-block:: toml

    [dataset]
    phantoms = ["rods", "blobs"]        # drawn per item with `weights`
    weights = [0.7, 0.3]
    grid = [24, 24, 6]                  # object voxels (nx, ny, nz); voxel = sample.voxel
    density = ["4e28 m^-3", "6e28 m^-3"]
    count = [1, 3]
    seed = 2009
    [dataset.vary]                      # experiment keys drawn uniformly per item
    "scan.height" = ["20 nm", "30 nm"]
    "cantilever.Q" = [1e4, 3e4]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mrfm.config.schema import spec
from mrfm.imaging.phantoms import KINDS, PhantomRanges


def _range(dimension: str, default: tuple[float, float], **kw: Any) -> Any:
    return field(default=default, metadata=spec("vector", dimension=dimension, length=2, **kw))


@dataclass(frozen=True)
class DatasetSettings:
    """Phantom distribution, parameter ranges, noise and seed of a synthetic dataset (SI).

    Attributes
    ----------
    phantoms : tuple of str
        Phantom kinds (``rods``, ``film``, ``defects``, ``blobs``, ``file``).
    weights : tuple of float or None
        Relative probabilities of ``phantoms`` (default: equal).
    grid : tuple of 3 int
        Object voxels (nx, ny, nz); the voxel edge is the experiment's ``sample.voxel``.
    heights : int or None
        Tip heights per item (step = voxel depth, from ``scan.height``); default nz.
    margin : int
        Extra tip positions on each lateral side of the object.
    density, count, rod_radius, rod_length, blob_radius, layer_thickness : (low, high)
        Phantom parameter ranges (m^-3, count, m).
    substrate_density : float
        Adsorbed layer on the substrate under rods, m^-3.
    files : tuple of str
        ``.npy`` densities for phantom ``file`` (relative to the experiment file).
    vary : dict
        Dotted experiment keys -> (low, high) in SI, drawn uniformly per item.
    forward : str
        ``convolution`` (FFT with the experiment's point-spread function; exact for the
        aligned grid) or ``solver`` (``mrfm.solver.simulate`` on the phantom).
    snr : float or None
        If set, white noise of standard deviation peak/snr replaces the physical noise.
    lockin_order : int
        Lock-in low-pass order; its time constant gives ENBW = ``protocol.bandwidth``.
    dwell : float or None
        Time per scan point, s (default 5 lock-in time constants).
    drift_rate : float
        Tip-sample drift speed, m/s.
    spin_noise : bool
        Include statistical spin noise.
    seed : int
        Seed of the set; item ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``.
    """

    phantoms: tuple[str, ...] = field(default=("rods",), metadata=spec("str_list"))
    weights: tuple[float, ...] | None = field(
        default=None, metadata=spec("quantity_list", min=0.0)
    )
    grid: Any = field(default=(24, 24, 6), metadata=spec("raw"))
    heights: int | None = field(default=None, metadata=spec("int", min=1, max=1024))
    margin: int = field(default=0, metadata=spec("int", min=0, max=1024))
    density: tuple[float, float] = _range("number_density", (4e28, 6e28), min=0.0, max=1e31)
    count: Any = field(default=(1, 3), metadata=spec("raw"))
    rod_radius: tuple[float, float] = _range("length", (9e-9, 9e-9), min=0.0, max=1e-5)
    rod_length: tuple[float, float] = _range("length", (40e-9, 300e-9), min=0.0, max=1e-4)
    blob_radius: tuple[float, float] = _range("length", (3e-9, 10e-9), min=0.0, max=1e-5)
    layer_thickness: tuple[float, float] = _range("length", (2e-9, 10e-9), min=0.0, max=1e-5)
    substrate_density: float = field(
        default=0.0, metadata=spec("quantity", dimension="number_density", min=0.0, max=1e31)
    )
    files: tuple[str, ...] = field(default=(), metadata=spec("str_list"))
    vary: Any = field(default_factory=dict, metadata=spec("raw"))
    forward: str = field(
        default="convolution", metadata=spec("choice", choices=("convolution", "solver"))
    )
    snr: float | None = field(
        default=None, metadata=spec("quantity", min=0.0, min_exclusive=True, max=1e12)
    )
    lockin_order: int = field(default=2, metadata=spec("int", min=1, max=4))
    dwell: float | None = field(
        default=None, metadata=spec("quantity", dimension="time", min=0.0, min_exclusive=True)
    )
    drift_rate: float = field(
        default=0.0, metadata=spec("quantity", dimension="velocity", min=0.0, max=1e-3)
    )
    spin_noise: bool = field(default=True, metadata=spec("bool"))
    seed: int = field(default=0, metadata=spec("int", min=0, max=2**63 - 1))

    def __post_init__(self) -> None:
        for kind in self.phantoms:
            if kind not in KINDS:
                from mrfm.config.schema import suggest

                raise ValueError(
                    f"phantoms: unknown phantom type {kind!r}{suggest(kind, KINDS)}; "
                    f"known: {', '.join(KINDS)}"
                )
        if self.weights is not None:
            if len(self.weights) != len(self.phantoms):
                raise ValueError(
                    f"weights: {len(self.weights)} weights for {len(self.phantoms)} phantoms"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights: at least one weight must be > 0")
        grid = self.grid
        if (not isinstance(grid, (list, tuple)) or len(grid) != 3
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in grid)
                or min(grid) < 1 or max(grid) > 4096):
            raise ValueError(f"grid: expected three voxel counts in [1, 4096], got {grid!r}")
        object.__setattr__(self, "grid", tuple(int(n) for n in grid))
        count = self.count
        if (not isinstance(count, (list, tuple)) or len(count) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in count)):
            raise ValueError(f"count: expected [low, high] integers, got {count!r}")
        object.__setattr__(self, "count", (int(count[0]), int(count[1])))
        for name in ("density", "count", "rod_radius", "rod_length", "blob_radius",
                     "layer_thickness"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: impossible range, low {lo:g} > high {hi:g}")
        if self.count[0] < 0:
            raise ValueError(f"count: low {self.count[0]} must be >= 0")
        if "file" in self.phantoms and not self.files:
            raise ValueError("files: phantom 'file' needs files = [\"density.npy\", ...]")
        object.__setattr__(self, "vary", _parse_vary(self.vary))

    @property
    def ranges(self) -> PhantomRanges:
        """The phantom parameter ranges."""
        return PhantomRanges(
            density=self.density, count=self.count, rod_radius=self.rod_radius,
            rod_length=self.rod_length, blob_radius=self.blob_radius,
            layer_thickness=self.layer_thickness, substrate_density=self.substrate_density,
            files=self.files,
        )

    def probabilities(self) -> list[float]:
        """Normalized probabilities of the phantom kinds."""
        w = list(self.weights) if self.weights is not None else [1.0] * len(self.phantoms)
        total = float(sum(w))
        return [x / total for x in w]


def _si(value: Any, where: str) -> float:
    """A number or a unit string, in SI base units (any dimension)."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a quantity, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        import pint

        from mrfm.units import registry

        try:
            q = registry().Quantity(value.strip())
            number = float(q.to_base_units().magnitude) if hasattr(q, "to_base_units") else float(q)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
            raise ValueError(f"{where}: cannot read {value!r} as a quantity") from None
    else:
        raise ValueError(f"{where}: expected a quantity, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{where}: {value!r} is not finite")
    return number


def _parse_vary(table: Any) -> dict[str, tuple[float, float]]:
    if isinstance(table, dict) and all(
        isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, float) for x in v)
        for v in table.values()
    ):
        return dict(table)
    if not isinstance(table, Mapping):
        raise ValueError(f"vary: expected a table of \"section.key\" = [low, high], got {table!r}")
    out: dict[str, tuple[float, float]] = {}
    for key, bounds in table.items():
        where = f"vary.{key}"
        from mrfm.config.experiment import TOP_LEVEL_KEYS

        if "." not in key or key.split(".")[0] not in TOP_LEVEL_KEYS:
            raise ValueError(f"{where}: expected a dotted experiment key such as scan.height")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ValueError(f"{where}: expected [low, high], got {bounds!r}")
        lo, hi = _si(bounds[0], where), _si(bounds[1], where)
        if lo > hi:
            raise ValueError(f"{where}: impossible range, low {bounds[0]!r} > high {bounds[1]!r}")
        out[key] = (lo, hi)
    return out
