"""The command line's exit-code contract: bad input -> exit 2 and one line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mrfm.cli.main import main
from mrfm.resources import data_dir

DEMO = data_dir("configs") / "demo.toml"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_info_json_has_the_api_keys(capsys):
    code, out, _ = run_cli(capsys, "info", str(DEMO), "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("force_noise_psd_N2_per_Hz", "force_noise_N_per_rtHz", "thermal_rms_m",
                "tip_gradient_max_T_per_m", "gradient_vs_clinical"):
        assert key in data
    assert data["gradient_vs_clinical"] == pytest.approx(data["tip_gradient_max_T_per_m"] / 0.04)
    # S_F and F_min consistent: F = sqrt(S_F * 1 Hz)
    assert data["force_noise_N_per_rtHz"] ** 2 == pytest.approx(data["force_noise_psd_N2_per_Hz"])


def test_info_human_table_goes_to_stderr(capsys):
    code, out, err = run_cli(capsys, "info", str(DEMO))
    assert code == 0 and out == ""
    assert "tip gradient" in err and "clinical" in err


def test_missing_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "info", str(tmp_path / "missing.toml"))
    assert_one_line_error(code, err, "not found")


def test_unreadable_toml(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[cantilever\nk = 1\n")
    code, _, err = run_cli(capsys, "info", str(bad))
    assert_one_line_error(code, err, "invalid TOML")


BAD_SETS = [
    ("cantilever.k=\"110 uN\"", "cantilever.k"),
    ("cantilever.Q=-3", "cantilever.Q"),
    ("cantilever.Q=nan", "cantilever.Q"),
    ("stage.temperature=\"-1 K\"", "stage.temperature"),
    ("magnet.shape=\"pyramid\"", "magnet.shape"),
    ("sample.species=\"7Li-unknown\"", "sample.species"),
    ("cantilever.kk=1", "cantilever.kk"),
    ("cantilever.model=\"no-such-lever\"", "cantilever.model"),
]


@pytest.mark.parametrize(("setting", "field"), BAD_SETS)
def test_bad_values_exit_2_naming_the_field(capsys, setting, field):
    code, out, err = run_cli(capsys, "info", str(DEMO), "--set", setting, "--json")
    assert_one_line_error(code, err, field)
    # API.md (December 2026): with --json the error is also one JSON object on stdout
    assert json.loads(out) == {"error": err.strip().removeprefix("mrfm: error: "),
                               "exit_code": 2}


def test_usage_errors_are_one_line(capsys):
    code, _, err = run_cli(capsys, "info")
    assert_one_line_error(code, err, "required")
    code, _, err = run_cli(capsys, "no-such-command")
    assert_one_line_error(code, err, "invalid choice")


def test_console_script_runs_without_traceback(tmp_path):
    """The installed entry point behaves like main() (subprocess, as a user runs it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mrfm.cli.main", "info", str(tmp_path / "x.toml")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_plot_rejects_non_mrfm_files(capsys, tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 50)
    code, _, err = run_cli(capsys, "plot", str(junk), "-o", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "junk.h5")
    assert not Path(tmp_path / "x.png").exists()
