"""``mrfm scan ... --monitor``: the live page starts beside the scan, its URL is printed,
it answers while the scan runs, and it stops with the scan."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MRFM = Path(sys.executable).with_name("mrfm")


def _slow_demo(tmp_path: Path) -> Path:
    """The demo preset on a 12 x 6 grid with 40 ms of settling per point (about 3 s)."""
    text = (ROOT / "configs" / "demo.toml").read_text()
    text = text.replace('x = ["-62 nm", "62 nm", 32]', 'x = ["-40 nm", "40 nm", 12]')
    text = text.replace('y = ["-62 nm", "62 nm", 32]', 'y = ["-20 nm", "20 nm", 6]')
    assert "[plan]" not in text
    cfg = tmp_path / "slow.toml"
    cfg.write_text(text + '\n[plan]\nsettle_time = "40 ms"\n')
    return cfg


def test_scan_with_monitor_prints_a_url_that_serves_the_growing_file(tmp_path):
    cfg = _slow_demo(tmp_path)
    out = tmp_path / "scan.h5"
    proc = subprocess.Popen(
        [str(MRFM), "scan", str(cfg), "--rig", "virtual", "-o", str(out), "--monitor"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        seen = set()
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "state.json", timeout=5) as r:
                    seen.add(json.loads(r.read())["state"])
            except (OSError, http.client.HTTPException):
                # the scan (and with it the page) may just have ended, also halfway
                # through a reply (IncompleteRead)
                pass
            time.sleep(0.2)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # closes the pipes (else a later test meets their warnings)
    assert proc.returncode == 0, err[-2000:]
    assert "monitor at http://127.0.0.1:" in err
    assert seen & {"running", "complete"}, seen
    # the page stopped with the scan
    try:
        urllib.request.urlopen(url + "state.json", timeout=2)
        stopped = False
    except OSError:
        stopped = True
    assert stopped


def test_progress_lines_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    from mrfm.cli.progress import ProgressLines  # the scan's (every command's) lines

    clock = iter([0.0, 0.5, 1.0, 1.5, 12.0, 12.5, 13.0])
    lines = ProgressLines("scan", "points", quiet_s=0.0, clock=lambda: next(clock))
    lines.update(0, 100)   # the start (0 s)
    lines.update(1, 100)   # 1 %, 0.5 s: nothing
    lines.update(6, 100)   # 6 %: a line
    lines.update(7, 100)   # 7 %, 1.5 s after the last: nothing
    lines.update(8, 100)   # 12 s: a line (10 s passed)
    lines.update(100, 100)  # done: a line
    err = capsys.readouterr().err.splitlines()
    assert [e.split(" points")[0] for e in err] == [
        "mrfm: scan 6/100", "mrfm: scan 8/100", "mrfm: scan 100/100"]
    quiet = ProgressLines("scan", "points", enabled=False)  # a terminal has its live bar
    quiet.update(50, 100)
    assert capsys.readouterr().err == ""


def test_scan_json_is_one_strict_json_object(tmp_path):
    cfg = _slow_demo(tmp_path)
    proc = subprocess.run([str(MRFM), "scan", str(cfg), "--rig", "virtual", "-o",
                           str(tmp_path / "s.h5"), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]

    def no_nan(name):
        raise AssertionError(f"bare {name} in --json output")

    summary = json.loads(proc.stdout, parse_constant=no_nan)
    assert summary["status"] == "complete" and summary["points_measured"] == 72
