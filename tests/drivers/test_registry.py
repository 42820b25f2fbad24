"""The instrument registry is the one table of instruments: every entry's driver class,
virtual instrument, pyvisa-sim file and terminations are real and agree."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mrfm.drivers import driver_class, open_instrument
from mrfm.drivers.base import Instrument
from mrfm.errors import ConfigError
from mrfm.rigdef import rigfile
from mrfm.rigdef.registry import REGISTRY, entry


@pytest.mark.parametrize("name", list(REGISTRY))
def test_entry_driver_virtual_and_terminations_agree(name):
    e = REGISTRY[name]
    drv = e.driver_class()
    assert drv is driver_class(name)
    assert (drv.read_termination, drv.write_termination) == (e.read_termination,
                                                             e.write_termination)
    virtual = e.virtual_class()
    assert virtual.driver == name
    assert (virtual.read_termination, virtual.write_termination) == (e.read_termination,
                                                                     e.write_termination)
    if e.sim is None:
        assert not issubclass(drv, Instrument)  # the IDS3010 speaks JSON-RPC, not VISA
        with pytest.raises(FileNotFoundError):
            e.sim_path()
    else:
        assert e.sim_path().is_file()


@pytest.mark.parametrize("name", [n for n, e in REGISTRY.items() if e.sim is not None])
def test_every_sim_file_answers_its_driver(name, sim):
    import yaml

    e = REGISTRY[name]
    resource = next(iter(yaml.safe_load(e.sim_path().read_text())["resources"]))
    spec = rigfile.InstrumentSpec(name="x", driver=name, resource=resource)
    with open_instrument(spec, backend=sim(name)) as drv:
        assert drv.identify()


def test_unknown_driver_and_unknown_option_are_refused():
    with pytest.raises(ConfigError, match="srs.sr999"):
        entry("srs.sr999")
    with pytest.raises(ConfigError, match=r"instruments\.lockin\.tiemout: unknown key "
                                          r"\(did you mean 'timeout'\?\)"):
        rigfile.loads('[instruments.lockin]\ndriver = "srs.sr830"\ntiemout = "1 s"\n')
    with pytest.raises(ConfigError, match="instruments.lockin.timeout"):
        rigfile.loads('[instruments.lockin]\ndriver = "srs.sr830"\ntimeout = "-1 s"\n')
    # a key of another model is not one of this model's
    with pytest.raises(ConfigError, match="password"):
        rigfile.loads('[instruments.lockin]\ndriver = "srs.sr830"\npassword = "x"\n')


def test_registry_imports_light():
    code = ("import sys, mrfm.rigdef; "
            "bad = [m for m in sys.modules if m.startswith(('mrfm.rig.', 'mrfm.drivers', "
            "'pyvisa', 'numba', 'mrfm.solver'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == "[]"
