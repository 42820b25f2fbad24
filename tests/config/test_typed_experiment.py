"""The typed Experiment (issue 14 point 1) and override values of every accepted kind.

Independent truth: unit conversions worked by hand (0.11 dyn/cm = 0.11e-5 N / 1e-2 m =
1.1e-4 N/m; 1e16 cm^-3 = 1e22 m^-3; -271 degC = 2.15 K; 40 nm = 4e-8 m; 1e-4 barye =
1e-5 Pa) and the same
experiment loaded from unit strings.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pint
import pytest

import mrfm.config as config
from mrfm.config import (
    OPTIONAL_SECTIONS,
    ConfigError,
    DatasetSettings,
    Experiment,
    ExperimentMetadata,
    ReconstructionSettings,
    ScanPlan,
    TimeseriesSettings,
    loads,
)
from tests.config.test_config import BASE

SECTIONS = """
[timeseries]
duration = "2 ms"
[plan]
pattern = "one-way"
settle_time = "1 ms"
[dataset]
phantoms = ["rods"]
grid = [8, 8, 2]
[reconstruction]
method = "landweber"
"""

#: subpackages that use the sections, and the numba-compiled magnets: none is imported
#: by loading an experiment
HEAVY = ("mrfm.solver", "mrfm.timedomain", "mrfm.imaging", "mrfm.rig", "mrfm.scan",
         "mrfm.physics.magnets", "numba")


def _fresh_modules(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_config_loads_no_solver_timedomain_imaging_rig_or_numba():
    modules = _fresh_modules("import mrfm.config")
    loaded = [m for m in modules if m.startswith(HEAVY)]
    assert loaded == []


def test_loading_an_experiment_with_every_section_loads_none_of_their_users():
    code = f"import mrfm.config\nexp = mrfm.config.loads({BASE + SECTIONS!r})"
    modules = _fresh_modules(code)
    loaded = [m for m in modules if m.startswith(HEAVY[:5])]
    assert loaded == []


def test_experiment_annotations_name_no_any():
    for f in dataclasses.fields(Experiment):
        assert "Any" not in str(f.type), f.name
        assert f.type not in ("object", "dict", "Mapping"), f.name
    types = {f.name: str(f.type) for f in dataclasses.fields(Experiment)}
    assert types["cantilever"] == "Cantilever"
    assert types["stage"] == "Stage"
    assert types["magnet"] == "Magnet"
    assert types["sample"] == "Sample"
    assert types["metadata"] == "ExperimentMetadata"
    assert config.Magnet == "SphereMagnet | CuboidMagnet | CylinderMagnet"


def test_parts_are_the_physics_objects():
    from mrfm.physics import Cantilever, Sample, SphereMagnet, Stage

    exp = loads(BASE)
    assert type(exp.cantilever) is Cantilever
    assert type(exp.stage) is Stage
    assert type(exp.magnet) is SphereMagnet
    assert type(exp.sample) is Sample
    assert type(exp.metadata) is ExperimentMetadata


def test_optional_sections_are_typed_attributes():
    exp = loads(BASE + SECTIONS)
    assert isinstance(exp.timeseries, TimeseriesSettings)
    assert exp.timeseries.duration == pytest.approx(2e-3, rel=1e-12)
    assert isinstance(exp.plan, ScanPlan)
    assert exp.plan.pattern == "one-way"
    assert exp.plan.settle_time == pytest.approx(1e-3, rel=1e-12)
    assert isinstance(exp.dataset, DatasetSettings)
    assert exp.dataset.grid == (8, 8, 2)
    assert isinstance(exp.reconstruction, ReconstructionSettings)
    assert exp.reconstruction.method == "landweber"
    for name in OPTIONAL_SECTIONS:  # the public section(name) gives the same object
        assert exp.section(name) is not None
    assert exp.section("plan") is exp.plan
    assert exp.section("timeseries") is exp.timeseries


def test_missing_optional_sections_are_none():
    exp = loads(BASE)
    assert (exp.timeseries, exp.plan, exp.dataset, exp.reconstruction) == (None,) * 4
    assert all(exp.section(name) is None for name in OPTIONAL_SECTIONS)
    with pytest.raises(KeyError, match="known: timeseries, plan, dataset, reconstruction"):
        exp.section("scan")


def test_every_optional_section_is_an_experiment_field_with_a_parser():
    fields = {f.name: f for f in dataclasses.fields(Experiment)}
    kinds = {"timeseries": TimeseriesSettings, "plan": ScanPlan, "dataset": DatasetSettings,
             "reconstruction": ReconstructionSettings}
    assert set(OPTIONAL_SECTIONS) == set(kinds)
    for name, kind in kinds.items():
        assert fields[name].type == f"{kind.__name__} | None"
        assert fields[name].default is None
        assert isinstance(kind.from_config({}, name), kind)


def test_section_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"^plan\.pattern: unknown value"):
        loads(BASE + '[plan]\npattern = "spiral"\n')
    with pytest.raises(ConfigError, match=r"^reconstruction\.methd: unknown key"):
        loads(BASE + '[reconstruction]\nmethd = "fista"\n')


def test_removed_dipole_psf_is_rejected_at_load_time():
    with pytest.raises(ConfigError, match=r"^reconstruction\.psf: unknown value 'dipole'; "
                                          r"allowed: auto, solver"):
        loads(BASE + '[reconstruction]\npsf = "dipole"\n')


def test_metadata_is_typed():
    exp = loads('description = "one spin"\n' + BASE.replace('radius = "100 nm"',
                'radius = "100 nm"\nsource = "a paper"\ngradient_reported = "2 MT/m"'))
    assert exp.metadata.description == "one spin"
    assert exp.metadata.magnet_source == "a paper"
    assert exp.metadata.gradient_reported == pytest.approx(2e6, rel=1e-12)
    assert exp.metadata.cantilever_source == ""


# ------------------------------------------------------------------ override values


def test_quantity_overrides_from_a_fresh_registry():
    ureg = pint.UnitRegistry()
    exp = loads(BASE, overrides={
        "cantilever.k": ureg.Quantity(0.11, "dyn/cm"),
        "scan.height": ureg.Quantity(40, "nm"),
        "stage.temperature": ureg.Quantity(-271.0, "degC"),
        "sample.density": ureg.Quantity(1e16, "1/cm**3"),
    })
    assert exp.cantilever.k == pytest.approx(1.1e-4, rel=1e-12)
    assert exp.scan.height[0] == pytest.approx(4e-8, rel=1e-12)
    assert exp.stage.temperature == pytest.approx(2.15, rel=1e-9)
    same = loads(BASE)  # density 1e22 m^-3 written as a unit string
    np.testing.assert_allclose(exp.sample.densities["electron"],
                               same.sample.densities["electron"], rtol=1e-12)
    again = loads(exp.source_text)  # the effective text holds unit strings
    assert again.cantilever.k == pytest.approx(1.1e-4, rel=1e-12)


def test_quantity_overrides_from_a_cgs_registry_and_arrays():
    ureg = pint.UnitRegistry(system="cgs")
    exp = loads(BASE, overrides={
        "stage.pressure": ureg.Quantity(1e-4, "barye"),  # 1 barye = 1 dyn/cm^2 = 0.1 Pa
        "sample.size": ureg.Quantity(np.array([2e-5, 3e-5]), "cm"),
    })
    assert exp.stage.pressure == pytest.approx(1e-5, rel=1e-12)
    wide = loads(BASE, overrides={"sample.size": ["200 nm", "300 nm"]})
    assert exp.sample.shape == wide.sample.shape == (20, 30, 5)


def test_quantity_with_the_wrong_dimension_names_the_field():
    ureg = pint.UnitRegistry()
    with pytest.raises(ConfigError, match=r"^cantilever\.k: .*expected spring constant"):
        loads(BASE, overrides={"cantilever.k": ureg.Quantity(3, "nm")})
    with pytest.raises(ConfigError, match=r"^scan\.height: .*not finite"):
        loads(BASE, overrides={"scan.height": ureg.Quantity(float("nan"), "nm")})


def test_numbers_numpy_numbers_and_strings_as_overrides():
    exp = loads(BASE, overrides={"cantilever.Q": np.float64(3e4), "plan.pattern": "one-way",
                                 "timeseries.seed": np.int64(7), "scan.height": "45 nm"})
    assert exp.cantilever.Q == pytest.approx(3e4)
    assert exp.plan is not None and exp.plan.pattern == "one-way"
    assert exp.timeseries is not None and exp.timeseries.seed == 7
    assert exp.scan.height[0] == pytest.approx(45e-9, rel=1e-12)
    assert "Q = 30000.0" in exp.source_text


def test_with_overrides_accepts_quantities():
    ureg = pint.UnitRegistry()
    exp = loads(BASE).with_overrides({"cantilever.f0": ureg.Quantity(6.0, "kHz")})
    assert exp.cantilever.f0 == pytest.approx(6e3, rel=1e-12)


def test_an_unsupported_override_value_is_refused():
    with pytest.raises(ConfigError, match=r"^cantilever\.Q: cannot use object"):
        loads(BASE, overrides={"cantilever.Q": object()})


def test_owners_use_the_schema_classes_themselves():
    """One declaration per section: the owning subpackages re-export the config classes."""
    from mrfm.imaging import phantoms, reconstruct
    from mrfm.scan import plan
    from mrfm.timedomain import settings

    assert settings.TimeseriesSettings is TimeseriesSettings
    assert plan.ScanPlan is ScanPlan
    assert reconstruct.ReconstructionSettings is ReconstructionSettings
    assert phantoms.PhantomRanges is DatasetSettings().ranges.__class__
    assert phantoms.KINDS == config.dataset.PHANTOM_KINDS
