"""Figures of scan files (``mrfm plot SCAN.h5 -o FIG.png``).

One row per recorded channel: a 2-D map over the two longest grid axes (x, y,
or height) at the middle of any third axis, with a colour bar in the channel's
unit (diverging about zero for a signed channel, sequential for a non-negative one),
and a line cut through the map centre along the fast axis. Points not yet measured
are shown blank (grey background); a partial or interrupted scan adds a panel with
the ``measured`` mask, so it is obvious at a glance.
Point-list scans (a single ``point`` axis) are drawn as channel-versus-point lines.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from mrfm.data.nexus import FileFormatError
from mrfm.plotting.style import colour_scale, extent, figure, label, save, scaled_unit

#: channels drawn as maps (in this order) when present; the others are summarised in text
PRIMARY = ("force", "frequency_shift", "lockin_x", "lockin_y")


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
        Figure to write (png, pdf or svg, from the extension).
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
    sx, ux = scaled_unit(xa, "m")
    sy, uy = scaled_unit(ya, "m")
    nrow = len(channels)
    complete = n_done == n_total
    last = 0.45 if complete else 1.0  # a text row is lower than a map row
    fig, ax = figure(nrow + 1, 2, figsize=(11.5, 3.6 * (nrow + last)), squeeze=False,
                     layout="constrained", height_ratios=[1.0] * nrow + [last])
    box = extent(xa * sx, ya * sy)
    for r, (name, (values, unit, long_name)) in enumerate(channels.items()):
        vmap = np.where(measured, values, np.nan)[cut]
        sv, uv = scaled_unit(vmap, unit)
        a = ax[r, 0]
        a.set_facecolor("0.85")
        im = a.imshow((vmap * sv).T, origin="lower", extent=box, aspect="auto",
                      interpolation="nearest", **colour_scale(vmap * sv, unit))
        cb = fig.colorbar(im, ax=a)
        cb.set_label(label(long_name, uv))
        a.set_xlabel(label(names[i_ax], ux))
        a.set_ylabel(label(names[j_ax], uy))
        a.set_title(name + (f" at {cut_desc}" if cut_desc else ""))
        jc = vmap.shape[1] // 2
        a.axhline(ya[jc] * sy, color="k", lw=0.8, ls="--", alpha=0.6)
        b = ax[r, 1]
        b.plot(xa * sx, vmap[:, jc] * sv, "o-", ms=3)
        b.axhline(0.0, color="0.6", lw=0.8)
        b.set_xlabel(label(names[i_ax], ux))
        b.set_ylabel(label(name, uv))
        b.set_title(f"line cut at {names[j_ax]} = {ya[jc] * sy:.4g} {uy}")
        b.grid(alpha=0.3)
    text = f"{d['title']}\n{subtitle}\n\n{summary}"
    if not complete:  # the mask says which points are missing
        a = ax[nrow, 0]
        im = a.imshow(measured[cut].T.astype(float), origin="lower", extent=box,
                      aspect="auto", cmap="Greys_r", vmin=0, vmax=1, interpolation="nearest")
        cb = fig.colorbar(im, ax=a, ticks=[0, 1])
        cb.ax.set_yticklabels(["not measured", "measured"])
        a.set_xlabel(label(names[i_ax], ux))
        a.set_ylabel(label(names[j_ax], uy))
        a.set_title(f"measured mask ({n_done}/{n_total})")
        notes = ax[nrow, 1]
    else:  # complete: one text panel across the row, no empty mask
        ax[nrow, 1].remove()
        notes = ax[nrow, 0]
    notes.axis("off")
    notes.text(0.0, 0.5, text, va="center", wrap=True, family="monospace", fontsize=9)
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
        scale, u = scaled_unit(v, unit)
        rows.append(f"{name:<12s} {v.min() * scale:9.4g} .. {v.max() * scale:9.4g} {u}")
    return "\n".join(rows)


def _plot_points(axes, channels, measured, out_png, subtitle) -> None:
    index = next(iter(axes.values()))
    fig, ax = figure(len(channels), 1, figsize=(8, 3 * len(channels)), squeeze=False,
                     layout="constrained")
    for r, (values, unit, long_name) in enumerate(channels.values()):
        v = np.where(measured, values, np.nan)
        sv, uv = scaled_unit(v, unit)
        a = ax[r, 0]
        a.plot(index, v * sv, "o-", ms=3)
        a.set_xlabel("point")
        a.set_ylabel(label(long_name, uv))
        a.grid(alpha=0.3)
    fig.suptitle(f"scan: {subtitle}")
    save(fig, out_png)
