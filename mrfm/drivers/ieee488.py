"""IEEE 488.2 status reporting shared by the instruments without an error queue.

The SR830, SR86x and Lake Shore 336 report a rejected command only in the standard
event status register: :func:`check_esr` reads ``*ESR?`` (which clears it) after a set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrfm.drivers.errors import CommandRejected
from mrfm.drivers.values import parse_int

if TYPE_CHECKING:
    from mrfm.drivers.base import Instrument

#: IEEE 488.2 standard event status register bits that report an error
ESR_ERROR_BITS = {
    2: "query error",
    3: "device-dependent error",
    4: "execution error (parameter out of range or not allowed now)",
    5: "command error (unknown command or bad syntax)",
}


def check_esr(inst: Instrument, after: str) -> None:
    """Error check of instruments without an error queue: read ``*ESR?`` (clears it on read).

    Raises
    ------
    CommandRejected
        Any of the error bits 2-5 is set; the message names them.
    """
    value = inst.ask("*ESR?", parse_int, retries=0)
    bad = [text for bit, text in ESR_ERROR_BITS.items() if value & (1 << bit)]
    if bad:
        raise CommandRejected(inst._where(f"rejected {after!r}: *ESR? = {value} ("
                                          + "; ".join(bad) + ")"))
