"""The command syntax of the Stanford Research (and Lake Shore) instruments: a mnemonic,
an optional ``?`` and comma-separated arguments, spaces optional (``SENS5``, ``SENS 5``,
``SRAT ?``, ``OUTP?1``); see the SR830 manual, ch. 5."""

from __future__ import annotations

import re

from mrfm.rig.instruments.base import COMMAND_ERROR, CommandError

MNEMONIC = re.compile(r"^\s*(\*?[A-Za-z]+)\s*(\?)?\s*(.*?)\s*$", re.S)

#: parsed commands (a client repeats a few dozen commands, ``OUTP? 1`` thousands of
#: times): command text -> srs_split result; bounded, emptied when full
_SPLIT_CACHE: dict[str, tuple[str, bool, str]] = {}
_SPLIT_CACHE_SIZE = 1024


def srs_split(command: str) -> tuple[str, bool, str]:
    """(MNEMONIC upper-case, is_query, argument text) of one SRS command."""
    hit = _SPLIT_CACHE.get(command)
    if hit is not None:
        return hit
    m = MNEMONIC.match(command)
    if not m:
        raise CommandError.of(COMMAND_ERROR, command[:40])
    parsed = (m.group(1).upper(), bool(m.group(2)), m.group(3))
    if len(command) <= 64:
        if len(_SPLIT_CACHE) >= _SPLIT_CACHE_SIZE:
            _SPLIT_CACHE.clear()
        _SPLIT_CACHE[command] = parsed
    return parsed
