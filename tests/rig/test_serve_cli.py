"""``mrfm rig serve --json``: one JSON line once everything listens, exit 0 on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _serve(*extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mrfm.cli.main", "rig", "serve", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_resources_and_stops_cleanly(sig):
    proc = _serve("--json")
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        info = json.loads(line)
        resources = info["instruments"]
        assert {"lockin", "scanner", "magnet", "coarse"} <= set(resources)
        for res in resources.values():
            assert res.startswith("TCPIP0::127.0.0.1::") and res.endswith("::SOCKET")
        port = int(resources["lockin"].split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"*IDN?\n")
            assert s.recv(200).startswith(b"Stanford_Research_Systems,SR830,")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out == ""  # exactly one JSON line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_bad_rig_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[instruments.a]\ndriver = "nope"\n')
    proc = _serve(str(bad), "--json")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "instruments.a.driver" in err and "Traceback" not in err


def test_serve_with_an_invalid_experiment_is_a_config_error(tmp_path):
    """A named experiment that does not load stops the rig (exit 2): no other physics."""
    exp = tmp_path / "exp.toml"
    exp.write_text('[cantilever]\nk = "-1 N/m"\n')
    rig = tmp_path / "rig.toml"
    rig.write_text(f'experiment = "{exp.as_posix()}"\n[instruments.lockin]\n'
                   'driver = "srs.sr830"\n')
    proc = _serve(str(rig), "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "cantilever.k" in err and "Traceback" not in err
    assert all(json.loads(line)["exit_code"] == 2 for line in out.splitlines())  # no resources


def test_a_rig_file_without_experiment_runs_the_packaged_demo():
    from mrfm.config import load
    from mrfm.resources import data_dir
    from mrfm.rig.server import VirtualRig, default_experiment_path
    from mrfm.rigdef import rigfile

    demo = data_dir("configs") / "demo.toml"
    assert default_experiment_path() == demo
    rig = VirtualRig(rigfile.loads('[instruments.lockin]\ndriver = "srs.sr830"\n'))
    assert rig.experiment.source_text == load(demo).source_text
    assert any(str(demo) in note and "default experiment" in note for note in rig.notes)
    # the same engine: the cantilever is the experiment's, at the cryostat's temperature
    c = rig.state.cantilever
    assert (c.k, c.f0, c.Q, c.T) == (rig.experiment.cantilever.k, rig.experiment.cantilever.f0,
                                     rig.experiment.cantilever.Q, rig.state.cryostat.temperature)
    named = VirtualRig(rigfile.loads(f'experiment = "{demo.as_posix()}"\n'
                                     '[instruments.lockin]\ndriver = "srs.sr830"\n'))
    assert named.notes == []
