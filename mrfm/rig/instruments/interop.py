"""What a served rig tells lab software: per-instrument details and a QCoDeS station file.

:func:`details` is the ``"details"`` map of ``mrfm rig serve --json`` (resource,
driver, model, terminations of each served instrument); :func:`station_yaml` is the
file ``mrfm rig serve --station FILE`` writes: a QCoDeS station configuration that
opens each instrument QCoDeS has a stock driver for (the registry's ``qcodes`` class)
at its address with the virtual instrument's terminator and the pyvisa-py backend::

    import qcodes
    station = qcodes.Station(config_file="rig.station.yaml")
    lockin = station.load_instrument("lockin")

Instruments without a stock QCoDeS driver (ANC300, E-727, IDS3010) are listed in a
comment of the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from mrfm.rig.instruments.base import VirtualInstrument
from mrfm.rigdef.registry import REGISTRY

#: models whose QCoDeS class is named after the variant the rig file chose
#: (registry class ``...SR865A`` -> ``...SR860`` for an SR860)
VARIANTS: Mapping[str, tuple[str, ...]] = {
    "srs.sr865": ("SR860", "SR865", "SR865A"),
    "keysight.33500b": ("33511B", "33512B", "33522B"),
}


def detail(inst: VirtualInstrument, resource: str) -> dict[str, str]:
    """``{"resource", "driver", "model", "read_termination", "write_termination"}`` of one
    served instrument (the terminations it expects and sends)."""
    return {
        "resource": resource,
        "driver": inst.driver,
        "model": inst.model,
        "read_termination": inst.read_termination,
        "write_termination": inst.write_termination,
    }


def details(
    instruments: Mapping[str, VirtualInstrument], resources: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """:func:`detail` of every served instrument, by the rig's name for it."""
    return {name: detail(instruments[name], res) for name, res in resources.items()}


def qcodes_class(inst: VirtualInstrument) -> str | None:
    """The stock QCoDeS driver class of ``inst`` (``"module.Class"``), or None."""
    target = REGISTRY[inst.driver].qcodes
    if target is None:
        return None
    variants = VARIANTS.get(inst.driver, ())
    if inst.model in variants:
        module, _, cls = target.rpartition(".")
        default = next(v for v in variants if cls.endswith(v))
        return f"{module}.{cls[: -len(default)]}{inst.model}"
    return target


def station_yaml(
    instruments: Mapping[str, VirtualInstrument], resources: Mapping[str, str],
    *, rig_name: str = "",
) -> str:
    """A QCoDeS station configuration (YAML) for the served instruments."""
    q = json.dumps  # a JSON string is a YAML double-quoted scalar
    lines = [
        f"# QCoDeS station for the virtual rig {rig_name!r} served by `mrfm rig serve`",
        "# (valid while that process runs: the ports are chosen when it starts).",
        "instruments:",
    ]
    missing = []
    for name, resource in resources.items():
        inst = instruments[name]
        cls = qcodes_class(inst)
        if cls is None:
            missing.append(f"{name} ({inst.driver})")
            continue
        lines += [
            f"  {name}:",
            f"    type: {cls}",
            f"    address: {q(resource)}",
            "    init:",
            f"      terminator: {q(inst.write_termination)}",
            f"      visalib: {q('@py')}",
        ]
    if missing:
        lines.append("# no stock QCoDeS driver: " + ", ".join(missing))
    return "\n".join(lines) + "\n"
