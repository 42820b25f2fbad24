"""Figures of scan files (``mrfm plot SCAN.h5 -o FIG.png``).

One row per recorded channel: a 2-D map over the two longest grid axes (x, y,
or height) at the middle of any third axis, with a colour bar in the channel's
unit, and a line cut through the map centre along the fast axis. Points not yet
measured are shown blank (hatched background), and a last panel shows the
``measured`` mask, so a partial or interrupted scan is obvious at a glance.
Point-list scans (a single ``point`` axis) are drawn as channel-versus-point lines.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from mrfm.data.nexus import FileFormatError
from mrfm.plotting.style import figure, save

#: channels drawn as maps (in this order) when present; the others are summarised in text
PRIMARY = ("force", "frequency_shift", "lockin_x", "lockin_y")

#: SI unit -> (scale, prefixed unit) choices, largest scale first
_PREFIXES = ((1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"),
             (1e-21, "z"))


def _scaled(values: np.ndarray, unit: str) -> tuple[float, str]:
    """Scale factor and prefixed unit making the largest finite |value| readable."""
    finite = np.abs(values[np.isfinite(values)])
    peak = float(finite.max()) if finite.size else 0.0
    if not unit or unit in ("K", "") or peak == 0.0 or peak >= 1.0:
        return 1.0, unit
    for scale, prefix in _PREFIXES:
        if peak >= scale:
            return scale, prefix + unit
    return _PREFIXES[-1][0], _PREFIXES[-1][1] + unit


def _axis_label(name: str, scale: float, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def _read(path: str | Path) -> dict:
    try:
        fh = h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot open scan file ({exc})") from None
    with fh:
        entry = fh.get("entry")
        if entry is None or "data" not in entry:
            raise FileFormatError(f"{path}: not an mrfm scan file (no /entry/data)")
        data = entry["data"]
        axes = [a.decode() if isinstance(a, bytes) else str(a) for a in data.attrs["axes"]]
        skip = set(axes) | {"measured", "timestamp"}
        channels = {}
        for name, ds in data.items():
            if name in skip or not isinstance(ds, h5py.Dataset) or ds.dtype.kind != "f":
                continue
            channels[name] = (ds[()], str(ds.attrs.get("units", "")),
                              str(ds.attrs.get("long_name", name)))
        status = entry["status"][()] if "status" in entry else b""
        return {
            "axes": {a: data[a][()] for a in axes},
            "channels": channels,
            "measured": data["measured"][()].astype(bool),
            "status": (status.decode() if isinstance(status, bytes) else str(status)).strip(),
            "title": str(entry.attrs.get("mrfm_title", Path(path).name)),
        }


def plot(path: str | Path, out_png: str | Path) -> None:
    """Render the scan file ``path`` to ``out_png``.

    Parameters
    ----------
    path : str or Path
        A scan file written by ``mrfm scan`` (readable while the scan runs).
    out_png : str or Path
        PNG file to write.
    """
    d = _read(path)
    axes, every, measured = d["axes"], d["channels"], d["measured"]
    if not every:
        raise FileFormatError(f"{path}: the scan file holds no channels to plot")
    channels = {n: every[n] for n in PRIMARY if n in every} or every
    summary = _summary({n: v for n, v in every.items() if n not in channels}, measured)
    n_done, n_total = int(measured.sum()), int(measured.size)
    subtitle = f"{d['status'] or 'unknown status'} — {n_done}/{n_total} points measured"
    names = list(axes)
    if len(names) == 1:
        _plot_points(axes, channels, measured, out_png, subtitle)
        return
    shape = measured.shape
    # the two longest axes are the map; any other axis is cut at its middle
    order = sorted(range(len(shape)), key=lambda i: (-shape[i], i))[:2]
    i_ax, j_ax = sorted(order)
    cut = tuple(slice(None) if k in (i_ax, j_ax) else shape[k] // 2 for k in range(len(shape)))
    cut_desc = ", ".join(
        f"{names[k]} = {axes[names[k]][shape[k] // 2] * 1e9:.3g} nm"
        for k in range(len(shape)) if k not in (i_ax, j_ax)
    )
    xa, ya = axes[names[i_ax]], axes[names[j_ax]]
    sx, ux = _scaled(xa, "m")
    sy, uy = _scaled(ya, "m")
    nrow = len(channels)
    fig, ax = figure(nrow + 1, 2, figsize=(11.5, 3.6 * (nrow + 1)), squeeze=False,
                     layout="constrained")
    extent = _extent(xa / sx, ya / sy)
    for r, (name, (values, unit, long_name)) in enumerate(channels.items()):
        vmap = np.where(measured, values, np.nan)[cut]
        sv, uv = _scaled(vmap, unit)
        a = ax[r, 0]
        a.set_facecolor("0.85")
        im = a.imshow((vmap / sv).T, origin="lower", extent=extent, aspect="auto",
                      interpolation="nearest")
        cb = fig.colorbar(im, ax=a)
        cb.set_label(f"{long_name} ({uv})" if uv else long_name)
        a.set_xlabel(_axis_label(names[i_ax], sx, ux))
        a.set_ylabel(_axis_label(names[j_ax], sy, uy))
        a.set_title(name + (f" at {cut_desc}" if cut_desc else ""))
        jc = vmap.shape[1] // 2
        a.axhline(ya[jc] / sy, color="w", lw=0.8, ls="--")
        b = ax[r, 1]
        b.plot(xa / sx, vmap[:, jc] / sv, "o-", ms=3)
        b.set_xlabel(_axis_label(names[i_ax], sx, ux))
        b.set_ylabel(f"{name} ({uv})" if uv else name)
        b.set_title(f"line cut at {names[j_ax]} = {ya[jc] / sy:.4g} {uy}")
        b.grid(alpha=0.3)
    a = ax[nrow, 0]
    im = a.imshow(measured[cut].T.astype(float), origin="lower", extent=extent, aspect="auto",
                  cmap="Greys_r", vmin=0, vmax=1, interpolation="nearest")
    cb = fig.colorbar(im, ax=a, ticks=[0, 1])
    cb.ax.set_yticklabels(["not measured", "measured"])
    a.set_xlabel(_axis_label(names[i_ax], sx, ux))
    a.set_ylabel(_axis_label(names[j_ax], sy, uy))
    a.set_title(f"measured mask ({n_done}/{n_total})")
    ax[nrow, 1].axis("off")
    ax[nrow, 1].text(0.0, 0.5, f"{d['title']}\n{subtitle}\n\n{summary}", va="center",
                     wrap=True, family="monospace", fontsize=9)
    fig.suptitle(f"scan: {subtitle}")
    save(fig, out_png)


def _summary(channels: dict, measured: np.ndarray) -> str:
    """Range of each auxiliary channel (temperature, field, measured tip position)."""
    rows = []
    for name, (values, unit, _long) in channels.items():
        v = values[measured]
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        scale, u = _scaled(v, unit)
        rows.append(f"{name:<12s} {v.min() / scale:9.4g} .. {v.max() / scale:9.4g} {u}")
    return "\n".join(rows)


def _extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """imshow extent with pixel centres on the grid points (m, scaled)."""

    def edges(v: np.ndarray) -> tuple[float, float]:
        if v.size < 2:
            return float(v[0]) - 0.5, float(v[0]) + 0.5
        h = (v[-1] - v[0]) / (v.size - 1) / 2
        return float(v[0] - h), float(v[-1] + h)

    return (*edges(x), *edges(y))


def _plot_points(axes, channels, measured, out_png, subtitle) -> None:
    index = next(iter(axes.values()))
    fig, ax = figure(len(channels), 1, figsize=(8, 3 * len(channels)), squeeze=False,
                     layout="constrained")
    for r, (values, unit, long_name) in enumerate(channels.values()):
        v = np.where(measured, values, np.nan)
        sv, uv = _scaled(v, unit)
        a = ax[r, 0]
        a.plot(index, v / sv, "o-", ms=3)
        a.set_xlabel("point")
        a.set_ylabel(f"{long_name} ({uv})" if uv else long_name)
        a.grid(alpha=0.3)
    fig.suptitle(f"scan: {subtitle}")
    save(fig, out_png)
