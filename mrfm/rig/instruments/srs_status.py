"""Status registers of the SR830 (SR830 manual, ch. 5 "Status reporting commands").

Three event registers, each with an enable register: the standard event status
(``*ESR?``, enable ``*ESE``), the lock-in status (``LIAS?``, enable ``LIAE``) and
the error status (``ERRS?``, enable ``ERRE``). Reading an event register clears
it; reading one bit (``LIAS? 2``) clears only that bit. The serial poll status
byte (``*STB?``, enable ``*SRE``) summarises them: bit 0 SCN (no data storage in
progress), 1 IFC (no command executing), 2 ERR, 3 LIA, 5 ESB (an enabled bit of
the respective event register is set), 4 MAV (a reply waits: never, once the
query is answered), 6 MSS (an enabled bit of the status byte is set).
Enable registers take a whole value (``LIAE 4``) or one bit (``LIAE 2,1``).
"""

from __future__ import annotations

from mrfm.rig.instruments.base import COMMAND_ERROR, CommandError, in_range, need, parse_int

#: status byte bits
STB_SCN, STB_IFC, STB_ERR, STB_LIA, STB_MAV, STB_ESB, STB_MSS = (1, 2, 4, 8, 16, 32, 64)

#: event register query -> enable register command
EVENT_REGISTERS = {"*ESR": "*ESE", "LIAS": "LIAE", "ERRS": "ERRE"}
ENABLE_REGISTERS = ("*ESE", "*SRE", "LIAE", "ERRE")


class StatusRegisters:
    """The event and enable registers of one SR830."""

    def __init__(self) -> None:
        self.events = {"*ESR": 0, "LIAS": 0, "ERRS": 0}
        self.enables = dict.fromkeys(ENABLE_REGISTERS, 0)

    def clear_events(self) -> None:
        """``*CLS``: clear the event registers (the enables stay)."""
        for key in self.events:
            self.events[key] = 0

    def status_byte(self, storing: bool) -> int:
        """The serial poll status byte (``storing``: data storage in progress)."""
        ev, en = self.events, self.enables
        stb = STB_IFC | (0 if storing else STB_SCN)
        if ev["ERRS"] & en["ERRE"]:
            stb |= STB_ERR
        if ev["LIAS"] & en["LIAE"]:
            stb |= STB_LIA
        if ev["*ESR"] & en["*ESE"]:
            stb |= STB_ESB
        if stb & en["*SRE"] & ~STB_MSS:
            stb |= STB_MSS
        return stb

    def read_event(self, head: str, args: list[str]) -> str:
        """``*ESR? {i}``, ``LIAS? {i}``, ``ERRS? {i}``: read, and clear what was read."""
        need(args, (0, 1), head)
        value = self.events[head]
        if args:
            bit = int(in_range(parse_int(args[0], head), 0, 7, "bit"))
            self.events[head] = value & ~(1 << bit)
            return str((value >> bit) & 1)
        self.events[head] = 0
        return str(value)

    def read_status_byte(self, args: list[str], storing: bool) -> str:
        """``*STB? {i}`` (not cleared by reading)."""
        need(args, (0, 1), "*STB")
        stb = self.status_byte(storing)
        if args:
            bit = int(in_range(parse_int(args[0], "*STB"), 0, 7, "bit"))
            return str((stb >> bit) & 1)
        return str(stb)

    def enable(self, head: str, query: bool, args: list[str]) -> str | None:
        """``*ESE``, ``*SRE``, ``LIAE``, ``ERRE``: set or read a whole register or one bit."""
        if query:
            need(args, (0, 1), head)
            value = self.enables[head]
            if args:
                bit = int(in_range(parse_int(args[0], head), 0, 7, "bit"))
                return str((value >> bit) & 1)
            return str(value)
        need(args, (1, 2), head)
        if len(args) == 1:
            self.enables[head] = int(in_range(parse_int(args[0], head), 0, 255, head))
            return None
        bit = int(in_range(parse_int(args[0], head), 0, 7, "bit"))
        on = int(in_range(parse_int(args[1], head), 0, 1, head))
        value = self.enables[head] & ~(1 << bit)
        self.enables[head] = value | (on << bit)
        return None


def not_a_query(head: str) -> CommandError:
    """The error of a query-only mnemonic sent without ``?``."""
    return CommandError.of(COMMAND_ERROR, f"{head} is a query")
