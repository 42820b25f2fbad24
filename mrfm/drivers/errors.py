"""Typed instrument exceptions.

Everything an instrument (or its connection) can do wrong maps to one of these;
the command line exits with code 3 for any :class:`InstrumentError`.
"""

from __future__ import annotations


class InstrumentError(Exception):
    """An instrument reported an error or could not be talked to."""


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer within its timeout."""


class InstrumentDisconnected(InstrumentError):
    """The connection to the instrument was lost or could not be opened."""


class InvalidResponse(InstrumentError):
    """The instrument answered something that does not parse (garbage, wrong format)."""


class LimitError(InstrumentError, ValueError):
    """A set-point outside the instrument's or the rig's limits; nothing was sent."""
