"""Faults that do not raise by themselves: a frozen lock-in, a scanner that does not follow.

An instrument that keeps answering but has stopped measuring (readings frozen by a
firmware hang, a stuck ADC, a reply cache of a protocol bridge) looks healthy to every
timeout and parser. The scan recognises it from what physics requires of the readings:

* the lock-in's X and Y always carry noise (the detector's, the cantilever's thermal
  motion), so :data:`NOISY_CHANNELS` that stay bit-identical over ``stuck_reads``
  consecutive points are frozen (:class:`FrozenReadings`); those points are discarded
  and the scan stops with :class:`InstrumentStuck`;
* a closed-loop scanner reports on target only within its servo window, so a position
  read back farther than ``position_tolerance`` from the set-point after settling means
  the stage (or its sensor) does not follow (:class:`ScannerNotFollowing`).
"""

from __future__ import annotations

from collections.abc import Mapping

from mrfm.drivers.errors import InstrumentError

#: channels of every scan that noise must change from one point to the next
NOISY_CHANNELS = ("lockin_x", "lockin_y")


class InstrumentStuck(InstrumentError):
    """An instrument answers, but its readings no longer change (frozen).

    Attributes
    ----------
    indices : tuple of tuple of int
        Grid indices of the points read while frozen (discarded from the file).
    """

    def __init__(self, message: str, indices: tuple[tuple[int, ...], ...] = ()) -> None:
        super().__init__(message)
        self.indices = indices


class ScannerNotFollowing(InstrumentError):
    """The scanner's position read back is not its set-point after settling."""


class FrozenReadings:
    """Detects ``count`` consecutive points whose noisy channels are bit-identical.

    Parameters
    ----------
    count : int
        Consecutive identical readings that mean frozen (0: never).
    channels : tuple of str
        Channel names compared (all of them must repeat exactly).
    instrument : str
        Named in the message (``"instruments.lockin"``).
    """

    def __init__(self, count: int, channels: tuple[str, ...] = NOISY_CHANNELS,
                 instrument: str = "lock-in") -> None:
        self.count = int(count)
        self.channels = channels
        self.instrument = instrument
        self._last: tuple[float, ...] | None = None
        self._run: list[tuple[int, ...]] = []

    def check(self, index: tuple[int, ...], values: Mapping[str, float]) -> None:
        """Add one point's readings.

        Raises
        ------
        InstrumentStuck
            The last ``count`` points (this one included) read bit-identical values;
            its ``indices`` are those points.
        """
        if self.count < 2:
            return
        key = tuple(values[c] for c in self.channels if c in values)
        if not key:
            return
        if key == self._last:
            self._run.append(index)
        else:
            self._last, self._run = key, [index]
        if len(self._run) >= self.count:
            shown = ", ".join(f"{c} = {v!r}" for c, v in zip(self.channels, key, strict=False))
            raise InstrumentStuck(
                f"{self.instrument}: readings frozen ({shown} bit-identical over "
                f"{len(self._run)} consecutive points, where noise must change them); "
                f"those {len(self._run)} points are discarded",
                tuple(self._run),
            )
