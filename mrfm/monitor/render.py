"""The monitor's figures, rendered server-side with matplotlib to PNG bytes.

Three figures of a :class:`~mrfm.monitor.snapshot.Snapshot`: the map of one channel
(filling in as lines arrive, colour bar in the channel's unit, points not measured yet
shown blank), the latest line beside the line before it, and every recorded channel
against time. Each is drawn on its own :class:`matplotlib.figure.Figure` (no pyplot
state, so nothing is shared between the server's threads) with the package's plot
style, and the server caches the bytes per file state.
"""

from __future__ import annotations

import io
import math
import struct

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mrfm.monitor.snapshot import ChannelData, Snapshot
from mrfm.plotting.style import RC, colour_scale
from mrfm.plotting.style import label as _label
from mrfm.plotting.style import scaled_unit as _scale

#: figure resolution for the page (pixels per inch)
DPI = 96
_UNMEASURED = "#e6e6e6"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _message(text: str, size: tuple[float, float]) -> bytes:
    with mpl.rc_context(RC):
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, text, ha="center", va="center", color="0.35", wrap=True)
        return _png(fig)


def _plane(snap: Snapshot) -> int:
    """Height plane shown: that of the latest point (the first before any point)."""
    index = snap.latest_index()
    return index[2] if index is not None and len(index) == 3 else 0


def render_map(snap: Snapshot, channel: str) -> bytes:
    """PNG of ``channel`` over the scan grid (x, y) at the current height plane."""
    c = snap.channel(channel)
    if c.values.ndim != 3:
        return _points_plot(snap, c, (6.4, 5.0))
    x, y = snap.axes[list(snap.axes)[0]], snap.axes[list(snap.axes)[1]]
    k = _plane(snap)
    values = c.values[:, :, k]
    lf, lu = _scale(np.concatenate([x, y]), "m")
    vf, vu = _scale(values, c.unit)
    dx = (x[1] - x[0]) / 2 if x.size > 1 else 1e-9
    dy = (y[1] - y[0]) / 2 if y.size > 1 else 1e-9
    extent = ((x[0] - dx) * lf, (x[-1] + dx) * lf, (y[0] - dy) * lf, (y[-1] + dy) * lf)
    with mpl.rc_context(RC):
        fig = Figure(figsize=(6.4, 5.0), layout="constrained")
        ax = fig.add_subplot()
        ax.set_facecolor(_UNMEASURED)
        shown = np.ma.masked_invalid(values.T * vf)
        # sequential for a non-negative channel, diverging about 0 for a signed one
        im = ax.imshow(shown, origin="lower", extent=extent, aspect="equal",
                       interpolation="nearest", **colour_scale(values * vf, c.unit))
        cbar = fig.colorbar(im, ax=ax, shrink=0.9)
        cbar.set_label(_label(c.name, vu))
        index = snap.latest_index()
        if index is not None:
            ax.axhline(y[index[1]] * lf, color="k", lw=0.9, ls="--", alpha=0.7)
        ax.set_xlabel(_label("tip x", lu))
        ax.set_ylabel(_label("tip y", lu))
        heights = snap.axes.get("height", np.array([math.nan]))
        hf, hu = _scale(heights, "m")
        plane = f"height {heights[k] * hf:.4g} {hu}; " if np.isfinite(heights[k]) else ""
        if heights.size > 1:
            plane = f"{plane[:-2]} (plane {k + 1} of {heights.size}); "
        n = int(np.isfinite(values).sum())
        ax.set_title(f"{c.long_name}\n{plane}{n}/{values.size} points measured "
                     "(grey: not yet; dashed: latest line)", fontsize=10)
        return _png(fig)


def _points_plot(snap: Snapshot, c: ChannelData, size: tuple[float, float]) -> bytes:
    """Point-list scans: the channel against point number."""
    vals = c.values.ravel()
    vf, vu = _scale(vals, c.unit)
    with mpl.rc_context(RC):
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
        ax.plot(np.arange(vals.size), vals * vf, "o-", ms=3)
        ax.set_xlabel("point")
        ax.set_ylabel(_label(c.name, vu))
        ax.set_xlim(-0.5, vals.size - 0.5)
        ax.grid(alpha=0.3)
        return _png(fig)


def render_line(snap: Snapshot, channel: str) -> bytes:
    """PNG of ``channel`` along the latest line (fast axis x), with the line before it."""
    c = snap.channel(channel)
    if c.values.ndim != 3:
        return _points_plot(snap, c, (6.4, 5.0))
    index = snap.latest_index()
    if index is None:
        return _message("no line measured yet", (6.4, 5.0))
    x, y = snap.axes[list(snap.axes)[0]], snap.axes[list(snap.axes)[1]]
    _, j, k = index
    # the line measured before this one: the latest point on another (y, height) line
    ts = np.where(snap.measured, snap.timestamp, -np.inf)
    other = ts.copy()
    other[:, j, k] = -np.inf
    prev = None
    if np.isfinite(other).any():
        prev = np.unravel_index(int(np.argmax(other)), other.shape)[1:]
    lf, lu = _scale(x, "m")
    vf, vu = _scale(c.values[:, j, k], c.unit)
    yf, yu = _scale(y, "m")
    with mpl.rc_context(RC):
        fig = Figure(figsize=(6.4, 5.0), layout="constrained")
        ax = fig.add_subplot()
        if prev is not None:
            pj, pk = prev
            ax.plot(x * lf, c.values[:, pj, pk] * vf, "o-", ms=3, color="0.6",
                    label=f"previous line, y = {y[pj] * yf:.4g} {yu}")
        ax.plot(x * lf, c.values[:, j, k] * vf, "o-", ms=4, color="tab:red",
                label=f"latest line, y = {y[j] * yf:.4g} {yu}")
        ax.set_xlabel(_label("tip x", lu))
        ax.set_ylabel(_label(c.name, vu))
        if x.size > 1:
            ax.set_xlim(x[0] * lf, x[-1] * lf)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=9)
        ax.set_title(f"{c.long_name}\nline {j + 1} of {y.size}", fontsize=10)
        return _png(fig)


def _time_axis(span: float) -> tuple[float, str]:
    if span >= 3 * 3600:
        return 1 / 3600, "h"
    if span >= 3 * 60:
        return 1 / 60, "min"
    return 1.0, "s"


#: above this many points, channels against time are drawn as a min/max envelope per bin
MAX_POINTS = 3000


def _envelope(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ~MAX_POINTS vertices: each bin of points drawn as its minimum and maximum."""
    if t.size <= MAX_POINTS:
        return t, v
    k = math.ceil(t.size / (MAX_POINTS // 2))
    n = t.size // k * k
    tb, vb = t[:n].reshape(-1, k), v[:n].reshape(-1, k)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(vb, axis=1), np.nanmax(vb, axis=1)
    tt = np.repeat(tb.mean(axis=1), 2)
    vv = np.column_stack([lo, hi]).ravel()
    return np.concatenate([tt, t[n:]]), np.concatenate([vv, v[n:]])


def render_channels(snap: Snapshot) -> bytes:
    """PNG of every recorded channel against the scan's time axis (s since file creation)."""
    ts = snap.timestamp.ravel()
    order = np.argsort(np.where(np.isfinite(ts), ts, np.inf))
    order = order[np.isfinite(ts[order])]
    n = len(snap.channels)
    if n == 0:
        return _message("the file holds no channels", (10.0, 3.0))
    if order.size == 0:
        return _message("no point measured yet", (10.0, 3.0))
    t = ts[order]
    tf, tu = _time_axis(float(t[-1] - t[0]) if t.size > 1 else 0.0)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    with mpl.rc_context({**RC, "font.size": 9, "axes.labelsize": 9, "axes.titlesize": 9}):
        fig = Figure(figsize=(12.0, 1.7 * rows + 0.5), layout="constrained")
        axs = fig.subplots(rows, cols, sharex=True, squeeze=False)
        for i, c in enumerate(snap.channels):
            ax = axs[i // cols][i % cols]
            v = c.values.ravel()[order]
            vf, vu = _scale(v, c.unit)
            tt, vv = _envelope(t, v)
            ax.plot(tt * tf, vv * vf, ".-" if t.size <= 400 else "-", ms=2, lw=0.6)
            ax.set_ylabel(vu or "-")
            ax.set_title(c.long_name, loc="left")
            ax.grid(alpha=0.3)
            ax.ticklabel_format(axis="y", useOffset=False)
        for j in range(n, rows * cols):
            axs[j // cols][j % cols].set_axis_off()
        for ax in axs[-1]:
            ax.set_xlabel(f"time since scan start ({tu})")
        if n % cols:
            axs[-2][-1].xaxis.set_tick_params(labelbottom=True)
            axs[-2][-1].set_xlabel(f"time since scan start ({tu})")
        return _png(fig)


def render_favicon() -> bytes:
    """A 32 x 32 icon (a small map in viridis) as an ICO file holding one PNG."""
    with mpl.rc_context(RC):
        fig = Figure(figsize=(1, 1))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        g = np.linspace(-1, 1, 8)
        ax.imshow(np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) * 2) * np.sign(g)[None, :],
                  cmap="viridis", interpolation="nearest")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=32)
    png = buf.getvalue()
    # ICONDIR (reserved, type 1 = icon, 1 image) + ICONDIRENTRY (32 x 32, 32 bpp, PNG data)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 32, 32, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png
