"""The rig's safe state at the end of every scan: :func:`make_safe`.

RF off (and read back off), function-generator outputs off, the tip retracted to the
safe height and parked in small steps (its position read back), the coarse steppers
stopped and grounded. Every step is tried even if an earlier one failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from mrfm.drivers.errors import InstrumentError

if TYPE_CHECKING:
    from mrfm.drivers.attocube.anc300 import ANC300
    from mrfm.scan.rig_handle import DriverRig


def make_safe(rig: DriverRig, safe_height: float) -> list[str]:
    """Put ``rig`` in its safe state; the steps that failed, as readable lines (an empty
    list means the rig is safe). The changed instruments are read back for the logbook."""
    problems: list[str] = []

    def step(what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - try every step, report each failure
            problems.append(f"{what} failed ({exc.__class__.__name__}: {exc})")

    drivers = rig.drivers
    if drivers.rf is not None:
        step("RF output off", lambda: rf_off(rig))
    if drivers.awg is not None:
        step("function generator outputs off", drivers.awg.outputs_off)
    step(f"retract to {safe_height:.3g} m and park", lambda: retract_and_park(rig, safe_height))
    coarse = drivers.coarse
    if coarse is not None:
        axes = rig.coarse_axes()
        step("ground the coarse steppers", lambda: ground(coarse, axes))
    for role in ("rf", "awg", "scanner", "coarse"):
        if role in drivers:
            rig.changed(role)
    return problems


def rf_off(rig: DriverRig) -> None:
    """RF output off, and read back off (a frozen synthesizer does not confirm it)."""
    rf = rig.drivers.rf
    assert rf is not None
    rf.output = False
    rig.rf_set_on = False
    if rf.output:
        raise InstrumentError("the output still reads on after switching it off")


def ground(coarse: ANC300, axes: tuple[int, ...]) -> None:
    """Stop any stepping, then ground every listed ANC300 axis."""
    for a in axes:
        coarse.stop(a)
        coarse.ground(a)


def retract_and_park(rig: DriverRig, safe_height: float) -> None:
    """Up to ``safe_height`` first, then across to the park position, in steps of at most
    the scanner's ``park_step``; the position read back must be the park position."""
    scanner = rig.drivers.scanner
    x, y, h = rig.cal.to_tip(scanner.position())
    step = rig.cal.park_step
    for z in _ramp(h, max(h, safe_height), step):
        rig.move_to((x, y, z))
    z = max(h, safe_height)
    px, py = rig.cal.park
    n = max(1, math.ceil(math.hypot(px - x, py - y) / step))
    for k in range(1, n + 1):
        rig.move_to((x + (px - x) * k / n, y + (py - y) * k / n, z))
    if z > safe_height:  # came from above the safe height: settle back down to it
        for zz in _ramp(z, safe_height, step):
            rig.move_to((px, py, zz))
    rig.check_follows(rig.cal.to_tip(scanner.position()))


def _ramp(start: float, stop: float, step: float) -> list[float]:
    """Points from ``start`` (excluded) to ``stop`` (included) in steps of at most ``step``."""
    n = max(1, math.ceil(abs(stop - start) / step))
    return [stop if k == n else start + (stop - start) * k / n for k in range(1, n + 1)]
