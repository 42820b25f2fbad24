"""``mrfm demo``: the whole virtual experiment runs and writes every promised file."""

from __future__ import annotations

import json

import h5py
import pytest

from mrfm.cli.main import main
from mrfm.demo import OUTPUTS


def test_demo_writes_every_file_and_a_sound_summary(capsys, tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
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
    # running it again replaces the previous files instead of failing
    assert main(["demo", "-o", str(out)]) == 0
