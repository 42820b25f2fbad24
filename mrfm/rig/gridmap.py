"""A signal map on a rectilinear tip grid, read at any tip position inside it: :class:`GridMap`.

The virtual rig's :class:`~mrfm.rig.signal.SignalModel` keeps the solver's map of the
experiment's own ``[scan]`` grid in one of these (see its ``prepare_map``).
"""

from __future__ import annotations

import numpy as np

#: a tip coordinate within this distance (m) of a grid coordinate is on it
NODE_TOLERANCE = 1e-12


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
