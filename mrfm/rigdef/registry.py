"""The instrument registry: one entry per rig-file ``driver`` name, and nothing else knows them.

Each :class:`DriverEntry` says, for one model (``"srs.sr830"``):

* ``role`` -- what a scan uses it for (``lockin``, ``scanner``, ``rf``, ...);
* ``driver`` -- its mrfm driver class, ``"module:Class"`` (imported on demand);
* ``virtual`` -- the virtual rig's instrument class, ``"module:Class"`` (imported on demand);
* ``sim`` -- its pyvisa-sim file in ``instruments/sim`` (None: not a VISA instrument);
* ``read_termination``, ``write_termination`` -- the model's own terminations (the
  driver's defaults; a rig file may override them);
* ``constructor`` -- rig-file keys passed to the driver's constructor (key -> argument);
* ``scan_options`` -- rig-file keys the scan reads for this role (:mod:`mrfm.scan`);
* ``virtual_options`` -- rig-file keys only the virtual instrument reads;
* ``qcodes`` -- the stock QCoDeS driver class of the model, ``"module.Class"`` (None: QCoDeS
  has none), for the station file of ``mrfm rig serve --station``.

Every instrument also takes :data:`COMMON_OPTIONS`. A rig-file key outside an entry's
:meth:`DriverEntry.allowed_options` is refused when the rig file is read, so every key a
rig file may hold is honoured by someone.

Importing this module is light: it imports neither the drivers (pyvisa) nor the virtual
rig; :meth:`DriverEntry.driver_class` and :meth:`DriverEntry.virtual_class` import on use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mrfm.errors import ConfigError

#: rig-file keys every instrument takes: ``timeout`` (reply timeout of the driver, a time),
#: ``backend`` (the pyvisa backend the scan opens it with: ``"@py"`` by default, ``"@ivi"``
#: for the system VISA library, ``"file.yaml@sim"`` for pyvisa-sim), ``serial`` (the
#: virtual instrument's serial number in its identification)
COMMON_OPTIONS: tuple[str, ...] = ("timeout", "backend", "serial")

LF = "\n"
CRLF = "\r\n"


@dataclass(frozen=True)
class DriverEntry:
    """One model of the registry (see the module docstring)."""

    name: str
    role: str
    driver: str
    virtual: str
    sim: str | None
    read_termination: str
    write_termination: str
    constructor: Mapping[str, str] = field(default_factory=dict)
    scan_options: tuple[str, ...] = ()
    virtual_options: tuple[str, ...] = ()
    qcodes: str | None = None

    def allowed_options(self) -> tuple[str, ...]:
        """Every rig-file key (besides driver, resource, port, terminations) this model takes."""
        keys = [*COMMON_OPTIONS, *self.constructor, *self.scan_options, *self.virtual_options]
        return tuple(dict.fromkeys(keys))

    def driver_class(self) -> type:
        """The mrfm driver class (imports :mod:`mrfm.drivers` on first use)."""
        return _import(self.driver)

    def virtual_class(self) -> type:
        """The virtual instrument class (imports :mod:`mrfm.rig` on first use)."""
        return _import(self.virtual)

    def sim_path(self) -> Path:
        """The pyvisa-sim file shipped for this model (FileNotFoundError if it has none)."""
        from mrfm.resources import data_dir

        if self.sim is None:
            raise FileNotFoundError(f"{self.name}: no pyvisa-sim file (not a VISA instrument)")
        return data_dir("instruments") / "sim" / self.sim


def _import(target: str) -> type:
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type), target
    return cls


_LOCKIN_SCAN = ("time_constant", "phase", "force_per_volt", "frequency_per_volt")
_QC = "qcodes.instrument_drivers."

#: driver name -> entry; the one table of instruments
REGISTRY: Mapping[str, DriverEntry] = {
    e.name: e
    for e in (
        DriverEntry(
            "srs.sr830", "lockin", "mrfm.drivers.srs.sr830:SR830",
            "mrfm.rig.instruments.sr830:SR830", "sr830.yaml", LF, LF,
            scan_options=_LOCKIN_SCAN, qcodes=_QC + "stanford_research.SR830",
        ),
        DriverEntry(
            "srs.sr865", "lockin", "mrfm.drivers.srs.sr865:SR865",
            "mrfm.rig.instruments.sr865:SR865", "sr865.yaml", LF, LF,
            constructor={"model": "model_name"}, scan_options=_LOCKIN_SCAN,
            qcodes=_QC + "stanford_research.SR865A",
        ),
        DriverEntry(
            "srs.sg384", "rf", "mrfm.drivers.srs.sg384:SG384",
            "mrfm.rig.instruments.sg384:SG384", "sg384.yaml", LF, LF,
            scan_options=("power", "frequency_multiplier"),
            qcodes=_QC + "stanford_research.SG384",
        ),
        DriverEntry(
            "keysight.33500b", "awg", "mrfm.drivers.keysight.ks33500b:KS33500B",
            "mrfm.rig.instruments.keysight33500b:Keysight33500B", "ks33500b.yaml", LF, LF,
            constructor={"model": "model_name", "channel": "channel"},
            qcodes=_QC + "Keysight.Keysight33522B",
        ),
        DriverEntry(
            "attocube.anc300", "coarse", "mrfm.drivers.attocube.anc300:ANC300",
            "mrfm.rig.instruments.anc300:ANC300", "anc300.yaml", CRLF, CRLF,
            constructor={"password": "password"}, scan_options=("axes",),
        ),
        DriverEntry(
            "pi.e727", "scanner", "mrfm.drivers.pi.e727:E727",
            "mrfm.rig.instruments.pi_e727:PIE727", "e727.yaml", LF, LF,
            constructor={"axes": "axes"},
            scan_options=("calibration", "offset", "park", "park_step", "settle_timeout",
                          "position_tolerance"),
        ),
        DriverEntry(
            "lakeshore.336", "temperature", "mrfm.drivers.lakeshore.ls336:LS336",
            "mrfm.rig.instruments.lakeshore336:LakeShore336", "ls336.yaml", CRLF, CRLF,
            constructor={"output": "output"}, scan_options=("input",),
            qcodes=_QC + "Lakeshore.LakeshoreModel336",
        ),
        DriverEntry(
            "ami.430", "magnet", "mrfm.drivers.ami.ami430:AMI430",
            "mrfm.rig.instruments.ami430:AMI430", "ami430.yaml", CRLF, CRLF,
            virtual_options=("field_units",), qcodes=_QC + "american_magnetics.AMIModel430",
        ),
        DriverEntry(
            "attocube.ids3010", "interferometer", "mrfm.drivers.attocube.ids3010:IDS3010",
            "mrfm.rig.instruments.ids3010:IDS3010", None, CRLF, CRLF,
            constructor={"namespace": "namespace"},
        ),
    )
}

#: the driver names, in registry order
DRIVER_NAMES: tuple[str, ...] = tuple(REGISTRY)


def entry(name: str) -> DriverEntry:
    """The registry entry of driver ``name``; ConfigError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"driver {name!r} not one of {', '.join(DRIVER_NAMES)}") from None


def terminations(name: str) -> tuple[str, str]:
    """(read, write) terminations of driver ``name`` (for the driver classes' defaults)."""
    e = REGISTRY[name]
    return e.read_termination, e.write_termination


def models_for_role(role: str) -> tuple[str, ...]:
    """Driver names that fill ``role`` in a scan."""
    return tuple(n for n, e in REGISTRY.items() if e.role == role)
