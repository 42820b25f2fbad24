"""Helpers shared by the interoperability tests (stock QCoDeS and PyMeasure drivers)."""

from __future__ import annotations

from typing import Protocol

#: driver classes (QCoDeS and PyMeasure names) of models with an IEEE 488.2 ``*ESR?``
#: and no error queue: SR830, SR86x, Lake Shore 336
ESR_MODELS = frozenset({"SR830", "SR860", "SR865A", "LakeshoreModel336"})
#: driver classes of the SG38x, whose error queue is ``LERR?`` (0: no error)
LERR_MODELS = frozenset({"SG380", "SG384"})
#: ``*ESR`` bits 4 and 5: execution and command errors
ESR_ERROR_MASK = 48


class Asks(Protocol):
    """A driver that sends a query and returns its reply (both stacks name it ``ask``)."""

    def ask(self, command: str) -> str: ...


def errors(inst: Asks) -> str:
    """The instrument's error report, "" when it has none (each model its own way).

    ``*ESR?`` for :data:`ESR_MODELS`, ``LERR?`` for :data:`LERR_MODELS`, ``SYST:ERR?``
    (``+0,"No error"``) for the SCPI models (AMI 430, Keysight 33500B). Reading it
    clears it, so a test calls this first to forget what came before.
    """
    kind = type(inst).__name__
    if kind in ESR_MODELS:
        esr = int(inst.ask("*ESR?"))
        return f"ESR {esr}" if esr & ESR_ERROR_MASK else ""
    if kind in LERR_MODELS:
        code = inst.ask("LERR?").strip()
        return "" if code == "0" else f"LERR {code}"
    reply = inst.ask("SYST:ERR?").strip()
    return "" if reply.lstrip("+").startswith("0,") else reply
