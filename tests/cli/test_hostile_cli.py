"""The command line under hostile input (issue 16): special and oversize files, huge
counts, unwritable or clobbering outputs, memory budget, strict JSON, umask, logs and
relative paths. Each case: exit 2 with one line (or the stated code), quickly.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mrfm.cli.main import main
from mrfm.cli.progress import LINE_PATTERN
from tests.hostile.hostile_inputs import small_experiment, special_file

SMALL = small_experiment(name="small", temperature="0.3 K")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, err, *fragments, expected=2):
    assert code == expected, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(SMALL)
    return path


def _cli_subprocess(*argv, timeout=120, **kwargs):
    return subprocess.run([sys.executable, "-m", "mrfm.cli.main", *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


# ------------------------------------------------------------------ special input files
@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "dir"])
def test_config_that_is_not_a_regular_file_is_refused_before_reading(tmp_path, special):
    target = special_file(tmp_path, special, "pipe.toml")
    t0 = time.monotonic()
    proc = _cli_subprocess("simulate", target, timeout=60)
    assert time.monotonic() - t0 < 60
    one_line(proc.returncode, proc.stderr, "regular file")


def test_oversize_config_refused_before_reading(capsys, tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(17 * 1024**2)  # sparse: no time spent writing it
    code, _, err = run(capsys, "info", big)
    one_line(code, err, "big.toml", "16 MiB")


# ------------------------------------------------------------------------ counts, paths
def test_absurd_item_count_exits_2_at_once(capsys, config, tmp_path):
    t0 = time.monotonic()
    code, _, err = run(capsys, "dataset", config, "-n", "99999999999999999999",
                       "-o", tmp_path / "d")
    assert time.monotonic() - t0 < 5.0
    one_line(code, err, "-n 99999999999999999999", "between 1 and")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("target", ["/proc/x.h5", "/proc/x/y.h5", "/nonexistent/dir/x.h5"])
def test_unwritable_output_is_one_line(capsys, config, target):
    code, _, err = run(capsys, "simulate", config, "-o", target)
    one_line(code, err, target)


def test_dataset_into_proc_is_one_line(capsys, tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text(SMALL + "[dataset]\ngrid = [4, 4, 2]\n")
    code, _, err = run(capsys, "dataset", cfg, "-n", "2", "-o", "/proc/x")
    one_line(code, err, "/proc/x")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_command_writes_over_its_input(capsys, config, tmp_path):
    before = _digest(config)
    code, _, err = run(capsys, "simulate", config, "-o", config)
    one_line(code, err, "input")
    assert _digest(config) == before
    raw = tmp_path / "raw.h5"
    assert run(capsys, "simulate", config, "-o", raw)[0] == 0
    before = _digest(raw)
    code, _, err = run(capsys, "reconstruct", raw, "-o", raw)
    one_line(code, err, "input")
    # the same file under another name (a symlink) is the input too
    link = tmp_path / "link.h5"
    link.symlink_to(raw)
    code, _, err = run(capsys, "reconstruct", raw, "-o", link)
    one_line(code, err, "input")
    code, _, err = run(capsys, "plot", raw, "-o", raw)
    assert code == 2, err
    assert _digest(raw) == before


# ---------------------------------------------------------------------- memory budget
def test_tiny_voxel_exits_2_naming_the_voxel(capsys, config):
    code, _, err = run(capsys, "simulate", config, "--set", 'sample.voxel="0.01 nm"')
    line = one_line(code, err, "sample.voxel", "GiB")
    assert "MemoryError" not in line


def test_max_memory_limit_and_its_syntax(capsys, config):
    code, _, err = run(capsys, "simulate", config, "--max-memory", "1KiB")
    one_line(code, err, "--max-memory", "GiB")
    code, _, err = run(capsys, "simulate", config, "--max-memory", "a lot")
    one_line(code, err, "--max-memory", "2GiB")
    code, _, err = run(capsys, "simulate", config, "--max-memory", "2GiB")
    assert code == 0, err


def test_absurd_density_file_exits_2_naming_the_value(capsys, tmp_path):
    rho = np.full((4, 4, 2), 1e308)
    np.save(tmp_path / "rho.npy", rho)
    cfg = tmp_path / "f.toml"
    cfg.write_text(SMALL.replace('shape = "slab"', 'shape = "file"\nfile = "rho.npy"')
                   .replace('size = ["40 nm", "40 nm"]\n', "").replace('thickness = "12 nm"\n', "")
                   .replace('density = "1e25 m^-3"\n', ""))
    out = tmp_path / "nan.h5"
    code, _, err = run(capsys, "simulate", cfg, "-o", out)
    one_line(code, err, "1e+308")
    assert not out.exists()


# ------------------------------------------------------------------------------- JSON
def test_json_error_object_on_stdout(capsys, config):
    code, out, err = run(capsys, "simulate", config, "--set", 'cantilever.k="9**9**9 N/m"',
                         "--json")
    one_line(code, err, "cantilever.k")
    obj = json.loads(out)
    assert obj["exit_code"] == 2 and "cantilever.k" in obj["error"]


def test_json_has_no_bare_nan():
    from mrfm.cli.jsonout import dumps

    text = dumps({"a": math.nan, "b": [np.float64(np.inf), 1.5], "c": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": 3}


def test_simulate_json_is_strict(capsys, config):
    code, out, err = run(capsys, "simulate", config, "--json")
    assert code == 0, err

    def reject(name):
        raise ValueError(name)

    json.loads(out, parse_constant=reject)


# ----------------------------------------------------------------------- umask and logs
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_get_the_users_umask(tmp_path, config, mask):
    out = tmp_path / f"map_{mask:o}.h5"
    png = tmp_path / f"map_{mask:o}.png"
    proc = _cli_subprocess("simulate", config, "-o", out, preexec_fn=lambda: os.umask(mask))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    proc = _cli_subprocess("plot", out, "-o", png, preexec_fn=lambda: os.umask(mask))
    assert proc.returncode == 0, proc.stderr
    assert png.stat().st_mode & 0o777 == 0o666 & ~mask
    assert not list(tmp_path.glob(".*.tmp"))


def test_log_folder_is_per_user(monkeypatch, tmp_path):
    from mrfm.cli.main import log_dir

    monkeypatch.delenv("MRFM_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log_dir() == tmp_path / "state" / "mrfm" / "logs"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert log_dir() == Path.home() / ".local" / "state" / "mrfm" / "logs"
    assert "tmp" not in log_dir().parts[:2]


def _broken_cli(monkeypatch):
    from mrfm.cli import main as cli_main

    def broken(args):
        raise RuntimeError("simulated internal failure")

    real_build = cli_main.build_parser

    def build_parser():
        parser = real_build()
        for action in parser._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build_parser)


def test_log_written_with_mode_0700_folder(capsys, monkeypatch, tmp_path, config):
    _broken_cli(monkeypatch)
    monkeypatch.delenv("MRFM_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code, _, err = run(capsys, "info", config)
    one_line(code, err, "traceback in", expected=1)
    folder = tmp_path / "state" / "mrfm" / "logs"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert len(list(folder.glob("mrfm-error-*.log"))) == 1


def test_unwritable_log_folder_is_one_line(capsys, monkeypatch, config):
    _broken_cli(monkeypatch)
    monkeypatch.setenv("MRFM_LOG_DIR", "/proc/mrfm-logs")
    code, _, err = run(capsys, "info", config)
    one_line(code, err, "simulated internal failure", "no traceback log", expected=1)


# ---------------------------------------------------------------------- relative paths
def test_relative_sample_file_resolves_against_the_config_folder(capsys, tmp_path,
                                                                  monkeypatch):
    folder = tmp_path / "experiment"
    folder.mkdir()
    np.save(folder / "rho.npy", np.full((4, 4, 2), 5e28))
    cfg = folder / "f.toml"
    cfg.write_text(SMALL.replace('shape = "slab"', 'shape = "file"\nfile = "rho.npy"')
                   .replace('size = ["40 nm", "40 nm"]\n', "").replace('thickness = "12 nm"\n', "")
                   .replace('density = "1e25 m^-3"\n', ""))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run(capsys, "info", cfg, "--json")
    assert code == 0, err
    assert json.loads(out)


# ------------------------------------------------------------------------- dataset vary
def test_dataset_vary_of_the_wrong_dimension_exits_2_before_work(capsys, tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text(SMALL + '[dataset]\ngrid = [4, 4, 2]\n[dataset.vary]\n'
                   '"scan.height" = ["10 deg", "20 deg"]\n')
    t0 = time.monotonic()
    code, _, err = run(capsys, "dataset", cfg, "-n", "2", "-o", tmp_path / "o")
    assert time.monotonic() - t0 < 10.0
    one_line(code, err, "dataset.vary.scan.height", "deg", "length")
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_during_simulate_is_one_line_exit_130(tmp_path):
    import signal

    out = tmp_path / "big.h5"
    cmd = [sys.executable, "-m", "mrfm.cli.main", "simulate",
           str(Path(__file__).resolve().parents[2] / "configs" / "demo.toml"),
           "--set", 'scan.x=["-62 nm","62 nm",400]', "--set", 'scan.y=["-62 nm","62 nm",400]',
           "--method", "direct", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        time.sleep(5.0)  # past the imports: mid-computation
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:  # a failure leaves no 160000-tip simulation running on for minutes
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    # progress lines (stderr is a pipe here) and then the one line of the interruption
    lines = [line for line in err.splitlines()
             if line.strip() and not LINE_PATTERN.match(line)]
    assert lines == ["mrfm: interrupted (finished work is kept)"], err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
