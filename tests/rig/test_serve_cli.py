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
