"""What the SR830 and SR86x lock-ins share: snapshots, X/Y, aux inputs and outputs,
LF terminations, ``*ESR?`` error checks and the list of settings.

The wire formats differ between the models (INSTRUMENTS.md), so each driver
states its own as class attributes: the SNAP? code table and how many values
one snapshot may take, the aux index range, and the AUXV set spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import Instrument, LimitError, Range, check_esr, parse_csv, parse_float


class SRSLockin(Instrument):
    """Base of :class:`SR830` and :class:`SR865` (not an instrument on its own)."""

    #: snapshot name -> SNAP? code
    snap_codes: Mapping[str, int] = {}
    #: fewest and most values one SNAP? may ask for
    snap_count: tuple[int, int] = (2, 2)
    #: first and last aux channel index
    aux_indices: tuple[int, int] = (1, 4)
    #: AUXV set command, formatted with index i and volts v
    aux_set_format: str = "AUXV {i},{v:.10g}"


    def check_errors(self, after: str = "") -> None:
        """``*ESR?`` after a set: bits 2-5 mean the command was rejected."""
        check_esr(self, after)

    logged = ("frequency", "amplitude", "phase", "sensitivity", "time_constant",
              "filter_slope", "harmonic", "reference_source")

    def settings(self) -> dict[str, Any]:
        """Every setting, read back (SI)."""
        return {n: getattr(self, n) for n in self.logged}

    def snap(self, *names: str) -> tuple[float, ...]:
        """Read several values at the same instant (``SNAP?``), in the order asked.

        Names are the keys of :attr:`snap_codes` (``x, y, r, theta, ...``); values
        in V, deg or Hz.
        """
        model = type(self).__name__
        lo, hi = self.snap_count
        if not lo <= len(names) <= hi:
            raise LimitError(f"{model}.snap: takes {lo} to {hi} names, got {len(names)}")
        try:
            codes = [self.snap_codes[n.lower()] for n in names]
        except KeyError as exc:
            raise LimitError(f"{model}.snap: unknown name {exc.args[0]!r}; "
                             f"known: {', '.join(self.snap_codes)}") from None
        cmd = "SNAP? " + ",".join(str(c) for c in codes)
        return tuple(self.ask(cmd, lambda t: parse_csv(t, len(codes))))

    def xy(self) -> tuple[float, float]:
        """X and Y at the same instant, V."""
        x, y = self.snap("x", "y")
        return x, y

    def _aux_index(self, index: int, what: str) -> int:
        lo, hi = self.aux_indices
        return Range(lo, hi, integer=True)(index, f"{type(self).__name__}.{what} index")

    def aux_in(self, index: int) -> float:
        """Aux input ``index`` (see :attr:`aux_indices`), V."""
        return self.ask(f"OAUX? {self._aux_index(index, 'aux_in')}", parse_float)

    def aux_out(self, index: int) -> float:
        """Aux output ``index`` set-point, V."""
        return self.ask(f"AUXV? {self._aux_index(index, 'aux_out')}", parse_float)

    def set_aux_out(self, index: int, volts: float) -> None:
        """Set aux output ``index`` to ``volts`` (-10.5..10.5 V, and ``limits``)."""
        model = type(self).__name__
        i = self._aux_index(index, "aux_out")
        v = Range(-10.5, 10.5)(volts, f"{model}.aux_out")
        self.check_limit("aux_out", v, mode="abs", unit="V", what=f"{model}.aux_out")
        self.write(self.aux_set_format.format(i=i, v=v))
