"""The ``[plan]`` section: the order in which a scan visits its tip positions (read by
:mod:`mrfm.scan`).

The grid comes from the experiment's ``[scan]`` section (x, y, height); the
optional ``[plan]`` section says how to visit it::

    [plan]
    pattern = "serpentine"     # serpentine | one-way | points
    settle_time = "5 ms"       # stage settling after each move
    lockin_settle = 7          # wait n x the lock-in time constant before reading
    safe_height = "1 um"       # retract height for approach, retract and parking
    approach_step = "100 nm"   # largest downward step while approaching the first point
    stuck_reads = 5            # lock-in X and Y bit-identical this many reads in a row: a
                               # frozen instrument (a fault, exit 3); 0 switches the check off
    points = [["0 nm", "0 nm", "50 nm"], ...]   # pattern = "points" only (x, y, height)

x is the fast axis, y the slow axis, and heights are a stack of planes. A
"line" (the unit that is flushed to disk) is one row along x.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from mrfm.config.schema import parse_section, spec
from mrfm.config.sections import ScanGrid
from mrfm.errors import ConfigError
from mrfm.units import parse_quantity

Position = tuple[float, float, float]


@dataclass(frozen=True)
class ScanPlan:
    """How a scan visits its grid (all times in s, lengths in m)."""

    pattern: str = field(default="serpentine", metadata=spec(
        "choice", choices=("serpentine", "one-way", "points")))
    settle_time: float = field(default=2e-3, metadata=spec(
        "quantity", dimension="time", min=0, max=60.0, doc="stage settling per point"))
    lockin_settle: float = field(default=7.0, metadata=spec(
        "quantity", dimension="dimensionless", min=0, max=100.0,
        doc="multiples of tau (7: 99 % of a step at 6 and 12 dB/oct)"))
    safe_height: float = field(default=1e-6, metadata=spec(
        "quantity", dimension="length", min=0, min_exclusive=True, max=1e-3))
    approach_step: float = field(default=100e-9, metadata=spec(
        "quantity", dimension="length", min=0, min_exclusive=True, max=1e-3,
        doc="largest downward step of the approach"))
    stuck_reads: int = field(default=5, metadata=spec(
        "int", min=0, max=10_000,
        doc="consecutive bit-identical lock-in (X, Y) readings that mean a frozen lock-in"))
    points: tuple[tuple[float, float, float], ...] | None = field(
        default=None, metadata=spec("raw"))

    @classmethod
    def from_config(cls, table: object, path: str = "plan") -> ScanPlan:
        """Parse the ``[plan]`` table (validating point lists too)."""
        plan = parse_section(cls, table, path)
        if plan.stuck_reads == 1:
            raise ConfigError(f"{path}.stuck_reads: 1 would call every reading frozen; give 0 "
                              "(check off) or at least 2")
        if plan.pattern == "points":
            raw: object = plan.points
            if not isinstance(raw, list) or not raw:
                raise ConfigError(f"{path}.points: pattern 'points' needs a list of "
                                  "[x, y, height] positions")
            pts: list[Position] = []
            for i, p in enumerate(raw):
                if not isinstance(p, list) or len(p) != 3:
                    raise ConfigError(f"{path}.points[{i}]: expected [x, y, height], got {p!r}")
                x, y, height = (parse_quantity(v, "length", f"{path}.points[{i}]") for v in p)
                xyz = (x, y, height)
                if xyz[2] <= 0:
                    raise ConfigError(f"{path}.points[{i}]: height {xyz[2]:g} m must be > 0 m "
                                      "(the tip would touch the sample)")
                pts.append(xyz)
            return dataclasses.replace(plan, points=tuple(pts))
        if plan.points is not None:
            raise ConfigError(f"{path}.points: only used with pattern = 'points'")
        return plan

    def axes(self, grid: ScanGrid) -> dict[str, np.ndarray]:
        """The file axes: the grid's (x, y, height), or a point index for point lists."""
        if self.pattern == "points":
            return {"point": np.arange(len(self.points or ()), dtype=float)}
        return {"x": np.asarray(grid.x), "y": np.asarray(grid.y), "height": np.asarray(grid.height)}

    def shape(self, grid: ScanGrid) -> tuple[int, ...]:
        """Shape of every recorded channel."""
        return tuple(a.size for a in self.axes(grid).values())

    def lines(self, grid: ScanGrid) -> Iterator[list[tuple[tuple[int, ...], Position]]]:
        """Yield lines: lists of (index, (x, y, height)) in visiting order."""
        if self.pattern == "points":
            for i, p in enumerate(self.points or ()):
                yield [((i,), p)]
            return
        x, y, h = np.asarray(grid.x), np.asarray(grid.y), np.asarray(grid.height)
        line_no = 0
        for k, hk in enumerate(h):
            for j, yj in enumerate(y):
                forward = not (self.pattern == "serpentine" and line_no % 2 == 1)
                order = range(x.size) if forward else range(x.size - 1, -1, -1)
                yield [((i, j, k), (float(x[i]), float(yj), float(hk))) for i in order]
                line_no += 1

    def positions(self, grid: ScanGrid) -> np.ndarray:
        """All target positions (n, 3) in visiting order."""
        return np.array([p for line in self.lines(grid) for _, p in line])

    def settle_wait(self, time_constant: float) -> float:
        """Rig seconds waited at every point before reading: ``settle_time + lockin_settle
        x time_constant`` (a virtual rig divides them by its time scale)."""
        return self.settle_time + self.lockin_settle * time_constant

    def estimate_duration(
        self, grid: ScanGrid, *, time_constant: float, move_time: float = 0.0,
        time_scale: float = 1.0, line_time: float = 0.0,
        measured: np.ndarray | None = None,
    ) -> float:
        """Wall seconds the points (and lines) still to measure will take.

        Per point: the settling wait (:meth:`settle_wait`, divided by ``time_scale``) plus
        ``move_time`` (move, on-target wait and readings: the rig's own time, measured);
        per line with a point to measure: ``line_time`` (instrument checks, file flush).

        Parameters
        ----------
        grid : ScanGrid
            The experiment's grid.
        time_constant : float
            Lock-in time constant, s.
        move_time, line_time : float
            Wall seconds per point beyond the settling wait, and per line.
        time_scale : float
            Rig seconds per wall second (a virtual rig; 1 for hardware).
        measured : bool array, optional
            Points already measured (shape :meth:`shape`); by default none.
        """
        wait = self.settle_wait(time_constant) / time_scale
        if measured is None:
            n = int(np.prod(self.shape(grid)))
            lines = sum(1 for _ in self.lines(grid))
        else:
            todo = [sum(1 for idx, _ in line if not measured[idx]) for line in self.lines(grid)]
            n, lines = sum(todo), sum(1 for t in todo if t)
        return n * (move_time + wait) + lines * line_time


__all__ = ["Position", "ScanPlan"]
