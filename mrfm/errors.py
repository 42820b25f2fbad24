"""Exception types shared across mrfm.

``UserError`` is everything a user can fix (a bad file, a bad value, a job too
large for this machine); the command line prints its message as one line and
exits with code 2. Instrument faults derive from :class:`InstrumentFault`; their
hierarchy is in :mod:`mrfm.drivers.errors` and they exit with code 3.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input that the user can correct; the message says what and how."""


class ConfigError(UserError):
    """An experiment file or override is invalid.

    The message names the field path (``cantilever.k``), the value given and
    what is allowed.
    """


class ResourceLimitError(UserError):
    """A job would not fit in memory or on disk; the message carries the estimate."""


class InstrumentFault(Exception):
    """Base of every instrument fault (:class:`mrfm.drivers.errors.InstrumentError`);
    defined here so code that only reports faults need not import the drivers (pyvisa)."""
