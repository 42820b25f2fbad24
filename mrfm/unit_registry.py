"""The package's one pint unit registry and the lookup of single unit names in it.

Created on first use and read-only afterwards; :mod:`mrfm.units` parses unit strings
into it.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from types import ModuleType
from typing import Any


def pint_module() -> ModuleType:
    """The pint module, imported without its optional dask support.

    Whenever dask is installed, importing pint imports dask too (and with it yaml, jinja2,
    psutil and toolz: about 0.1 s of CPU, a tenth of ``mrfm info``), only to recognise
    dask arrays as magnitudes, which mrfm never makes. While pint is first imported,
    ``sys.modules["dask"]`` is ``None``, so pint finds no dask (``find_spec`` returns
    ``None``); the entry is removed again, and importing dask afterwards works as usual.
    A process that has imported dask before pint keeps pint's dask support.
    """
    module = sys.modules.get("pint")
    if module is not None:
        return module
    hide_dask = "dask" not in sys.modules
    if hide_dask:
        sys.modules["dask"] = None  # type: ignore[assignment]
    try:
        import pint
    finally:
        if hide_dask and "dask" in sys.modules and sys.modules["dask"] is None:
            del sys.modules["dask"]
    return pint


@lru_cache(maxsize=1)
def registry():
    """Return the package's pint UnitRegistry (created once)."""
    pint = pint_module()

    # pint caches its parsed definition files on disk (~/.cache/pint): 15 ms instead of
    # 170 ms at every start of the command line
    try:
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=":auto:")
    except OSError:  # no writable cache folder: parse the definitions every time
        ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # pint's gauss and oersted are the Gaussian-CGS units (dimension g^1/2 cm^-1/2 s^-1), which
    # it refuses to convert to tesla. A magnetic field written in gauss means B, and the SI
    # value of the gauss for B is exactly 1 G = 1e-4 T (BIPM, The International System of
    # Units, 9th ed. (2019), Table 9, note on CGS-Gaussian units). An oersted (H field) is
    # taken as the flux density mu0*H it produces in free space, 1 Oe -> 1e-4 T, as magnet
    # data sheets quote it. lookup_unit() maps every spelling of these names onto the units below.
    ureg.define("mrfm_gauss = 1e-4 * tesla")
    ureg.define("mrfm_oersted = 1e-4 * tesla")
    return ureg


#: CGS field units: spelling -> the SI-based unit defined in :func:`registry`
_CGS_FIELD_SYMBOLS: dict[str, str] = {
    "G": "mrfm_gauss", "kG": "kilomrfm_gauss", "MG": "megamrfm_gauss",
    "mG": "millimrfm_gauss", "uG": "micromrfm_gauss", "µG": "micromrfm_gauss",
    "μG": "micromrfm_gauss", "nG": "nanomrfm_gauss",
    "Oe": "mrfm_oersted", "kOe": "kilomrfm_oersted", "mOe": "millimrfm_oersted",
}
#: CGS field unit names, with any pint prefix before them ("kilogauss", "millioersted")
_CGS_FIELD_NAMES = {"gauss": "mrfm_gauss", "oersted": "mrfm_oersted"}


@lru_cache(maxsize=512)
def lookup_unit(name: str) -> Any:
    """The pint unit called ``name`` (one identifier: no expression is parsed); the CGS
    field units map onto their SI-based definitions.

    Raises
    ------
    LookupError
        No unit of that name.
    """
    ureg = registry()
    if name in _CGS_FIELD_SYMBOLS:
        return ureg.Unit(_CGS_FIELD_SYMBOLS[name])
    for cgs, si in _CGS_FIELD_NAMES.items():
        if name.endswith(cgs):
            name = name[: -len(cgs)] + si
            break
    try:
        return ureg.Unit(name)
    except Exception:  # noqa: BLE001 - pint's lookup raises several types
        raise LookupError(name) from None


__all__ = ["lookup_unit", "pint_module", "registry"]
