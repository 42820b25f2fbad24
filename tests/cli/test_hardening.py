"""Hardening of the command line: corrupt files, unexpected errors, nothing half-written."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mrfm.cli import main as cli_main
from mrfm.cli.main import main
from mrfm.resources import data_dir

DEMO = data_dir("configs") / "demo.toml"


@pytest.fixture(scope="module")
def signal_map(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("map")
    path = folder / "map.h5"
    assert main(["simulate", str(DEMO), "-o", str(path), "--set", 'scan.x=["-20 nm","20 nm",6]',
                 "--set", 'scan.y=["-20 nm","20 nm",6]']) == 0
    return path


def _damaged(source: Path, folder: Path) -> dict[str, Path]:
    data = source.read_bytes()
    variants = {
        "truncated": data[: len(data) // 2],
        "header-only": data[:512],
        "zeroed-superblock": b"\0" * 64 + data[64:],
        "empty": b"",
        "text": b"this is not HDF5\n" * 10,
    }
    paths = {}
    for name, content in variants.items():
        p = folder / f"{name}.h5"
        p.write_bytes(content)
        paths[name] = p
    return paths


@pytest.mark.parametrize("command", ["plot", "reconstruct"])
def test_damaged_files_exit_2_with_one_line(capsys, tmp_path, signal_map, command):
    for name, path in _damaged(signal_map, tmp_path).items():
        out = tmp_path / ("out.png" if command == "plot" else "out.h5")
        code = main([command, str(path), "-o", str(out)])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, (name, err)
        assert len(lines) == 1 and "Traceback" not in err, (name, err)
        assert path.name in lines[0], (name, lines[0])
        assert not out.exists(), f"{command} wrote {out} from a {name} file"


def test_unexpected_error_gives_exit_1_and_a_log(capsys, tmp_path, monkeypatch):
    """A bug (not a user error) prints one short line naming a log file with the traceback."""
    monkeypatch.setenv("MRFM_LOG_DIR", str(tmp_path))

    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("simulated internal failure")

    real_build = cli_main.build_parser

    def build_parser():
        parser = real_build()
        parser.set_defaults(func=broken)
        for action in parser._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build_parser)
    code = main(["info", str(DEMO)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "simulated internal failure" in err
    logs = list(tmp_path.glob("mrfm-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text()


def test_simulate_error_leaves_no_output(capsys, tmp_path):
    out = tmp_path / "never.h5"
    code = main(["simulate", str(DEMO), "-o", str(out), "--set", 'scan.height="-1 nm"'])
    assert code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
