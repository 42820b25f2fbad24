"""The catalogue of published cantilevers, tip magnets and samples (``models/*.toml``).

Each file holds one TOML table per entry; every entry carries a ``source``
naming the paper (and figure, table or sentence) its numbers come from. An
experiment section refers to an entry with ``model = "<name>"`` and may
override any of its keys.
"""

from __future__ import annotations

import tomllib
from functools import cache

from mrfm.config.schema import TomlValue, suggest
from mrfm.errors import ConfigError
from mrfm.resources import data_dir

#: experiment section -> catalogue file in models/
CATALOGUE_FILES = {
    "cantilever": "cantilevers.toml",
    "magnet": "magnets.toml",
    "sample": "samples.toml",
}


@cache
def _read(filename: str) -> dict[str, dict[str, TomlValue]]:
    path = data_dir("models") / filename
    with path.open("rb") as fh:
        return tomllib.load(fh)


def catalogue(section: str) -> dict[str, dict[str, TomlValue]]:
    """Return all entries of the catalogue for ``section`` (``"cantilever"``, ...), by name.

    The returned dict is a fresh copy; changing it does not change the catalogue.
    """
    if section not in CATALOGUE_FILES:
        raise KeyError(f"no catalogue for section {section!r}")
    return {name: dict(entry) for name, entry in _read(CATALOGUE_FILES[section]).items()}


def entry(section: str, name: object, path: str) -> dict[str, TomlValue]:
    """Return a copy of catalogue entry ``name`` for ``section``; ConfigError if unknown.

    ``path`` is the field path used in the error message (``"cantilever.model"``).
    """
    entries = catalogue(section)
    if not isinstance(name, str) or name not in entries:
        known = sorted(entries)
        raise ConfigError(
            f"{path}: unknown {section} {name!r}{suggest(str(name), known)}; "
            f"catalogue entries: {', '.join(known)}"
        )
    return entries[name]
