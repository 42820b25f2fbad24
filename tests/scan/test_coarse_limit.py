"""The coarse stepper's voltage limit comes from the stage temperature the rig measures.

A plan written for a cold stage must never drive a warm one past the warm piezo limit:
the driver's limit is the lower of the rig's ``piezo_voltage`` limits at the measured
temperature (the Lake Shore) and at the experiment's ``stage.temperature``, and the
lowest of the table without a thermometer. Against a served virtual rig whose cryostat
sits at 0.3 K, 152 K or 300 K while the experiment says 0.3 K.
"""

from __future__ import annotations

import tomllib

import pytest
import tomli_w

from mrfm.config import load
from mrfm.rigdef import rigfile
from mrfm.scan.instruments import driver_limits
from mrfm.scan.rig_handle import DriverRig

from .scanfiles import write_experiment, write_rig

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]


@pytest.mark.parametrize(("base", "volts"), [(None, 250.0), ("152 K", 185.0),
                                             ("300 K", 120.0)])
def test_coarse_limit_follows_the_measured_temperature(tmp_path, base, volts):
    from mrfm.rig import VirtualRig

    config = write_experiment(tmp_path, nx=3, ny=2)  # stage.temperature = 0.3 K
    served = write_rig(tmp_path, config, name="serve.toml")
    if base is not None:
        data = tomllib.loads(served.read_text())
        data["virtual"]["base_temperature"] = base
        served.write_text(tomli_w.dumps(data))
    with VirtualRig.from_file(served) as rig:
        client = rigfile.load(write_rig(tmp_path, config, resources=rig.resources,
                                        name="client.toml"))
        with DriverRig.open(client, experiment=load(config)) as handle:
            limits = handle.drivers.coarse.limits
            assert limits["voltage"] == pytest.approx(volts, rel=1e-9)
            assert limits["offset"] == pytest.approx(volts, rel=1e-9)


def test_coarse_limit_rules():
    rf = rigfile.loads('name = "r"\n[instruments.lockin]\ndriver = "srs.sr830"\n'
                       '[instruments.scanner]\ndriver = "pi.e727"\n[limits]\n'
                       'piezo_voltage = [["4 K", "250 V"], ["300 K", "120 V"]]\n')
    lim = rf.limits
    # a plan for 300 K on a cold stage: the warm limit; a plan for 4 K measured warm: too
    assert driver_limits("coarse", lim, 300.0, 4.0)["voltage"] == pytest.approx(120.0)
    assert driver_limits("coarse", lim, 4.0, 300.0)["voltage"] == pytest.approx(120.0)
    assert driver_limits("coarse", lim, 4.0, 4.0)["voltage"] == pytest.approx(250.0)
    # no thermometer (or no reading): the lowest limit, whatever the experiment says
    assert driver_limits("coarse", lim, 4.0, None)["voltage"] == pytest.approx(120.0)
    assert driver_limits("coarse", lim, None, None)["voltage"] == pytest.approx(120.0)
    assert driver_limits("coarse", lim, 4.0, float("nan"))["voltage"] == pytest.approx(120.0)
