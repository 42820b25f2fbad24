"""Names of a package imported from their modules on first access (PEP 562).

A package whose public names live in heavy modules (numba kernels, the compiled solver)
lists them here instead of importing them, so that importing the package, or one of its
light submodules, stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping


def lazy_exports(package: str, names: dict[str, str], namespace: MutableMapping[str, object]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Parameters
    ----------
    package : str
        The package's name, for the error message.
    names : dict
        Public name -> the module (full dotted name) that defines it.
    namespace : dict
        The package's ``globals()``; a name is stored there once imported, so later
        lookups do not come back here.
    """

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
