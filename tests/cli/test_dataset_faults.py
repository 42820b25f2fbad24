"""`mrfm dataset` as a user meets it (subprocesses, a real local dask cluster): the
dashboard on 127.0.0.1 with its URL printed, exit 4 when some items failed (listed in
the manifest), and Ctrl-C: one line, exit 130, workers stopped, finished items kept.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.imaging.test_dataset import CONFIG


def _start(cfg: Path, out: Path, count: int, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mrfm.cli.main", "dataset", str(cfg), "-n", str(count),
           "-o", str(out), "--workers", "1", *extra]
    # a session of its own: SIGINT to the group is what a terminal's Ctrl-C does
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_some_items_failed_exits_4_with_failures_in_the_manifest(tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(CONFIG.replace('"scan.height" = ["20 nm", "30 nm"]',
                                  '"scan.height" = ["-30 nm", "30 nm"]'))
    proc = _start(cfg, tmp_path / "set", 4, "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, err
    summary = json.loads(out)
    assert 0 < summary["failed"] < 4
    dashboard = summary["dashboard"]
    assert dashboard.startswith("http://127.0.0.1:"), dashboard
    assert f"dashboard at {dashboard}" in err
    records = [json.loads(line) for line in
               (tmp_path / "set" / "manifest.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "error" for r in records) == summary["failed"]
    assert "Traceback" not in err


def test_ctrl_c_stops_the_workers_keeps_finished_items_exit_130(tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "set"
    proc = _start(cfg, out, 200)
    try:
        deadline = time.monotonic() + 240
        while len(list(out.glob("item_*.h5"))) < 1:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no item written within 240 s"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    # progress lines come every 10 s off a terminal: a cold first item (compiling the
    # solver on a loaded machine) can take longer than that
    progress = re.compile(r"mrfm: dataset \d+/\d+ items \(")
    lines = [line for line in err.splitlines()
             if line.strip() and "dashboard" not in line and not progress.match(line)]
    assert lines == ["mrfm: interrupted (finished work is kept)"], err
    kept = sorted(out.glob("item_*.h5"))
    assert kept and len(kept) < 200
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["file"] for r in manifest if r["status"] == "ok"} >= {p.name for p in kept}
    # the worker processes are gone with the command: nothing but exited (zombie) entries
    # left in its session, which init reaps
    deadline = time.monotonic() + 15
    while True:
        ps = subprocess.run(["ps", "-s", str(proc.pid), "-o", "pid=,stat="],
                            capture_output=True, text=True).stdout.split("\n")
        alive = [line for line in ps if line.strip() and "Z" not in line.split()[1]]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not alive, alive
