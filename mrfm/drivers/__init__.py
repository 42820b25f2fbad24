"""Instrument drivers of the MRFM rig, over pyvisa (and a JSON-RPC socket for the IDS3010).

Every driver takes a resource string and a pyvisa backend, so the same class
talks to hardware, to the virtual rig's sockets and to the pyvisa-sim files in
``instruments/sim``. :func:`open_instrument` opens one from a rig-file entry.
"""

from __future__ import annotations

import importlib
from typing import Any

#: rig-file driver name -> "module:Class"
DRIVERS = {
    "srs.sr830": "mrfm.drivers.srs.sr830:SR830",
    "srs.sr865": "mrfm.drivers.srs.sr865:SR865",
    "srs.sg384": "mrfm.drivers.srs.sg384:SG384",
    "keysight.33500b": "mrfm.drivers.keysight.ks33500b:KS33500B",
    "attocube.anc300": "mrfm.drivers.attocube.anc300:ANC300",
    "attocube.ids3010": "mrfm.drivers.attocube.ids3010:IDS3010",
    "pi.e727": "mrfm.drivers.pi.e727:E727",
    "lakeshore.336": "mrfm.drivers.lakeshore.ls336:LS336",
    "ami.430": "mrfm.drivers.ami.ami430:AMI430",
}

#: rig-file options passed to a driver's constructor, per driver
_CONSTRUCTOR_OPTIONS = {
    "attocube.anc300": {"password": "password"},
    "keysight.33500b": {"model": "model_name", "channel": "channel"},
    "srs.sr865": {"model": "model_name"},
    "pi.e727": {"axes": "axes"},
    "lakeshore.336": {"output": "output"},
    "attocube.ids3010": {"namespace": "namespace"},
}


def driver_class(name: str) -> type:
    """The driver class of a rig-file ``driver`` name (``"srs.sr830"``)."""
    try:
        module, cls = DRIVERS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown driver {name!r}; known: {', '.join(DRIVERS)}") from None
    return getattr(importlib.import_module(module), cls)


def open_instrument(spec: Any, *, backend: str = "@py", limits: dict[str, Any] | None = None,
                    timeout: float | None = None) -> Any:
    """Open the driver for one rig-file instrument entry.

    Parameters
    ----------
    spec : InstrumentSpec
        Needs ``driver``, ``resource``; uses ``read_termination``,
        ``write_termination`` and ``options`` when present.
    backend : str
        pyvisa backend (``"@py"``; a ``"file.yaml@sim"`` for simulation).
    limits : dict, optional
        Per-instance safety limits (keys of the driver's ``limit_keys``).
    timeout : float, optional
        Reply timeout, s (``options["timeout"]`` if not given).

    Raises
    ------
    InstrumentDisconnected
        The instrument cannot be reached.
    """
    cls = driver_class(spec.driver)
    options = dict(getattr(spec, "options", {}) or {})
    kwargs: dict[str, Any] = {"backend": backend}
    for opt, arg in _CONSTRUCTOR_OPTIONS.get(spec.driver, {}).items():
        if opt in options:
            value = options[opt]
            kwargs[arg] = tuple(str(a) for a in value) if arg == "axes" else value
    for term in ("read_termination", "write_termination"):
        value = getattr(spec, term, None)
        if value is not None:
            kwargs[term] = value
    if timeout is None and "timeout" in options:
        timeout = float(options["timeout"])
    if timeout is not None:
        kwargs["timeout"] = timeout
    if limits:
        kwargs["limits"] = limits
    return cls(spec.resource, **kwargs)
