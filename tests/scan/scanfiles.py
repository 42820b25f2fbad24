"""Files for scans on the virtual rig: a small experiment and rig files (self-served or not).

The experiment: electron spins (1e24 m^-3) filling a 30 nm sphere 35 nm below the
surface, imaged by CAI with the demo's 50 nm FeCo-like tip at 30 nm, at 0.3 K
(Curie polarization about 0.6 instead of 0.055 at 4.2 K; thermal force noise
S_F = 4 k kB T / (omega0 Q), Stowe et al., APL 71, 288 (1997), about 1.2 aN/rtHz).
With a 10 s lock-in time constant (12 dB/oct, ENBW 1/(8 tau)) the peak force of
about 10 aN stands some 25 noise r.m.s. above the floor. The rig runs its
simulated clock ``time_scale`` times faster than the wall clock, so 8 tau of
settling costs a few milliseconds.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..rig.rig_helpers import LIMITS_TOML

EXPERIMENT = textwrap.dedent(
    """
    name = "scan test: four electron spins, CAI at 0.3 K"

    [cantilever]
    model = "demo-soft"

    [stage]
    temperature = "0.3 K"
    pressure = "1e-6 mbar"

    [magnet]
    model = "demo-sphere"

    [field]
    B0 = "200 mT"

    [rf]
    frequency = "9.65 GHz"
    B1 = "0.2 mT"
    fm_depth = "2 mT"

    [sample]
    species = "electron"
    shape = "sphere"
    radius = "30 nm"
    center = ["0 nm", "0 nm", "-35 nm"]
    density = "1e24 m^-3"
    voxel = "5 nm"

    [protocol]
    name = "CAI"
    polarization = "curie"

    [scan]
    x = ["{x0}", "{x1}", {nx}]
    y = ["-90 nm", "90 nm", {ny}]
    height = "30 nm"

    [plan]
    pattern = "serpentine"
    settle_time = "1 ms"
    lockin_settle = 8
    safe_height = "1 um"
    """
)

RIG = textwrap.dedent(
    """
    name = "test rig"
    experiment = "{experiment}"
    time_scale = {time_scale}

    [instruments.lockin]
    driver = "srs.sr830"
    read_termination = "\\n"
    write_termination = "\\n"
    time_constant = "10 s"
    {lockin_extra}

    [instruments.rf]
    driver = "srs.sg384"
    power = "0 dBm"
    {rf_extra}

    [instruments.awg]
    driver = "keysight.33500b"
    {awg_extra}

    [instruments.coarse]
    driver = "attocube.anc300"
    password = "123456"
    read_termination = "\\r\\n"
    write_termination = "\\r\\n"
    {coarse_extra}

    [instruments.scanner]
    driver = "pi.e727"
    {scanner_extra}

    [instruments.temperature]
    driver = "lakeshore.336"
    read_termination = "\\r\\n"
    write_termination = "\\r\\n"
    {temperature_extra}

    [instruments.magnet]
    driver = "ami.430"
    read_termination = "\\r\\n"
    write_termination = "\\r\\n"
    {magnet_extra}
    """
) + LIMITS_TOML + textwrap.dedent(
    """
    [virtual]
    seed = 7
    initial_height = "1.5 um"
    # the scan tests compare with the solver's Curie map at the commanded positions (a
    # scan at time scale 20000 is hours of lab time: the stage's creep would move the tip
    # by nm); the spins' statistical fluctuation and the drift have their own tests in
    # tests/rig/test_physics_rig.py
    spin_noise = false
    drift = false
    """
)

ROLES = ("lockin", "rf", "awg", "coarse", "scanner", "temperature", "magnet")


def write_experiment(folder: Path, *, nx: int = 12, ny: int = 10, x0: str = "-90 nm",
                     x1: str = "90 nm", name: str = "experiment.toml") -> Path:
    """A small scan experiment (see the module docstring)."""
    path = folder / name
    path.write_text(EXPERIMENT.format(nx=nx, ny=ny, x0=x0, x1=x1))
    return path


def write_rig(folder: Path, experiment: Path, *, time_scale: float = 20000.0,
              resources: dict[str, str] | None = None, name: str = "rig.toml",
              extra: dict[str, str] | None = None, interferometer: bool = False) -> Path:
    """A rig file; with ``resources`` it names served instruments, else it is self-served.

    ``interferometer`` adds an IDS3010 (``[instruments.interferometer]``)."""
    fields = {f"{r}_extra": "" for r in (*ROLES, "interferometer")}
    for role, resource in (resources or {}).items():
        fields[f"{role}_extra"] += f'resource = "{resource}"\n'
    for role, text in (extra or {}).items():
        fields[f"{role}_extra"] += text + "\n"
    text = RIG.format(experiment=str(experiment), time_scale=time_scale,
                      **{k: v for k, v in fields.items() if k != "interferometer_extra"})
    if interferometer:
        text += ('\n[instruments.interferometer]\ndriver = "attocube.ids3010"\n'
                 + fields["interferometer_extra"])
    path = folder / name
    path.write_text(text)
    return path
