"""``mrfm demo``: the whole virtual experiment runs and writes every promised file, with
progress lines for its scan and time series on a stderr that is not a terminal."""

from __future__ import annotations

import json

import h5py
import pytest

import mrfm.cli.progress
from mrfm.cli.main import main
from mrfm.demo import OUTPUTS

from .test_progress import check_progress


def test_demo_writes_every_file_and_a_sound_summary(capsys, monkeypatch, tmp_path):
    out = tmp_path / "demo"
    # a previous run's files (here stale stand-ins, one an unreadable scan file) are
    # replaced instead of failing the run or being resumed: one demo run tests both
    out.mkdir()
    for name in OUTPUTS:
        (out / name).write_bytes(b"stale")
    # progress lines from the first report on (the quiet period has its own test)
    monkeypatch.setattr(mrfm.cli.progress, "QUIET_S", 0.0)
    assert main(["demo", "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # --json: stdout is the one JSON object
    assert "folder" in summary
    assert check_progress(captured.err, "scan", at_least=10)[-1]["total"] == "1024"
    check_progress(captured.err, "timeseries", at_least=1)  # one chunk: its 100 % line
    for name in OUTPUTS:
        path = out / name
        assert path.exists() and path.stat().st_size > 1000, name
    # the ratio to a clinical scanner is the gradient over 0.04 T/m (API.md)
    assert summary["gradient_vs_clinical"] == pytest.approx(
        summary["tip_gradient_max_T_per_m"] / 0.04)
    assert summary["scan_snr"] > 10
    assert summary["reconstruction_correlation"] > 0.6
    with h5py.File(out / "scan.h5", "r") as fh:
        assert fh["entry/data/measured"][()].all()
        assert fh["entry/data"].attrs["signal"] == "force"
