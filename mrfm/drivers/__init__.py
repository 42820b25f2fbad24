"""Instrument drivers of the MRFM rig, over pyvisa (and a JSON-RPC socket for the IDS3010).

Every driver takes a resource string and a pyvisa backend, so the same class
talks to hardware, to the virtual rig's sockets and to the pyvisa-sim files in
``instruments/sim``. :func:`open_instrument` opens one from a rig-file entry; which
class serves which rig-file ``driver`` name is the registry's
(:data:`mrfm.rigdef.registry.REGISTRY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mrfm.rigdef.registry import REGISTRY

if TYPE_CHECKING:
    from mrfm.drivers.attocube.ids3010 import IDS3010
    from mrfm.drivers.base import Instrument

#: rig-file driver name -> registry entry (the registry itself, under its old name here)
DRIVERS = REGISTRY


class InstrumentEntry(Protocol):
    """What :func:`open_instrument` reads of a rig-file instrument entry
    (:class:`mrfm.rigdef.rigfile.InstrumentSpec`)."""

    name: str
    driver: str
    resource: str | None
    read_termination: str | None
    write_termination: str | None
    options: Mapping[str, Any]


def driver_class(name: str) -> type:
    """The driver class of a rig-file ``driver`` name (``"srs.sr830"``)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown driver {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name].driver_class()


def constructor_kwargs(spec: InstrumentEntry) -> dict[str, Any]:
    """Driver constructor arguments from a rig-file entry: its terminations, ``timeout``
    and the model's constructor options (registry ``constructor``: rig key -> argument).

    Raises
    ------
    ValueError
        An option of the wrong type (``axes`` not a list, ``channel`` not an integer).
    """
    from mrfm.units import parse_quantity

    where = f"instruments.{spec.name}"
    kwargs: dict[str, Any] = {}
    for key, arg in REGISTRY[spec.driver].constructor.items():
        if key not in spec.options:
            continue
        value = spec.options[key]
        if arg == "axes":
            if not isinstance(value, list) or not value:
                raise ValueError(f"{where}.axes: expected a list of axis ids, got {value!r}")
            value = tuple(str(a) for a in value)
        elif arg in ("channel", "output"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{where}.{key}: expected an integer, got {value!r}")
        else:
            value = str(value)
        kwargs[arg] = value
    if "timeout" in spec.options:
        kwargs["timeout"] = parse_quantity(spec.options["timeout"], "time", f"{where}.timeout")
    if spec.read_termination is not None:
        kwargs["read_termination"] = spec.read_termination
    if spec.write_termination is not None:
        kwargs["write_termination"] = spec.write_termination
    return kwargs


def open_instrument(spec: InstrumentEntry, *, backend: str = "@py",
                    limits: Mapping[str, Any] | None = None,
                    timeout: float | None = None) -> Instrument | IDS3010:
    """Open the driver for one rig-file instrument entry.

    Parameters
    ----------
    spec : InstrumentSpec
        Its ``driver``, ``resource``, terminations and options (see
        :func:`constructor_kwargs`).
    backend : str
        pyvisa backend (``"@py"``; a ``"file.yaml@sim"`` for simulation).
    limits : dict, optional
        Per-instance safety limits (keys of the driver's ``limit_keys``).
    timeout : float, optional
        Reply timeout, s (overrides the entry's ``timeout``).

    Raises
    ------
    InstrumentDisconnected
        The instrument cannot be reached.
    """
    cls = driver_class(spec.driver)
    kwargs = constructor_kwargs(spec)
    kwargs["backend"] = backend
    if timeout is not None:
        kwargs["timeout"] = timeout
    if limits:
        kwargs["limits"] = dict(limits)
    return cls(spec.resource, **kwargs)
