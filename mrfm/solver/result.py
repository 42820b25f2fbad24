"""SignalMap: a simulated signal over the tip-position grid, and its NeXus HDF5 file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mrfm.config import Experiment


@dataclass
class SignalMap:
    """Signal over the tip grid (API.md).

    Attributes
    ----------
    signal : (nx, ny, nz) float64
        Signal at tip positions (x, y, height) in ``unit``.
    unit : str
        "N" (Curie force), "N^2" (force variance), "Hz" (frequency shift),
        "Hz^2" (frequency-shift variance).
    coords : dict
        {"x": (nx,), "y": (ny,), "z": (nz,)} tip positions, m; z are tip heights.
    protocol : str
        "CAI", "OSCAR", "iOSCAR", "CERMIT" or "force-gradient".
    polarization : str
        "curie" or "statistical".
    method : str
        "direct" or "fft".
    elapsed_s : float
        Wall time of the computation, s.
    experiment : Experiment or None
        The experiment simulated (for file metadata).
    """

    signal: np.ndarray
    unit: str
    coords: dict[str, np.ndarray]
    protocol: str
    polarization: str = "curie"
    method: str = "direct"
    elapsed_s: float = 0.0
    experiment: Experiment | None = field(default=None, repr=False)

    @property
    def peak(self) -> float:
        """Largest |signal| in ``unit``."""
        return float(np.max(np.abs(self.signal))) if self.signal.size else 0.0

    def to_hdf5(self, path: str | Path) -> Path:
        """Write a NeXus file: /entry (mrfm_kind="signal_map"), /entry/data, instrument, sample.

        The file appears atomically (temporary name, then rename). Returns the path.
        """
        from mrfm.data import nexus

        exp = self.experiment
        config_text = None if exp is None else exp.source_text
        with nexus.atomic_h5(path) as fh:
            entry = nexus.create_entry(
                fh, kind="signal_map", config_text=config_text,
                title=f"{self.protocol} signal map ({self.polarization} polarization)",
                start_time=_started(self.elapsed_s))
            entry.attrs["protocol"] = self.protocol
            data = nexus.group(entry, "data", "NXdata")
            data.attrs["signal"] = "signal"
            data.attrs["axes"] = ["x", "y", "z"]
            for i, axis in enumerate(("x", "y", "z")):
                data.attrs[f"{axis}_indices"] = i
            sig = nexus.write_dataset(data, "signal", np.asarray(self.signal, dtype=float),
                                      self.unit, long_name=f"{self.protocol} signal")
            sig.attrs["protocol"] = self.protocol
            sig.attrs["polarization"] = self.polarization
            sig.attrs["method"] = self.method
            nexus.write_dataset(data, "x", np.asarray(self.coords["x"], dtype=float), "m",
                                long_name="tip x")
            nexus.write_dataset(data, "y", np.asarray(self.coords["y"], dtype=float), "m",
                                long_name="tip y")
            nexus.write_dataset(data, "z", np.asarray(self.coords["z"], dtype=float), "m",
                                long_name="tip height above the sample surface")
            nexus.write_plot(entry, "signal", self.signal, self.unit, {
                "x": (self.coords["x"], "m"), "y": (self.coords["y"], "m"),
                "z": (self.coords["z"], "m")}, long_name=f"{self.protocol} signal",
                shape=tuple(np.shape(self.signal)))
            if exp is not None:
                nexus.write_experiment_metadata(entry, exp)
            nexus.finish_entry(entry)
        return Path(path)

    @classmethod
    def from_hdf5(cls, path: str | Path) -> SignalMap:
        """Read a signal map written by :meth:`to_hdf5` (FileFormatError if it is not one)."""
        from mrfm.data import nexus

        with nexus.open_mrfm_file(path, kinds=("signal_map",)) as fh:
            data = fh["entry/data"]
            try:
                sig = data["signal"]
                unit = nexus.units_of(sig)
                protocol = sig.attrs.get("protocol", "")
                polarization = sig.attrs.get("polarization", "curie")
                method = sig.attrs.get("method", "")
                coords = {a: np.asarray(data[a][()], dtype=float) for a in ("x", "y", "z")}
                signal = np.asarray(sig[()], dtype=float)
            except KeyError as exc:
                raise nexus.FileFormatError(f"{path}: signal map lacks {exc}") from None
        return cls(signal=signal, unit=unit, coords=coords, protocol=_text(protocol),
                   polarization=_text(polarization), method=_text(method))


def _started(elapsed_s: float) -> str:
    """ISO 8601 (UTC) time ``elapsed_s`` seconds ago: when the computation began."""
    import datetime as dt

    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=max(0.0, float(elapsed_s)))
    return start.isoformat(timespec="seconds")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
